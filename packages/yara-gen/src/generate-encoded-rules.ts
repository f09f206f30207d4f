import { AppError } from '@malpipe/core';
import {
  base64Encode,
  codecSteps,
  describeCodec,
  keyLength,
  transformBytes,
  type ByteCodecStep,
  type Codec,
  type CodecStep,
} from './codec.js';
import { knownBytes, type PlaintextPiece } from './known-plaintext.js';
import { dwordAt, hex32, hex8, hexOffset, hexString, renderRule, ruleIdentifier, textString } from './yara-text.js';

export const GENERATOR_VERSION = '0.1.0';
export const GENERATOR = `malpipe-yara-gen ${GENERATOR_VERSION}`;

export interface EncodedRuleSpec {
  /** Rule name stem (made a valid identifier). */
  readonly name: string;
  readonly codec: Codec;
  readonly plaintext: readonly PlaintextPiece[];
  /** SHA-256 of the samples the codec and plaintext came from (meta `hash1..N`). */
  readonly sourceSamples?: readonly string[];
  readonly author?: string;
  readonly reference?: string;
  /** YYYY-MM-DD; default today (UTC). */
  readonly date?: string;
}

/**
 * How a rule finds the encoded form: `encoded-bytes` (known key: encoded plaintext at fixed offsets),
 * `key-agnostic` (unknown key: relations between encoded bytes that hold for every key), `xor-modifier` /
 * `base64-modifier` (YARA's own modifiers), `encoded-strings` (known key: encoded plaintext anywhere).
 */
export type RuleStrategy = 'encoded-bytes' | 'key-agnostic' | 'xor-modifier' | 'base64-modifier' | 'encoded-strings';

export interface GeneratedRule {
  readonly name: string;
  readonly source: string;
  readonly strategy: RuleStrategy;
  readonly codec: Codec;
  /** Whether the rule is anchored at fixed offsets (from anchored plaintext) or searches anywhere. */
  readonly anchored: boolean;
  /** Plaintext offsets the rule checks (anchored rules). */
  readonly offsets: readonly number[];
}

export interface EncodedRulesResult {
  readonly rules: readonly GeneratedRule[];
  /** Plaintext the codec cannot express as a rule (e.g. floating plaintext under RC4), said plainly. */
  readonly warnings: readonly string[];
}

/** Key-agnostic conditions checked per rule: enough to be specific, few enough to stay cheap. */
const MAX_DWORD_RELATIONS = 24;
const MAX_BYTE_RELATIONS = 32;
const MIN_RELATIONS = 4;
const MAX_PHASES = 16;

interface Term {
  readonly condition: string;
  /** Relations whose plaintext difference is zero say little ("equal bytes"); used last. */
  readonly weak: boolean;
}

/**
 * Writes YARA rules that match the *encoded* form of known plaintext (see docs in codec.ts and the notes in
 * yara.md section 2.2): one anchored rule for the pieces with offsets, one floating rule for the others.
 * Throws UNSUPPORTED_INPUT when nothing can be expressed (e.g. a chain with an unknown key).
 */
export function generateEncodedPayloadRules(spec: EncodedRuleSpec): EncodedRulesResult {
  const steps = codecSteps(spec.codec);
  const base64Index = steps.findIndex((s) => s.op === 'base64');
  if (base64Index >= 0 && base64Index !== steps.length - 1) throw new AppError('UNSUPPORTED_INPUT', 'base64 may only be the last step of a codec');
  const warnings: string[] = [];
  const drafts: { rule: Omit<GeneratedRule, 'source'>; body: Body }[] = [];
  const anchored = spec.plaintext.filter((p) => p.offset !== undefined);
  const floating = spec.plaintext.filter((p) => p.offset === undefined);
  const stem = ruleIdentifier(`MALPIPE_Encoded_${spec.name}`);

  if (anchored.length > 0) {
    const built = anchoredRule(spec, steps, knownBytes(anchored));
    const name = `${stem}_${built.strategy === 'key-agnostic' ? 'KeyAgnostic' : 'Anchored'}`;
    drafts.push({ rule: { name, strategy: built.strategy, codec: spec.codec, anchored: true, offsets: built.offsets }, body: built });
  }
  if (floating.length > 0) {
    const built = floatingRule(steps, floating, warnings);
    if (built !== null) {
      drafts.push({ rule: { name: `${stem}_Strings`, strategy: built.strategy, codec: spec.codec, anchored: false, offsets: [] }, body: built });
    }
  }
  if (drafts.length === 0) throw new AppError('UNSUPPORTED_INPUT', `no rule can be generated for ${describeCodec(spec.codec)}: ${warnings.join('; ')}`);
  return { rules: drafts.map(({ rule, body }) => ({ ...rule, source: render(spec, rule, body) })), warnings };
}

