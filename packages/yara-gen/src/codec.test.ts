import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decode, describeCodec, encode, parseCodec, rc4Keystream, recoverKey, type Codec } from './codec.js';
import { knownBytes, peHeaderPlaintext } from './known-plaintext.js';

const CODECS: Codec[] = [
  { op: 'xor', key: '5a' },
  { op: 'xor', key: '0a1b2c3d' },
  { op: 'add', key: '07' },
  { op: 'sub', key: '1122' },
  { op: 'rol', bits: 3 },
  { op: 'ror', bits: 5 },
  { op: 'rolling-xor', key: '41', mode: 'increment', step: 3 },
  { op: 'rolling-xor', key: '41', mode: 'feedback', step: 1 },
  { op: 'rc4', key: '6b65792d31' },
  { op: 'base64' },
  { op: 'chain', steps: [{ op: 'add', key: '05' }, { op: 'xor', key: 'de' }, { op: 'base64' }] },
];

describe('codecs', () => {
  it.each(CODECS.map((c) => [describeCodec(c), c] as const))('%s round-trips', (_name, codec) => {
    const plain = new Uint8Array(randomBytes(1000));
    const encoded = encode(parseCodec(codec), plain);
    expect(Buffer.from(encoded).equals(Buffer.from(plain))).toBe(false);
    expect(Buffer.from(decode(codec, encoded)).equals(Buffer.from(plain))).toBe(true);
  });

  it('RC4 matches the published test vector (Key / Plaintext)', () => {
    // RFC 6229-era classic vector: key "Key", plaintext "Plaintext" -> bbf316e8d940af0ad3.
    const out = encode({ op: 'rc4', key: Buffer.from('Key').toString('hex') }, Buffer.from('Plaintext'));
    expect(Buffer.from(out).toString('hex')).toBe('bbf316e8d940af0ad3');
    expect(rc4Keystream(Buffer.from('Key'), 3)).toHaveLength(3);
  });

  it('rejects base64 before another step and keys that contradict keyLength', () => {
    expect(() => parseCodec({ op: 'chain', steps: [{ op: 'base64' }, { op: 'xor', key: '01' }] })).toThrow(/last step/);
    expect(() => parseCodec({ op: 'xor', key: '0102', keyLength: 4 })).toThrow(/keyLength/);
    expect(() => parseCodec({ op: 'xor', key: 'zz' })).toThrow(/hex/);
  });

  it('recovers an unknown multi-byte key from the known PE header', () => {
    const plain = new Uint8Array(512);
    const known = knownBytes(peHeaderPlaintext());
    for (const [o, b] of known) plain[o] = b;
    const encoded = encode({ op: 'xor', key: 'c0ffee11' }, plain);
    expect(recoverKey({ op: 'xor', key: 'unknown', keyLength: 4 }, encoded, known)).toEqual({ op: 'xor', key: 'c0ffee11' });
    const added = encode({ op: 'add', key: '9d' }, plain);
    expect(recoverKey({ op: 'add', key: 'unknown' }, added, known)).toEqual({ op: 'add', key: '9d' });
  });
});
