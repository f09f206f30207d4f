import { describe, expect, it } from 'vitest';
import { classifyHash, extractHashes } from './submit-hashes.js';

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe(extractHashes.name, () => {
  it.each([
    ['one per line', `${MD5}\n${SHA1}\n${SHA256}`, [MD5, SHA1, SHA256]],
    ['upper case, deduplicated', `${MD5.toUpperCase()} ${MD5}`, [MD5]],
    ['in prose and CSV', `sample "${SHA256}",seen;md5=${MD5}.`, [SHA256, MD5]],
    ['a SHA-512 is not two SHA-256', 'a'.repeat(128), []],
    ['glued to letters', `x${MD5} ${MD5}z`, []],
    ['wrong lengths', `${'a'.repeat(31)} ${'b'.repeat(33)} ${'c'.repeat(63)}`, []],
  ])('%s', (_label, text, expected) => {
    expect(extractHashes(text).map((h) => h.hash)).toEqual(expected);
  });

  it('stops just past the per-request limit instead of scanning unbounded text', () => {
    const text = Array.from({ length: 20_000 }, (_, i) => i.toString(16).padStart(32, '0')).join(' ');
    expect(extractHashes(text)).toHaveLength(10_001);
  });
});

describe(classifyHash.name, () => {
  it('knows MD5, SHA-1 and SHA-256 only', () => {
    expect([MD5, SHA1, SHA256, 'a'.repeat(128), 'g'.repeat(32), ''].map(classifyHash)).toEqual([
      'md5',
      'sha1',
      'sha256',
      null,
      null,
      null,
    ]);
  });
});