interface Body {
  readonly strings: readonly string[];
  readonly condition: readonly string[];
}

function render(spec: EncodedRuleSpec, rule: Omit<GeneratedRule, 'source'>, body: Body): string {
  const keys = codecSteps(spec.codec)
    .map((s) => ('key' in s ? s.key : null))
    .filter((k): k is string => k !== null);
  const meta: [string, string | number | boolean][] = [
    ['description', `${rule.anchored ? 'Encoded known plaintext at fixed offsets' : 'Encoded known strings'} (${rule.strategy}) under ${describeCodec(spec.codec)}`],
    ['author', spec.author ?? 'malpipe yara-gen'],
    ['date', spec.date ?? new Date().toISOString().slice(0, 10)],
    ['generator', GENERATOR],
    ['strategy', rule.strategy],
    ['codec', describeCodec(spec.codec)],
    ['codec_json', JSON.stringify(spec.codec)],
    ['key', keys.length === 0 ? 'none' : keys.join(',')],
  ];
  if (rule.anchored) meta.push(['offsets', describeOffsets(rule.offsets)]);
  meta.push(['plaintext', spec.plaintext.map((p) => (p.offset === undefined ? p.label : `${p.label}@${hexOffset(p.offset)}`)).join(',')]);
  if (spec.reference !== undefined) meta.push(['reference', spec.reference]);
  (spec.sourceSamples ?? []).forEach((hash, i) => meta.push([`hash${i + 1}`, hash]));
  return renderRule({ name: rule.name, tags: ['encoded'], meta, strings: body.strings, condition: body.condition });
}

function describeOffsets(offsets: readonly number[]): string {
  const runs: string[] = [];
  let start: number | undefined;
  let prev = -2;
  for (const o of [...offsets].sort((a, b) => a - b)) {
    if (o !== prev + 1) {
      if (start !== undefined) runs.push(start === prev ? hexOffset(start) : `${hexOffset(start)}-${hexOffset(prev)}`);
      start = o;
    }
    prev = o;
  }
  if (start !== undefined) runs.push(start === prev ? hexOffset(start) : `${hexOffset(start)}-${hexOffset(prev)}`);
  return runs.join(',');
}

/** Contiguous runs [start, end) of known offsets. */
function knownRuns(known: ReadonlyMap<number, number>): [number, number][] {
  const runs: [number, number][] = [];
  for (const o of [...known.keys()].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === o) last[1] = o + 1;
    else runs.push([o, o + 1]);
  }
  return runs;
}

function template(known: ReadonlyMap<number, number>): Uint8Array {
  const bytes = new Uint8Array(Math.max(...known.keys()) + 1);
  for (const [o, b] of known) bytes[o] = b;
  return bytes;
}

function applySteps(steps: readonly ByteCodecStep[], bytes: Uint8Array, offset = 0): Uint8Array {
  return steps.reduce((data, step) => transformBytes(step, data, 'encode', offset), bytes);
}

function isKeyUnknown(step: CodecStep): boolean {
  return 'key' in step && step.key === 'unknown';
}

type AnchoredBody = Body & { strategy: RuleStrategy; offsets: number[] };

