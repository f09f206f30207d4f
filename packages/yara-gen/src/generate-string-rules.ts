import { createHash } from 'node:crypto';
import { AppError } from '@malpipe/core';
import { GENERATOR } from './generate-encoded-rules.js';
import { renderRule, ruleIdentifier, textString } from './yara-text.js';

/**
 * String-based rule generation, the yarGen idea written afresh: strings found in the samples, minus those in
 * a goodware string set, scored by atom quality (how well YARA can search for them) and by how many samples
 * share them. Memory stays bounded: the goodware set is a fixed-size Bloom filter however large the goodware
 * corpus, and per-sample and candidate counts are capped.
 */

/** An extracted string: `a:` ASCII or `w:` UTF-16LE, then the text. */
export type TaggedString = `a:${string}` | `w:${string}`;

export interface ExtractStringsOptions {
  /** Default 6. */
  readonly minLength?: number;
  /** Longer runs are cut; default 128. */
  readonly maxLength?: number;
  /** Per file; default 20,000. */
  readonly maxStrings?: number;
}

const printable = (b: number): boolean => (b >= 0x20 && b < 0x7f) || b === 0x09;

/** Printable ASCII and UTF-16LE runs, deduplicated, in order of first appearance. */
export function extractStrings(bytes: Uint8Array, options: ExtractStringsOptions = {}): Set<TaggedString> {
  const minLength = options.minLength ?? 6;
  const maxLength = options.maxLength ?? 128;
  const maxStrings = options.maxStrings ?? 20_000;
  const out = new Set<TaggedString>();
  const add = (tag: 'a' | 'w', text: string): void => {
    if (out.size < maxStrings && text.length >= minLength) out.add(`${tag}:${text.slice(0, maxLength)}` as TaggedString);
  };
  let run = '';
  for (const b of bytes) {
    if (printable(b)) {
      if (run.length < maxLength) run += String.fromCharCode(b);
    } else {
      add('a', run);
      run = '';
    }
  }
  add('a', run);
  for (const phase of [0, 1]) {
    run = '';
    for (let i = phase; i + 1 < bytes.length; i += 2) {
      if (printable(bytes[i]!) && bytes[i + 1] === 0) {
        if (run.length < maxLength) run += String.fromCharCode(bytes[i]!);
      } else {
        add('w', run);
        run = '';
      }
    }
    add('w', run);
  }
  return out;
}

/**
 * libyara's atom quality for one atom (YARA 4.2.3 `libyara/atoms.c`): 20 points per byte, 18 for letters,
 * 12 for the common 00/20/CC/FF; +2 per distinct byte, or a heavy penalty when all bytes are one common
 * value. `01 02 03 04` scores 88 (the best), `61 61` 38 (the warning threshold).
 */
export function atomQuality(atom: Uint8Array): number {
  let quality = 0;
  const seen = new Set<number>();
  for (const b of atom) {
    if (b === 0x00 || b === 0x20 || b === 0xcc || b === 0xff) quality += 12;
    else if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) quality += 18;
    else quality += 20;
    seen.add(b);
  }
  const last = atom[atom.length - 1];
  if (seen.size === 1 && last !== undefined && [0x00, 0x20, 0x90, 0xcc, 0xff].includes(last)) return quality - 10 * atom.length;
  return quality + 2 * seen.size;
}

/** The best 4-byte atom YARA could pick from the string's bytes. */
export function bestAtomQuality(bytes: Uint8Array): number {
  if (bytes.length <= 4) return atomQuality(bytes);
  let best = -Infinity;
  for (let i = 0; i + 4 <= bytes.length; i++) best = Math.max(best, atomQuality(bytes.subarray(i, i + 4)));
  return best;
}

export function stringBytes(tagged: TaggedString): Uint8Array {
  const text = tagged.slice(2);
  return tagged.startsWith('w:') ? new Uint8Array(Buffer.from(text, 'utf16le')) : new Uint8Array(Buffer.from(text, 'latin1'));
}

/**
 * A goodware string set as a Bloom filter: fixed memory (default 8 MiB, about 7 million strings at a 1 %
 * false-positive rate with 7 hashes), so building it from a large goodware directory never grows the
 * process. A false positive only drops a candidate string, never adds one.
 */
