import { z } from 'zod';
import { AppError } from '@malpipe/core';

/**
 * Encodings described as data, so a loader's decode routine can be written down once (in a config, on the
 * command line, in rule metadata) and replayed by `encode`/`decode` and the rule generators.
 *
 * Byte-wise steps (xor, add, sub, rol, ror, rolling-xor, rc4) keep positions: output byte i depends on input
 * byte i and on i (multi-byte keys repeat from file offset 0, RC4's keystream starts at offset 0), except
 * `rolling-xor` in `feedback` mode, which also depends on the previous output byte. `base64` changes lengths
 * and may only be the last step of a chain.
 *
 * ```ts
 * const codec = parseCodec({ op: 'chain', steps: [{ op: 'add', key: '05' }, { op: 'xor', key: '4b1d' }] });
 * decode(codec, encode(codec, bytes)); // bytes
 * ```
 */

const HEX_KEY = /^(?:[0-9a-fA-F]{2})+$/;
const HexKeySchema = z.string().regex(HEX_KEY, 'key must be hex bytes, e.g. "0a1b2c3d"').transform((s) => s.toLowerCase());
const KeyOrUnknownSchema = z
  .string()
  .refine((s) => s === 'unknown' || HEX_KEY.test(s), 'key must be hex bytes, e.g. "0a1b2c3d", or "unknown"')
  .transform((s) => s.toLowerCase());
const KeyLengthSchema = z.number().int().min(1).max(256);

export const XorCodecSchema = z.object({ op: z.literal('xor'), key: KeyOrUnknownSchema, keyLength: KeyLengthSchema.optional() });
export const ArithmeticCodecSchema = z.object({ op: z.enum(['add', 'sub']), key: KeyOrUnknownSchema, keyLength: KeyLengthSchema.optional() });
export const RotateCodecSchema = z.object({ op: z.enum(['rol', 'ror']), bits: z.number().int().min(1).max(7) });
/**
 * `increment`: byte i is XORed with (key + step * i) mod 256 (step may be negative: decrementing XOR).
 * `feedback`: byte i is XORed with the previous *output* byte; the key is the byte before the first.
 */
export const RollingXorCodecSchema = z.object({
  op: z.literal('rolling-xor'),
  key: KeyOrUnknownSchema.refine((k) => k === 'unknown' || k.length === 2, 'rolling-xor takes a one-byte key'),
  mode: z.enum(['increment', 'feedback']).default('increment'),
  step: z.number().int().min(-255).max(255).default(1),
});
export const Rc4CodecSchema = z.object({ op: z.literal('rc4'), key: HexKeySchema.refine((k) => k.length <= 512, 'RC4 keys are at most 256 bytes') });
export const Base64CodecSchema = z.object({
  op: z.literal('base64'),
  /** 64 distinct characters; default the standard alphabet. Padding '=' is always used. */
  alphabet: z
    .string()
    .length(64)
    .refine((a) => new Set(a).size === 64 && !a.includes('='), 'alphabet needs 64 distinct characters, no "="')
    .optional(),
});

export type XorCodec = z.infer<typeof XorCodecSchema>;
export type ArithmeticCodec = z.infer<typeof ArithmeticCodecSchema>;
export type RotateCodec = z.infer<typeof RotateCodecSchema>;
export type RollingXorCodec = z.infer<typeof RollingXorCodecSchema>;
export type Rc4Codec = z.infer<typeof Rc4CodecSchema>;
export type Base64Codec = z.infer<typeof Base64CodecSchema>;
export type CodecStep = XorCodec | ArithmeticCodec | RotateCodec | RollingXorCodec | Rc4Codec | Base64Codec;
export type ByteCodecStep = Exclude<CodecStep, Base64Codec>;
export interface ChainCodec {
  readonly op: 'chain';
  readonly steps: readonly Codec[];
}
export type Codec = CodecStep | ChainCodec;

const ChainCodecSchema: z.ZodType<ChainCodec> = z.object({
  op: z.literal('chain'),
  steps: z.array(z.lazy(() => CodecSchema)).min(1).max(16),
});

export const CodecSchema: z.ZodType<Codec> = z.discriminatedUnion('op', [
  XorCodecSchema,
  ArithmeticCodecSchema,
  RotateCodecSchema,
  RollingXorCodecSchema,
  Rc4CodecSchema,
  Base64CodecSchema,
  ChainCodecSchema as unknown as z.ZodObject<{ op: z.ZodLiteral<'chain'> }>,
]) as unknown as z.ZodType<Codec>;