function anchoredRule(spec: EncodedRuleSpec, steps: readonly CodecStep[], known: Map<number, number>): AnchoredBody {
  const base64 = steps[steps.length - 1]?.op === 'base64' ? (steps[steps.length - 1] as Extract<CodecStep, { op: 'base64' }>) : null;
  const byteSteps = steps.filter((s): s is ByteCodecStep => s.op !== 'base64');
  const offsets = [...known.keys()].sort((a, b) => a - b);
  const plain = template(known);
  const feedbackIndex = byteSteps.findIndex((s) => s.op === 'rolling-xor' && s.mode === 'feedback');
  const unknown = byteSteps.filter(isKeyUnknown);

  if (feedbackIndex >= 0) {
    if (feedbackIndex !== byteSteps.length - 1 || base64 !== null) {
      throw new AppError('UNSUPPORTED_INPUT', 'feedback XOR must be the last step (its output depends on earlier output bytes)');
    }
    const pre = byteSteps.slice(0, feedbackIndex);
    if (pre.some(isKeyUnknown)) throw new AppError('UNSUPPORTED_INPUT', 'key-agnostic rules support one unknown-key step; give the other keys');
    return { ...feedbackBody(byteSteps[feedbackIndex] as Extract<ByteCodecStep, { op: 'rolling-xor' }>, applySteps(pre, plain), known), offsets };
  }
  if (unknown.length > 0) {
    const step = byteSteps[0];
    if (byteSteps.length !== 1 || base64 !== null || step === undefined) {
      throw new AppError('UNSUPPORTED_INPUT', `key-agnostic rules support a single xor/add/sub/rolling-xor step with an unknown key, not ${describeCodec(spec.codec)}; give the keys`);
    }
    return { ...keyAgnosticBody(step, plain, known), offsets };
  }

  const encoded = applySteps(byteSteps, plain);
  const strings: string[] = [];
  const condition: string[] = [];
  const runs = knownRuns(known);
  if (base64 === null) {
    // uint32 at 0 first: a cheap magic gate that rejects almost every file before any string is looked at.
    if ([0, 1, 2, 3].every((o) => known.has(o))) condition.push(`uint32(0) == ${hex32(dwordAt(encoded, 0))}`);
    runs.forEach(([start, end], i) => {
      if (end - start >= 8) {
        strings.push(`$e${i} = ${hexString(encoded.subarray(start, end))}`);
        condition.push(`$e${i} at ${hexOffset(start)}`);
        return;
      }
      for (let o = start; o < end; ) {
        if (end - o >= 4) {
          if (o !== 0) condition.push(`uint32(${hexOffset(o)}) == ${hex32(dwordAt(encoded, o))}`);
          o += 4;
        } else {
          condition.push(`uint8(${hexOffset(o)}) == ${hex8(encoded[o]!)}`);
          o += 1;
        }
      }
    });
  } else {
    // Base64 maps 3 input bytes to 4 characters: only groups wholly inside a known run are fixed text.
    runs.forEach(([start, end], i) => {
      const a = Math.ceil(start / 3) * 3;
      const b = Math.floor(end / 3) * 3;
      if (b - a < 6) return;
      const text = base64Encode(encoded.subarray(a, b), base64.alphabet);
      strings.push(`$b${i} = ${textString(new Uint8Array(Buffer.from(text, 'latin1')))}`);
      condition.push(`$b${i} at ${hexOffset((a / 3) * 4)}`);
    });
    if (strings.length === 0) throw new AppError('UNSUPPORTED_INPUT', 'base64: no known plaintext run of at least 6 aligned bytes');
  }
  return { strategy: 'encoded-bytes', strings, condition, offsets };
}