export class GoodwareStringDb {
  readonly #bits: Uint8Array;
  readonly #hashes: number;
  #count = 0;

  constructor(options: { readonly bytes?: number; readonly hashes?: number } = {}) {
    this.#bits = new Uint8Array(options.bytes ?? 8 * 1024 * 1024);
    this.#hashes = options.hashes ?? 7;
  }

  /** Strings added (with repeats). */
  get count(): number {
    return this.#count;
  }

  add(value: string): void {
    for (const bit of this.#positions(value)) this.#bits[bit >>> 3]! |= 1 << (bit & 7);
    this.#count++;
  }

  has(value: string): boolean {
    for (const bit of this.#positions(value)) if ((this.#bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    return true;
  }

  /** Adds every string of one goodware file. */
  addFile(bytes: Uint8Array, options?: ExtractStringsOptions): void {
    for (const s of extractStrings(bytes, options)) this.add(s);
  }

  #positions(value: string): number[] {
    // Double hashing (Kirsch-Mitzenmacher) from one SHA-1: cheap enough, well spread.
    const digest = createHash('sha1').update(value).digest();
    const h1 = digest.readUInt32LE(0);
    const h2 = digest.readUInt32LE(4) | 1;
    const size = this.#bits.length * 8;
    return Array.from({ length: this.#hashes }, (_, i) => (h1 + Math.imul(i, h2)) >>> 0).map((h) => h % size);
  }
}

/** Builds the goodware set from files (read by the caller: this package does no I/O). */
export async function buildGoodwareDb(files: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ExtractStringsOptions & { readonly bytes?: number } = {}): Promise<GoodwareStringDb> {
  const db = new GoodwareStringDb(options.bytes === undefined ? {} : { bytes: options.bytes });
  for await (const file of files) db.addFile(file, options);
  return db;
}

export interface StringRuleSample {
  readonly sha256: string;
  readonly bytes: Uint8Array;
}

export interface ScoredString {
  readonly value: TaggedString;
  readonly score: number;
  readonly atomQuality: number;
  /** Samples containing it. */
  readonly samples: number;
}

export interface GenerateStringRulesOptions {
  /** Rule name stem. */
  readonly name: string;
  /** Strings per rule; default 20 (yarGen's default). */
  readonly maxStrings?: number;
  /** Candidate strings kept in memory across all samples; default 200,000. */
  readonly maxCandidates?: number;
  /** Strings with a weaker best atom than this are dropped; default 60 (YARA warns below about 38). */
  readonly minAtomQuality?: number;
  readonly extract?: ExtractStringsOptions;
  readonly author?: string;
  readonly date?: string;
}

export interface StringRule {
  readonly name: string;
  readonly source: string;
  readonly strings: readonly ScoredString[];
  /** How many of the strings must match: the most every sample still satisfies. */
  readonly threshold: number;
}

const INTERESTING: readonly [RegExp, number][] = [
  [/[a-z]:\\|\\\\|%[a-z]+%/i, 3], // paths, UNC, environment variables
  [/https?:\/\/|\b(?:\d{1,3}\.){3}\d{1,3}\b/i, 4], // URLs, IPs
  [/\.(?:exe|dll|sys|bat|ps1|vbs|pdb|dat|bin|tmp)\b/i, 3],
  [/\b(?:password|inject|shellcode|payload|beacon|mimikatz|cmd\.exe|powershell|reflective)/i, 4],
  [/%[sdx]|\{\d\}/, 1], // format strings
  [/(.)\1{3,}/, -4], // repeated characters
  [/^[A-Za-z]+$/, -1], // a bare word is often an API or a common English word
];

/** Heuristic score: atom quality, sample coverage, content (paths, URLs, IPs) and length. */
function scoreString(value: TaggedString, quality: number, coverage: number): number {
  const text = value.slice(2);
  let score = quality / 10 + coverage * 6 + Math.min(text.length, 40) / 10;
  for (const [pattern, weight] of INTERESTING) if (pattern.test(text)) score += weight;
  return Math.round(score * 100) / 100;
}

/**
 * One rule for a set of samples: the best-scoring strings absent from the goodware set, preferring strings
 * shared by many samples, with `K of them` where K is the largest threshold every sample meets, behind a
 * cheap magic/filesize gate (yarGen's `filesize < max x 3`).
 */
export function generateStringRules(samples: readonly StringRuleSample[], goodware: GoodwareStringDb, options: GenerateStringRulesOptions): StringRule {
  if (samples.length === 0) throw new AppError('BAD_REQUEST', 'string rules need at least one sample');
  const maxStrings = options.maxStrings ?? 20;
  const maxCandidates = options.maxCandidates ?? 200_000;
  const minQuality = options.minAtomQuality ?? 60;
  const counts = new Map<TaggedString, number>();
  const perSample: Set<TaggedString>[] = [];
  for (const sample of samples) {
    const found = new Set<TaggedString>();
    for (const s of extractStrings(sample.bytes, options.extract)) {
      if (goodware.has(s)) continue;
      const seen = counts.get(s);
      if (seen === undefined && counts.size >= maxCandidates) continue;
      counts.set(s, (seen ?? 0) + 1);
      found.add(s);
    }
    perSample.push(found);
  }
  const scored: ScoredString[] = [];
  for (const [value, n] of counts) {
    const quality = bestAtomQuality(stringBytes(value));
    if (quality < minQuality) continue;
    scored.push({ value, score: scoreString(value, quality, n / samples.length), atomQuality: quality, samples: n });
  }
  scored.sort((a, b) => b.score - a.score || (a.value < b.value ? -1 : 1));
  // Make sure every sample contributes strings: take its best ones first, then fill by overall score.
  const chosen = new Map<TaggedString, ScoredString>();
  const byValue = new Map(scored.map((s) => [s.value, s]));
  const perSampleQuota = Math.max(1, Math.floor(maxStrings / samples.length));
  for (const found of perSample) {
    const best = [...found].map((v) => byValue.get(v)).filter((s): s is ScoredString => s !== undefined).sort((a, b) => b.score - a.score);
    for (const s of best.slice(0, perSampleQuota)) if (chosen.size < maxStrings) chosen.set(s.value, s);
  }
  for (const s of scored) {
    if (chosen.size >= maxStrings) break;
    chosen.set(s.value, s);
  }
  const strings = [...chosen.values()];
  if (strings.length === 0) throw new AppError('UNSUPPORTED_INPUT', 'no sample string survives the goodware set and the atom-quality floor');
  const hits = perSample.map((found) => strings.filter((s) => found.has(s.value)).length);
  const threshold = Math.max(1, Math.min(...hits, Math.ceil(strings.length / 2)));
  const allMz = samples.every((s) => s.bytes[0] === 0x4d && s.bytes[1] === 0x5a);
  const maxSize = Math.max(...samples.map((s) => s.bytes.length));
  const name = ruleIdentifier(`MALPIPE_Strings_${options.name}`);
  const condition: string[] = [];
  if (allMz) condition.push('uint16(0) == 0x5a4d');
  condition.push(`filesize < ${Math.ceil((maxSize * 3) / 1024)}KB`);
  condition.push(threshold >= strings.length ? 'all of them' : `${threshold} of them`);
  const source = renderRule({
    name,
    tags: ['generated'],
    meta: [
      ['description', `String rule generated from ${samples.length} samples minus a goodware string set`],
      ['author', options.author ?? 'malpipe yara-gen'],
      ['date', options.date ?? new Date().toISOString().slice(0, 10)],
      ['generator', GENERATOR],
      ['strategy', 'strings'],
      ...samples.map((s, i): [string, string] => [`hash${i + 1}`, s.sha256]),
    ],
    strings: strings.map((s, i) => `$s${i} = ${textString(new Uint8Array(Buffer.from(s.value.slice(2), 'latin1')))}${s.value.startsWith('w:') ? ' wide' : ' ascii'} // score ${s.score}, atom ${s.atomQuality}, in ${s.samples}/${samples.length}`),
    condition,
  });
  return { name, source, strings, threshold };
}