/** Validates a codec given as data (JSON from a file or a flag); VALIDATION_FAILED lists every problem. */
export function parseCodec(value: unknown): Codec {
  const parsed = CodecSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', `invalid codec: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const steps = codecSteps(parsed.data);
  steps.forEach((step, index) => {
    if (step.op === 'base64' && index !== steps.length - 1) {
      throw new AppError('VALIDATION_FAILED', 'invalid codec: base64 may only be the last step of a chain');
    }
    if ((step.op === 'xor' || step.op === 'add' || step.op === 'sub') && step.key !== 'unknown' && step.keyLength !== undefined && step.keyLength !== step.key.length / 2) {
      throw new AppError('VALIDATION_FAILED', `invalid codec: ${step.op} keyLength ${step.keyLength} does not match its ${step.key.length / 2}-byte key`);
    }
  });
  return parsed.data;
}

/** The steps of a codec in application order, chains flattened. */
export function codecSteps(codec: Codec): CodecStep[] {
  return codec.op === 'chain' ? codec.steps.flatMap(codecSteps) : [codec];
}

/** Key length in bytes of a keyed byte-wise step (1 for rolling-xor, 0 for keyless rol/ror). */
export function keyLength(step: ByteCodecStep): number {
  switch (step.op) {
    case 'xor':
    case 'add':
    case 'sub':
      return step.key === 'unknown' ? (step.keyLength ?? 1) : step.key.length / 2;
    case 'rolling-xor':
      return 1;
    case 'rc4':
      return step.key.length / 2;
    case 'rol':
    case 'ror':
      return 0;
  }
}

export function hasUnknownKey(codec: Codec): boolean {
  return codecSteps(codec).some((s) => 'key' in s && s.key === 'unknown');
}

/** A short human-readable form for rule metadata, e.g. `add(05) > xor(0a0b0c0d)`. */
export function describeCodec(codec: Codec): string {
  return codecSteps(codec)
    .map((s) => {
      switch (s.op) {
        case 'xor':
        case 'add':
        case 'sub':
          return s.key === 'unknown' ? `${s.op}(unknown/${s.keyLength ?? 1})` : `${s.op}(${s.key})`;
        case 'rolling-xor':
          return s.mode === 'feedback' ? `rolling-xor(${s.key},feedback)` : `rolling-xor(${s.key},step=${s.step})`;
        case 'rc4':
          return `rc4(${s.key})`;
        case 'rol':
        case 'ror':
          return `${s.op}(${s.bits})`;
        case 'base64':
          return s.alphabet === undefined ? 'base64' : `base64(${s.alphabet})`;
      }
    })
    .join(' > ');
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function knownKey(step: { op: string; key: string }): Uint8Array {
  if (step.key === 'unknown') {
    throw new AppError('BAD_REQUEST', `${step.op} with an unknown key cannot encode or decode; recover the key first (recoverKey)`);
  }
  return hexToBytes(step.key);
}

/** RC4 keystream bytes [0, length). */
export function rc4Keystream(key: Uint8Array, length: number): Uint8Array {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    const t = s[i]!;
    s[i] = s[j]!;
    s[j] = t;
  }
  const out = new Uint8Array(length);
  let a = 0;
  let b = 0;
  for (let n = 0; n < length; n++) {
    a = (a + 1) & 0xff;
    b = (b + s[a]!) & 0xff;
    const t = s[a]!;
    s[a] = s[b]!;
    s[b] = t;
    out[n] = s[(s[a]! + s[b]!) & 0xff]!;
  }
  return out;
}

const rol8 = (v: number, n: number): number => ((v << n) | (v >>> (8 - n))) & 0xff;

/**
 * Applies one byte-wise step to `bytes`, which sit at file offset `offset` (position-dependent keys and the
 * RC4 keystream are phased by it). `feedback` needs the previous output byte (`previous`, default the key).
 */