/** out[i] = in[i] ^ out[i-1], so out[i] ^ out[i-1] = in[i] whatever the key: dword relations need no key. */
function feedbackBody(step: Extract<ByteCodecStep, { op: 'rolling-xor' }>, pre: Uint8Array, known: ReadonlyMap<number, number>): Body & { strategy: RuleStrategy } {
  const terms: Term[] = [];
  const has4 = (o: number): boolean => [0, 1, 2, 3].every((i) => known.has(o + i));
  for (const [start, end] of knownRuns(known)) {
    for (let o = Math.max(start, 1); o + 4 <= end; o += 4) {
      if (!has4(o)) continue;
      const value = dwordAt(pre, o);
      terms.push({ condition: `(uint32(${hexOffset(o)}) ^ uint32(${hexOffset(o - 1)})) == ${hex32(value)}`, weak: value === 0 });
    }
  }
  const condition = pickTerms(terms, MAX_DWORD_RELATIONS);
  if (step.key !== 'unknown' && known.has(0)) condition.unshift(`uint8(0) == ${hex8(pre[0]! ^ parseInt(step.key, 16))}`);
  return { strategy: step.key === 'unknown' ? 'key-agnostic' : 'encoded-bytes', strings: [], condition };
}

function pickTerms(terms: readonly Term[], max: number): string[] {
  if (terms.length < MIN_RELATIONS) {
    throw new AppError('UNSUPPORTED_INPUT', `only ${terms.length} relations between known plaintext bytes; give more anchored plaintext`);
  }
  // Strong relations first (they fail fast on unrelated files), spread over the plaintext, then weak ones.
  const strong = terms.filter((t) => !t.weak);
  const weak = terms.filter((t) => t.weak);
  return [...spread(strong, max), ...spread(weak, Math.max(0, max - strong.length))].slice(0, max).map((t) => t.condition);
}

function spread<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)]!);
}

/**
 * Relations between encoded bytes whose key shares cancel (section 2.3 of the notes, after Wesley Shields'
 * XORed-PE rules): for an n-byte key, bytes o and o - L (L a multiple of n) carry the same key byte, so
 * XOR: c[o] ^ c[o-L] == p[o] ^ p[o-L]; ADD/SUB: c[o] - c[o-L] == p[o] - p[o-L] (mod 256). An incrementing
 * XOR derives its start key from one byte and checks the others against it.
 */
function keyAgnosticBody(step: ByteCodecStep, plain: Uint8Array, known: ReadonlyMap<number, number>): Body & { strategy: RuleStrategy } {
  const has = (o: number, len: number): boolean => o >= 0 && Array.from({ length: len }, (_, i) => known.has(o + i)).every(Boolean);
  const terms: Term[] = [];
  const n = keyLength(step);
  const firstKnown = Math.min(...known.keys());
  const notPlain: string[] = has(firstKnown, 4) ? [`uint32(${hexOffset(firstKnown)}) != ${hex32(dwordAt(plain, firstKnown))}`] : [];
  switch (step.op) {
    case 'xor': {
      const shift = n * Math.ceil(4 / n);
      for (const [start, end] of knownRuns(known)) {
        for (let o = start; o + 4 <= end; o += 4) {
          if (!has(o - shift, 4)) continue;
          const value = (dwordAt(plain, o) ^ dwordAt(plain, o - shift)) >>> 0;
          terms.push({ condition: `(uint32(${hexOffset(o)}) ^ uint32(${hexOffset(o - shift)})) == ${hex32(value)}`, weak: value === 0 });
        }
      }
      return { strategy: 'key-agnostic', strings: [], condition: [...pickTerms(terms, MAX_DWORD_RELATIONS), ...notPlain] };
    }
    case 'add':
    case 'sub': {
      for (const o of [...known.keys()].sort((a, b) => a - b)) {
        if (!known.has(o - n)) continue;
        const value = (plain[o]! - plain[o - n]!) & 0xff;
        terms.push({ condition: `((uint8(${hexOffset(o)}) - uint8(${hexOffset(o - n)})) & 0xff) == ${hex8(value)}`, weak: value === 0 });
      }
      return { strategy: 'key-agnostic', strings: [], condition: [...pickTerms(terms, MAX_BYTE_RELATIONS), ...notPlain] };
    }
    case 'rolling-xor': {
      if (step.mode === 'feedback') return feedbackBody(step, plain, known);
      const ref = firstKnown;
      const key = `(uint8(${hexOffset(ref)}) ^ ${hex8(plain[ref]!)})`;
      for (const o of [...known.keys()].sort((a, b) => a - b)) {
        if (o === ref) continue;
        const delta = (((step.step * (o - ref)) % 256) + 256) % 256;
        terms.push({ condition: `(uint8(${hexOffset(o)}) ^ ((${key} + ${hex8(delta)}) & 0xff)) == ${hex8(plain[o]!)}`, weak: plain[o] === 0 });
      }
      return { strategy: 'key-agnostic', strings: [], condition: pickTerms(terms, MAX_BYTE_RELATIONS) };
    }
    case 'rc4':
    case 'rol':
    case 'ror':
      throw new AppError('UNSUPPORTED_INPUT', `${step.op} has no unknown key to be agnostic about`);
  }
}

