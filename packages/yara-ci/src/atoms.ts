import { textBytes, type ParsedString } from './parse-rules.js';

/**
 * What the engines can use as an atom (<= 4 fixed bytes searched with Aho-Corasick before verifying the
 * whole pattern). Short atoms, or atoms made of common bytes (00 20 90 CC FF), make the engine verify at
 * most offsets of most files (YARA 4.2.3 atoms.c; YARA-X `slow_pattern`).
 */
export const COMMON_BYTES: ReadonlySet<number> = new Set([0x00, 0x20, 0x90, 0xcc, 0xff]);

export interface AtomEstimate {
  /** The longest run of fixed bytes every match must contain (for alternations: the weakest branch). */
  readonly run: readonly number[];
  /** Bytes outside COMMON_BYTES in the best 4-byte window of `run` (1 for a window of one repeated byte). */
  readonly usefulBytes: number;
}

function usefulIn(bytes: readonly number[]): number {
  // A window of one repeated byte is one byte's worth of information, however long.
  if (new Set(bytes).size === 1) return COMMON_BYTES.has(bytes[0] ?? 0) ? 0 : 1;
  return bytes.filter((b) => !COMMON_BYTES.has(b)).length;
}

function estimate(runs: readonly (readonly number[])[]): AtomEstimate {
  let best: AtomEstimate = { run: [], usefulBytes: 0 };
  for (const run of runs) {
    let useful = 0;
    for (let i = 0; i + Math.min(4, run.length) <= run.length; i += 1) {
      useful = Math.max(useful, usefulIn(run.slice(i, i + 4)));
    }
    if (useful > best.usefulBytes || (useful === best.usefulBytes && run.length > best.run.length)) {
      best = { run, usefulBytes: useful };
    }
  }
  return best;
}

function weakest(branches: readonly AtomEstimate[]): AtomEstimate {
  return branches.reduce((a, b) => (b.usefulBytes < a.usefulBytes ? b : a));
}

function hexRuns(raw: string): AtomEstimate {
  const text = raw.replace(/\s+/g, '');
  const runs: number[][] = [];
  let current: number[] = [];
  let depth = 0;
  const flush = (): void => {
    if (current.length > 0) runs.push(current);
    current = [];
  };
  for (let i = 0; i < text.length; ) {
    const ch = text[i] ?? '';
    if (ch === '[') {
      flush();
      i = text.indexOf(']', i) + 1 || text.length;
    } else if (ch === '(' || ch === '|' || ch === ')') {
      flush();
      depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
      i += 1;
    } else if (ch === '~') {
      flush();
      i += 3;
    } else {
      const pair = text.slice(i, i + 2);
      if (/^[0-9A-Fa-f]{2}$/.test(pair) && depth === 0) current.push(Number.parseInt(pair, 16));
      else flush();
      i += 2;
    }
  }
  flush();
  return estimate(runs);
}

function splitTopLevel(raw: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inClass = false;
  let start = 0;
  for (let i = 0; i < raw.length; i += 1) {
    const ch = raw[i];
    if (ch === '\\') i += 1;
    else if (inClass) inClass = ch !== ']';
    else if (ch === '[') inClass = true;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (ch === '|' && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  return parts;
}

function regexRuns(raw: string): AtomEstimate {
  const branches = splitTopLevel(raw);
  if (branches.length > 1) return weakest(branches.map(regexRuns));
  const runs: number[][] = [];
  let current: number[] = [];
  const flush = (): void => {
    if (current.length > 0) runs.push(current);
    current = [];
  };
  for (let i = 0; i < raw.length; ) {
    const ch = raw[i] ?? '';
    let literal: number | null = null;
    let width = 1;
    if (ch === '\\') {
      const next = raw[i + 1] ?? '';
      width = 2;
      if (next === 'x') {
        literal = Number.parseInt(raw.slice(i + 2, i + 4), 16);
        width = 4;
      } else if (next === 'n') literal = 0x0a;
      else if (next === 't') literal = 0x09;
      else if (next === 'r') literal = 0x0d;
      else if (!/[dswbDSWB]/.test(next)) literal = next.charCodeAt(0) & 0xff;
    } else if (ch === '[') {
      let j = i + 1;
      if (raw[j] === ']') j += 1;
      while (j < raw.length && raw[j] !== ']') j += raw[j] === '\\' ? 2 : 1;
      width = j + 1 - i;
    } else if (!'.()|^$*+?{}'.includes(ch)) {
      literal = ch.charCodeAt(0) & 0xff;
    }
    i += width;
    // A following quantifier decides whether this atom is required and whether the run continues.
    const quantifier = /^(\*|\+|\?|\{(\d*)(,?)(\d*)\})\??/.exec(raw.slice(i));
    if (quantifier !== null) {
      const min = quantifier[1] === '+' ? 1 : quantifier[1]?.startsWith('{') ? Number(quantifier[2] || '0') : 0;
      if (literal !== null && min >= 1) current.push(literal);
      flush();
      i += quantifier[0].length;
      continue;
    }
    if (literal === null) flush();
    else current.push(literal);
  }
  flush();
  return estimate(runs);
}

/** Estimates the best atom a string gives the engines. */
export function estimateAtom(string: ParsedString): AtomEstimate {
  if (string.kind === 'hex') return hexRuns(string.raw);
  if (string.kind === 'regex') return regexRuns(string.raw);
  const bytes = textBytes(string.raw);
  // nocase folds letters: only non-letters and the letter's identity (not case) stay distinctive.
  const folded = string.modifiers.includes('nocase') ? bytes.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b)) : bytes;
  return estimate([folded]);
}

/** Regex parts with no upper bound on a dot (`.*`, `.+`, `.{n,}`): YARA 4 warns, the scan may run to the end of the file. */
export function hasUnboundedDot(raw: string): boolean {
  return /(^|[^\\])\.(\*|\+|\{\d*,\})/.test(raw);
}

/**
 * Unbounded repetition of a broad class (`[^a]*`, `[A-Za-z]+`, `\\w+`, `\\S*`, `x{4,}`): as slow as `.*` but YARA
 * does not warn (panopticon's README). `\\s+` and `\\d+` between literals are left alone: their runs are short.
 */
export function hasUnboundedRepeat(raw: string): boolean {
  return /(\]|\\[wWSD])(\*|\+)|\{\d+,\}/.test(raw);
}
