import { describe, expect, it } from 'vitest';
import { extractSelection } from '../src/indicators.ts';

const MD5 = '5f4dcc3b5aa765d61d8327deb882cf99';
const SHA1 = '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12';
const SHA256 = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c';
const SHA512 = `${SHA256}${SHA256.split('').reverse().join('')}`;

describe(extractSelection.name, () => {
  it('finds every submittable hash, lower-cased, deduplicated, in order of appearance', () => {
    const text = `dropper ${MD5.toUpperCase()}\nstage2: ${SHA1}\npayload ${SHA256} (again: ${MD5})`;
    expect(extractSelection(text).hashes).toEqual([
      { hash: MD5, type: 'md5' },
      { hash: SHA1, type: 'sha1' },
      { hash: SHA256, type: 'sha256' },
    ]);
  });

  it.each([
    ['a GUID after CLSID', `CLSID ${MD5}`],
    ['a braced GUID', `{${MD5}}`],
    ['a git commit', `commit ${SHA1}`],
    ['the MD5 of empty input', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a hex run of another length', `${MD5}ab`],
    ['a digest inside a longer hex run', `${SHA256}${MD5}`],
  ])('does not submit %s', (_name, text) => {
    expect(extractSelection(text).hashes).toEqual([]);
  });

  it('refangs and keeps URLs, domains and IPs apart, never as hashes to submit', () => {
    const { hashes, indicators } = extractSelection(`C2 hxxps://bad-cdn[.]com/x.php on 198.51.100[.]7 and evil[dot]org ${MD5}`);
    expect(hashes).toEqual([{ hash: MD5, type: 'md5' }]);
    const values = indicators.map((indicator) => `${indicator.type} ${indicator.value}`);
    expect(values).toContain('url https://bad-cdn.com/x.php');
    expect(values).toContain('ipv4 198.51.100.7');
    expect(values).toContain('domain evil.org');
    expect(values).not.toContain(`md5 ${MD5}`);
  });

  it('lists a SHA-512 as an indicator: the server cannot look it up', () => {
    const { hashes, indicators } = extractSelection(`sha512 ${SHA512}`);
    expect(hashes).toEqual([]);
    expect(indicators).toEqual([{ type: 'sha512', value: SHA512, flags: [] }]);
  });

  it('flags reserved names rather than dropping them', () => {
    expect(extractSelection('see http://example.com/a').indicators[0]?.flags).toContain('reserved');
  });

  it('returns nothing for text without indicators', () => {
    expect(extractSelection('nothing to see here')).toEqual({ hashes: [], indicators: [] });
  });
});