/** True when every step encodes a byte the same way wherever it sits. */
function isPositionIndependent(step: ByteCodecStep): boolean {
  return step.op === 'rol' || step.op === 'ror' || ((step.op === 'xor' || step.op === 'add' || step.op === 'sub') && keyLength(step) === 1);
}

function floatingRule(steps: readonly CodecStep[], pieces: readonly PlaintextPiece[], warnings: string[]): (Body & { strategy: RuleStrategy }) | null {
  const base64 = steps[steps.length - 1]?.op === 'base64' ? (steps[steps.length - 1] as Extract<CodecStep, { op: 'base64' }>) : null;
  const byteSteps = steps.filter((s): s is ByteCodecStep => s.op !== 'base64');
  const strings: string[] = [];
  const condition: string[] = [];
  const unknown = byteSteps.filter(isKeyUnknown);

  if (unknown.length > 0) {
    const only = byteSteps[0];
    if (byteSteps.length === 1 && base64 === null && only?.op === 'xor' && keyLength(only) === 1) {
      // Key 0 is the plaintext itself: exclude it (YARA's plain `xor` includes it).
      pieces.forEach((p, i) => strings.push(`$x${i} = ${textString(p.bytes)} xor(0x01-0xff)`));
      condition.push('all of ($x*)');
      return { strategy: 'xor-modifier', strings, condition };
    }
    warnings.push(`floating plaintext under ${byteSteps.map((s) => s.op).join(' > ')} with an unknown key cannot be searched for; anchor it with an offset`);
    return null;
  }
  if (!byteSteps.every(isPositionIndependent)) {
    const periods = byteSteps.map((s) => (s.op === 'xor' || s.op === 'add' || s.op === 'sub' ? keyLength(s) : s.op === 'rol' || s.op === 'ror' ? 1 : Infinity));
    const period = periods.every(Number.isFinite) ? periods.reduce((a, b) => (a * b) / gcd(a, b), 1) : Infinity;
    if (period > MAX_PHASES || base64 !== null) {
      warnings.push('floating plaintext cannot be searched under a position-dependent codec (RC4, rolling XOR, long keys, or multi-byte keys under base64); anchor it with an offset');
      return null;
    }
    // A multi-byte key encodes the same plaintext differently at each key phase: one variant per phase.
    pieces.forEach((p, i) => {
      for (let phase = 0; phase < period; phase++) strings.push(`$f${i}_${phase} = ${hexString(applySteps(byteSteps, p.bytes, phase))}`);
      condition.push(`any of ($f${i}_*)`);
    });
    return { strategy: 'encoded-strings', strings, condition };
  }
  if (base64 !== null) {
    const modifier = base64.alphabet === undefined ? 'base64' : `base64(${textString(new Uint8Array(Buffer.from(base64.alphabet, 'latin1')))})`;
    pieces.forEach((p, i) => {
      if (p.bytes.length < 3) return warnings.push(`${p.label}: base64 strings need at least 3 bytes`);
      strings.push(`$b${i} = ${textString(applySteps(byteSteps, p.bytes))} ${modifier}`);
    });
    if (strings.length === 0) return null;
    condition.push('all of ($b*)');
    return { strategy: 'base64-modifier', strings, condition };
  }
  pieces.forEach((p, i) => strings.push(`$f${i} = ${hexString(applySteps(byteSteps, p.bytes))}`));
  condition.push('all of ($f*)');
  return { strategy: 'encoded-strings', strings, condition };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
