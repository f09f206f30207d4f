import type { Indicator, IndicatorType } from '@malpipe/core';
import { DEFAULT_LIMITS } from '../analyzer.js';
import { IndicatorSink } from './indicator-sink.js';
import { refang } from './refang.js';

const HASH_TYPES: Readonly<Record<number, IndicatorType>> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };

/** Exactly 32, 40, 64 or 128 hex digits (MD5, SHA-1, SHA-256, SHA-512). */
export function isHash(value: string): boolean {
  return HASH_TYPES[value.length] !== undefined && /^[0-9A-Fa-f]+$/.test(value);
}

/** Digests of the empty input: they turn up everywhere and identify nothing. */
const EMPTY_INPUT_DIGESTS = new Set([
  'd41d8cd98f00b204e9800998ecf8427e',
  'da39a3ee5e6b4b0d3255bfef95601890afd80709',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
]);

// A maximal hex run: a digest inside a longer run of hex is not a digest (it is a key, a blob, a dump).
const HEX_RUN = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}/g;
/** Words that make a 32-hex run a GUID written without dashes (`CLSID 000214...`). */
const GUID_CONTEXT = /(?:guid|uuid|clsid|iid|appid|typelib|libid)\W{0,3}$/i;
/** Words that make a 40-hex run a git object name. */
const GIT_CONTEXT = /(?:commit|\/commits?\/|\btree|\bparent|\bgit\b[^\n]{0,20})\W{0,3}$/i;

/**
 * Finds digests in already-refanged text and hands each to `emit`. Refused: runs of other lengths, GUIDs
 * (braced `{32 hex}` or after guid/clsid/uuid...), git object names (after commit/tree/parent), empty-input
 * digests, all-digit or all-letter runs and runs with fewer than 5 distinct digits (padding, constants).
 */
export function scanHashes(text: string, sink: IndicatorSink): void {
  for (const match of text.matchAll(HEX_RUN)) {
    if (sink.full) return;
    const run = match[0];
    const type = HASH_TYPES[run.length];
    if (type === undefined) continue;
    const index = match.index;
    const value = run.toLowerCase();
    if (EMPTY_INPUT_DIGESTS.has(value) || /^[0-9]+$/.test(value) || /^[a-f]+$/.test(value)) continue;
    if (new Set(value).size < 5) continue;
    const before = text.slice(Math.max(0, index - 24), index);
    if (type === 'md5' && (GUID_CONTEXT.test(before) || (before.endsWith('{') && text[index + run.length] === '}'))) {
      continue;
    }
    if (type === 'sha1' && GIT_CONTEXT.test(before)) continue;
    sink.add(type, value, index, run.length);
  }
}

export interface ExtractHashesOptions {
  /** Default DEFAULT_LIMITS.maxIndicators. */
  readonly maxIndicators?: number;
}

/**
 * MD5, SHA-1, SHA-256 and SHA-512 digests in `text` after refanging, lower-cased and deduplicated; for the
 * hash gateway and the browser extension, which look up digests only.
 */
export function extractHashes(text: string, options: ExtractHashesOptions = {}): Indicator[] {
  const sink = new IndicatorSink({
    maxIndicators: options.maxIndicators ?? DEFAULT_LIMITS.maxIndicators,
    dropReserved: false,
  });
  scanHashes(refang(text), sink);
  return sink.indicators;
}