export function transformBytes(step: ByteCodecStep, bytes: Uint8Array, direction: 'encode' | 'decode', offset = 0, previous?: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  switch (step.op) {
    case 'xor':
    case 'add':
    case 'sub': {
      const key = knownKey(step);
      const sign = (step.op === 'add') === (direction === 'encode') ? 1 : -1;
      for (let i = 0; i < bytes.length; i++) {
        const k = key[(offset + i) % key.length]!;
        out[i] = step.op === 'xor' ? bytes[i]! ^ k : (bytes[i]! + sign * k) & 0xff;
      }
      return out;
    }
    case 'rol':
    case 'ror': {
      const left = (step.op === 'rol') === (direction === 'encode');
      for (let i = 0; i < bytes.length; i++) out[i] = rol8(bytes[i]!, left ? step.bits : 8 - step.bits);
      return out;
    }
    case 'rc4': {
      const stream = rc4Keystream(knownKey(step), offset + bytes.length);
      for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! ^ stream[offset + i]!;
      return out;
    }
    case 'rolling-xor': {
      const k0 = knownKey(step)[0]!;
      if (step.mode === 'increment') {
        for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! ^ ((k0 + step.step * (offset + i)) & 0xff);
        return out;
      }
      let prev = previous ?? k0;
      for (let i = 0; i < bytes.length; i++) {
        out[i] = bytes[i]! ^ prev;
        prev = direction === 'encode' ? out[i]! : bytes[i]!;
      }
      return out;
    }
  }
}

const STANDARD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(bytes: Uint8Array, alphabet = STANDARD_ALPHABET): string {
  const standard = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return alphabet === STANDARD_ALPHABET ? standard : [...standard].map((c) => (c === '=' ? c : alphabet[STANDARD_ALPHABET.indexOf(c)]!)).join('');
}

export function base64Decode(text: string, alphabet = STANDARD_ALPHABET): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  let standard = clean;
  if (alphabet !== STANDARD_ALPHABET) {
    standard = [...clean]
      .map((c) => {
        if (c === '=') return c;
        const index = alphabet.indexOf(c);
        if (index < 0) throw new AppError('MALFORMED_INPUT', `base64: character ${JSON.stringify(c)} is not in the alphabet`);
        return STANDARD_ALPHABET[index]!;
      })
      .join('');
  } else if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
    throw new AppError('MALFORMED_INPUT', 'base64: not valid base64 text');
  }
  return new Uint8Array(Buffer.from(standard, 'base64'));
}

/** Encodes a whole payload (file offset 0). */
export function encode(codec: Codec, plaintext: Uint8Array): Uint8Array {
  let data = plaintext;
  for (const step of codecSteps(codec)) {
    data = step.op === 'base64' ? new Uint8Array(Buffer.from(base64Encode(data, step.alphabet), 'latin1')) : transformBytes(step, data, 'encode');
  }
  return data;
}

/** Decodes a whole encoded payload (file offset 0); the inverse of `encode`. */
export function decode(codec: Codec, encoded: Uint8Array): Uint8Array {
  let data = encoded;
  for (const step of codecSteps(codec).reverse()) {
    data = step.op === 'base64' ? base64Decode(Buffer.from(data).toString('latin1'), step.alphabet) : transformBytes(step, data, 'decode');
  }
  return data;
}

/**
 * Recovers unknown keys of a single-step keyed codec from known plaintext bytes (offset -> byte) in an
 * encoded file, the way the key-agnostic rules derive them; returns the codec with the key filled in, or
 * null when some key byte has no known plaintext. Codecs without unknown keys are returned as they are.
 */
export function recoverKey(codec: Codec, encoded: Uint8Array, known: ReadonlyMap<number, number>): Codec | null {
  if (!hasUnknownKey(codec)) return codec;
  const steps = codecSteps(codec);
  const step = steps[0];
  if (steps.length !== 1 || step === undefined || step.op === 'base64' || step.op === 'rc4' || step.op === 'rol' || step.op === 'ror') return null;
  if (step.op === 'rolling-xor') {
    for (const [offset, plain] of [...known].sort((a, b) => a[0] - b[0])) {
      const c = encoded[offset];
      if (c === undefined) continue;
      if (step.mode === 'feedback') {
        if (offset !== 0) continue;
        return { ...step, key: bytesToHex(Uint8Array.of(c ^ plain)) };
      }
      const k0 = ((c ^ plain) - step.step * offset) & 0xff;
      return { ...step, key: bytesToHex(Uint8Array.of(k0)) };
    }
    return null;
  }
  const n = keyLength(step);
  const key = new Uint8Array(n);
  const found = new Array<boolean>(n).fill(false);
  for (const [offset, plain] of known) {
    const c = encoded[offset];
    const j = offset % n;
    if (c === undefined || found[j] === true) continue;
    key[j] = step.op === 'xor' ? c ^ plain : step.op === 'add' ? (c - plain) & 0xff : (plain - c) & 0xff;
    found[j] = true;
  }
  if (found.some((f) => !f)) return null;
  return { op: step.op, key: bytesToHex(key) };
}
