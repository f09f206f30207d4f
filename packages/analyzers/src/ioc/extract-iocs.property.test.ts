import type { Indicator } from '@malpipe/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isDomain } from './domain-name.js';
import { isHash } from './extract-hashes.js';
import { extractIocs, isUrl } from './extract-iocs.js';
import { isIpv4, isIpv6 } from './ip-address.js';
import { refang } from './refang.js';

/** Pieces that combine into near-indicators: defangs, separators, brackets, hex, full-width forms. */
const FRAGMENTS = [
  'hxxp', 'hXXps', 'http', 'https', 'fxp', 'ftp', '://', ':', '/', '//', '[.]', '(.)', '{.}', '[dot]', ' dot ', '.',
  '[', ']', '(', ')', '{', '}', '[:]', '[://]', '[@]', '[at]', '@', '\\', '\\.', '．', '。', '｡', 'ｈｔｔｐ', '：', '／',
  '\u200B', ' ', '\n', 'evil', 'com', 'ru', 'co', 'uk', 'zip', 'dll', 'www', 'System', 'version', 'v', '1', '8', '255',
  '010', '192', '168', '::', 'ffff', 'db8', '2001', 'a', 'f0', 'deadbeef', '5d41402abc4b2a76b9719d911017c592', '-',
  '_', '?', '#', '&', '=', '%', '…', 'é', '\u0301', '日本', '"', "'",
];

const fragmentText = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((parts) => parts.join(''));

// Structured near-indicators, so that most runs find something and the filters are exercised.
const pick = (...values: string[]): fc.Arbitrary<string> => fc.constantFrom(...values);
const dot = pick('.', '.', '[.]', '(dot)', '．', '。', ' dot ', '..', '');
const domainLike = fc
  .tuple(fc.array(pick('evil', 'c2', 'www', 'a', 'xn--p1ai', 'my-host', 'System', 'java', '-x', 'kernel32'), { minLength: 1, maxLength: 3 }), dot,
    pick('com', 'ru', 'zip', 'co.uk', 'test', 'notatld', 'Net', 'dll', 'IO', 'sh', 'example.com'))
  .map(([labels, separator, tld]) => [...labels, tld].join(separator));
const urlLike = fc
  .tuple(pick('http', 'hxxp', 'hXXps', 'fxp', 'h**p', 'http[s]', 'ｈｔｔｐ', 'ftp'), pick('://', '[://]', '[:]//', ':\\\\', '__', ':/'),
    fc.oneof(domainLike, pick('1.2.3.4', '[2001:db8::1]', 'localhost', '010.1.1.1')), pick('', ':8080', ':0', ':99999'),
    pick('', '/', '/a', '/b.php?x=1', '/(x)', ')', '.', '/a).', '…'))
  .map((parts) => parts.join(''));
const octet = pick('1', '8', '255', '256', '010', '0', '192', '168', '10', '127');
const ipLike = fc
  .tuple(fc.array(octet, { minLength: 3, maxLength: 5 }), pick('.', '[.]', '．'), pick('', ':8080', ':70000'), pick('', 'v', 'version ', 'ver. '))
  .map(([octets, separator, port, prefix]) => `${prefix}${octets.join(separator)}${port}`);
const ipv6Like = fc
  .array(pick('2001', 'db8', '0', 'ffff', '1', '', 'fe80', '8.8.8.8', 'zz'), { minLength: 2, maxLength: 9 })
  .map((groups) => groups.join(':'));
const emailLike = fc
  .tuple(pick('admin', 'John.Doe', 'a..b', 'x_y'), pick('@', '[@]', '[at]', '＠', ' (at) '), domainLike)
  .map((parts) => parts.join(''));
const hexLike = fc
  .tuple(pick('', '{', 'CLSID ', 'commit ', 'md5:', '0x'), fc.constantFrom(31, 32, 33, 40, 64, 128, 129), fc.integer({ min: 0, max: 0xffff }))
  .map(([prefix, length, seed]) => {
    let hex = '';
    for (let state = seed + 1; hex.length < length; state = (state * 1103515245 + 12345) % 2147483648) {
      hex += (state >> 8).toString(16);
    }
    return `${prefix}${hex.slice(0, length)}${prefix === '{' ? '}' : ''}`;
  });
const structuredText = fc
  .array(fc.tuple(fc.oneof(domainLike, urlLike, ipLike, ipv6Like, emailLike, hexLike, fc.constantFrom(...FRAGMENTS)), pick(' ', '\n', '(', ')', ',', '"', '', '「', '」', '。')), { maxLength: 12 })
  .map((pairs) => pairs.map(([token, separator]) => token + separator).join(''));

const anyText = fc.oneof(structuredText, structuredText, fragmentText, fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ maxLength: 80 }));

const VALID: Readonly<Partial<Record<Indicator['type'], (value: string) => boolean>>> = {
  url: isUrl,
  domain: isDomain,
  ipv4: isIpv4,
  ipv6: isIpv6,
  md5: isHash,
  sha1: isHash,
  sha256: isHash,
  sha512: isHash,
};

describe('extractIocs properties', () => {
  test('never throws, stays bounded and emits only values its predicates accept', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 1, max: 50 }), (text, maxIndicators) => {
        const indicators = extractIocs(text, { maxIndicators });
        expect(indicators.length).toBeLessThanOrEqual(maxIndicators);
        for (const indicator of indicators) {
          const valid = VALID[indicator.type];
          if (valid !== undefined) expect(valid(indicator.value), `${indicator.type} ${indicator.value}`).toBe(true);
        }
        const keys = indicators.map((i) => `${i.type} ${i.value}`);
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 1500 },
    );
  });

  test('is idempotent on its own refanged output', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const refanged = refang(text);
        expect(refang(refanged)).toBe(refanged);
        expect(extractIocs(refanged)).toEqual(extractIocs(text));
      }),
      { numRuns: 1500 },
    );
  });

  // Not for domains: `invoice.zip` found in `http://invoice.zip/` is, on its own, a file name.
  test('extracting from a value it found (other than a domain) finds it again', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        for (const indicator of extractIocs(text).filter((i) => i.type !== 'domain')) {
          const again = extractIocs(indicator.value).map((i) => `${i.type} ${i.value}`);
          expect(again).toContain(`${indicator.type} ${indicator.value}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
