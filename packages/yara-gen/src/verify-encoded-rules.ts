import { randomBytes } from 'node:crypto';
import type { YaraRuleMatch } from '@malpipe/analyzers';
import { AppError } from '@malpipe/core';
import { createYaraEngine, isLibyaraAvailable, type YaraEngine } from '@malpipe/yara-engine';
import {
  base64Decode,
  bytesToHex,
  codecSteps,
  decode,
  encode,
  hasUnknownKey,
  keyLength,
  recoverKey,
  transformBytes,
  type ByteCodecStep,
  type Codec,
  type CodecStep,
} from './codec.js';
import type { EncodedRuleSpec, GeneratedRule } from './generate-encoded-rules.js';
import { knownBytes } from './known-plaintext.js';

export interface VerifyEncodedRulesOptions {
  /** Default: libyara (when built) and YARA-X. */
  readonly engines?: readonly YaraEngine[];
  /** The plaintext payload to encode; default a synthetic one holding every plaintext piece. */
  readonly payload?: Uint8Array;
  /** Keys for `unknown` steps when encoding the payload; default random non-zero keys. */
  readonly concreteCodec?: Codec;
}

export interface RuleVerification {
  readonly rule: string;
  readonly engine: string;
  readonly compiled: boolean;
  readonly matchedEncoded: boolean;
  readonly matchedPlaintext: boolean;
  /** The hit decoded back to the payload's plaintext (each string hit, or the whole file for condition rules). */
  readonly decodedHit: boolean;
  readonly ok: boolean;
  readonly detail?: string;
}

/** Both engines, where available: a generated rule must compile and behave the same under each. */
export async function defaultVerificationEngines(): Promise<YaraEngine[]> {
  const engines: YaraEngine[] = [await createYaraEngine('yara-x')];
  if (isLibyaraAvailable()) engines.unshift(await createYaraEngine('libyara'));
  return engines;
}

/**
 * A plaintext payload holding every piece of the spec: anchored pieces at their offsets, floating ones at
 * odd offsets past them (so every key phase matters), random bytes elsewhere. With the PE header known, it
 * also gets `e_lfanew` = 0x80 and "PE\0\0" there.
 */
export function syntheticPayload(spec: EncodedRuleSpec): Uint8Array {
  const known = knownBytes(spec.plaintext);
  const end = known.size === 0 ? 0 : Math.max(...known.keys()) + 1;
  const floating = spec.plaintext.filter((p) => p.offset === undefined);
  const size = Math.max(4096, end + 256 + floating.reduce((sum, p) => sum + p.bytes.length + 0x41, 0));
  const payload = new Uint8Array(randomBytes(size));
  for (const [o, b] of known) payload[o] = b;
  if (known.get(0) === 0x4d && known.get(1) === 0x5a && end <= 0x80) {
    new DataView(payload.buffer).setUint32(0x3c, 0x80, true);
    payload.set([0x50, 0x45, 0, 0], 0x80);
  }
  let at = Math.max(end, 0x100) + 0x33;
  for (const piece of floating) {
    payload.set(piece.bytes, at);
    at += piece.bytes.length + 0x41;
  }
  return payload;
}

/** The codec with random non-zero keys in place of `unknown` ones (to encode a test payload). */
export function concretize(codec: Codec): Codec {
  const steps = codecSteps(codec).map((step): CodecStep => {
    if (!('key' in step) || step.key !== 'unknown') return step;
    const length = step.op === 'rolling-xor' ? 1 : keyLength(step as ByteCodecStep);
    const key = new Uint8Array(randomBytes(length)).map((b) => b | 1);
    return { ...step, key: bytesToHex(key) } as CodecStep;
  });
  return steps.length === 1 ? steps[0]! : { op: 'chain', steps };
}

/**
 * The round trip every generated rule must pass on each engine: it compiles; it matches the encoded payload;
 * it does not match the plaintext payload; and each hit decodes back to the payload's plaintext (string hits
 * region by region; condition-only rules by recovering the key from the file and decoding all of it).
 */
export async function verifyEncodedRules(
  spec: EncodedRuleSpec,
  rules: readonly GeneratedRule[],
  options: VerifyEncodedRulesOptions = {},
): Promise<RuleVerification[]> {
  const engines = options.engines ?? (await defaultVerificationEngines());
  const payload = options.payload ?? syntheticPayload(spec);
  const concrete = options.concreteCodec ?? concretize(spec.codec);
  if (hasUnknownKey(concrete)) throw new AppError('BAD_REQUEST', 'concreteCodec still has unknown keys');
  const encoded = encode(concrete, payload);
  const results: RuleVerification[] = [];
  for (const rule of rules) {
    for (const engine of engines) {
      results.push(await verifyOne(spec, rule, engine, payload, encoded));
    }
  }
  return results;
}

async function verifyOne(spec: EncodedRuleSpec, rule: GeneratedRule, engine: YaraEngine, payload: Uint8Array, encoded: Uint8Array): Promise<RuleVerification> {
  const base = { rule: rule.name, engine: engine.name };
  let compiled;
  try {
    compiled = await engine.compile([{ namespace: 'generated', source: rule.source, origin: rule.name }]);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, compiled: false, matchedEncoded: false, matchedPlaintext: false, decodedHit: false, ok: false, detail: message };
  }
  try {
    const hit = (await compiled.scan(encoded)).find((m) => m.rule === rule.name);
    const plainHit = (await compiled.scan(payload)).some((m) => m.rule === rule.name);
    const decoded = hit === undefined ? { ok: false, detail: 'no hit' } : decodeHit(spec, rule, hit, encoded, payload);
    const ok = hit !== undefined && !plainHit && decoded.ok;
    return { ...base, compiled: true, matchedEncoded: hit !== undefined, matchedPlaintext: plainHit, decodedHit: decoded.ok, ok, ...(decoded.detail === undefined ? {} : { detail: decoded.detail }) };
  } finally {
    compiled.dispose();
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Decodes a rule's hit with the codec (keys recovered from the file when unknown) and compares it to the payload. */
export function decodeHit(spec: EncodedRuleSpec, rule: GeneratedRule, hit: YaraRuleMatch, encoded: Uint8Array, payload: Uint8Array): { ok: boolean; detail?: string } {
  const known = knownBytes(spec.plaintext);
  const steps = codecSteps(spec.codec);
  const last = steps[steps.length - 1];
  const byteSteps = steps.filter((s): s is ByteCodecStep => s.op !== 'base64');

  if (rule.strategy === 'xor-modifier') {
    // Derive the one-byte key from the first byte of each hit and check that the whole hit decodes to a piece.
    for (const s of hit.strings) {
      const bytes = encoded.subarray(s.offset, s.offset + s.length);
      const matches = spec.plaintext.some((p) => {
        const key = (bytes[0] ?? 0) ^ (p.bytes[0] ?? 0);
        return p.bytes.length === bytes.length && bytes.every((b, i) => (b ^ key) === p.bytes[i]);
      });
      if (!matches) return { ok: false, detail: `${s.identifier} at ${s.offset} does not decode to a plaintext piece` };
    }
    return { ok: hit.strings.length > 0 };
  }

  const codec = recoverKey(spec.codec, encoded, known);
  if (codec === null) return { ok: false, detail: 'key not recoverable from the known plaintext' };
  if (rule.strategy === 'base64-modifier' || hit.strings.length === 0) {
    // Condition-only and base64-modifier hits: decode the whole file and require the plaintext back.
    const decoded = decode(codec, encoded);
    return equal(decoded, payload) ? { ok: true } : { ok: false, detail: 'decoded file differs from the payload' };
  }
  const concreteSteps = codecSteps(codec).filter((s): s is ByteCodecStep => s.op !== 'base64');
  for (const s of hit.strings) {
    const region = encoded.subarray(s.offset, s.offset + s.length);
    let bytes: Uint8Array;
    let plainOffset: number;
    if (last?.op === 'base64') {
      if (s.offset % 4 !== 0 || s.length % 4 !== 0) return { ok: false, detail: `${s.identifier}: base64 hit not on a group boundary` };
      bytes = base64Decode(Buffer.from(region).toString('latin1'), last.alphabet);
      plainOffset = (s.offset / 4) * 3;
    } else {
      bytes = region;
      plainOffset = s.offset;
    }
    let data = bytes;
    for (const step of [...concreteSteps].reverse()) {
      const previous = step.op === 'rolling-xor' && step.mode === 'feedback' && plainOffset > 0 ? encoded[plainOffset - 1] : undefined;
      data = transformBytes(step, data, 'decode', plainOffset, previous);
    }
    if (!equal(data, payload.subarray(plainOffset, plainOffset + data.length))) {
      return { ok: false, detail: `${s.identifier} at ${s.offset} decodes to bytes that differ from the payload (${byteSteps.length} byte steps)` };
    }
  }
  return { ok: true };
}
