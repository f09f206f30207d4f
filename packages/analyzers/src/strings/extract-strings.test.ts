import { describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, type AnalyzerContext, type SampleFacts } from '../analyzer.js';
import { extractStrings } from './extract-strings.js';
import { MAX_REPORTED_CHARS, MAX_REPORTED_STRINGS, stringsAnalyzer } from './strings-analyzer.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const utf16le = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) out[i * 2] = text.charCodeAt(i);
  return out;
};
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};
const zeros = (n: number): Uint8Array => new Uint8Array(n);
const bin = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

describe('extractStrings', () => {
  test('finds ASCII runs with their offsets, skipping runs below the minimum length', () => {
    const bytes = concat(bin(0x01, 0x02), ascii('hello world'), bin(0xff), ascii('abc'), zeros(1), ascii('tab\there'));
    const { strings, counts } = extractStrings(bytes, { encodings: ['ascii'] });
    expect(strings).toEqual([
      { offset: 2, encoding: 'ascii', value: 'hello world' },
      { offset: 18, encoding: 'ascii', value: 'tab\there' },
    ]);
    expect(counts).toEqual({ ascii: 2, utf16le: 0 });
  });

  test('honours a configurable minimum length', () => {
    const bytes = concat(ascii('abc'), zeros(1), ascii('abcdefgh'));
    expect(extractStrings(bytes, { minLength: 3 }).strings.map((s) => s.value)).toEqual(['abc', 'abcdefgh']);
    expect(extractStrings(bytes, { minLength: 8 }).strings.map((s) => s.value)).toEqual(['abcdefgh']);
  });

  test('finds UTF-16LE runs at even and odd offsets, and not their bytes as ASCII', () => {
    const bytes = concat(bin(0x90), utf16le('kernel32.dll'), zeros(2), utf16le('Hi'), bin(0x90, 0x90), utf16le('cmd.exe /c'));
    const { strings, counts } = extractStrings(bytes);
    expect(strings).toEqual([
      { offset: 1, encoding: 'utf16le', value: 'kernel32.dll' },
      { offset: 33, encoding: 'utf16le', value: 'cmd.exe /c' },
    ]);
    expect(counts).toEqual({ ascii: 0, utf16le: 2 });
  });

  test('a UTF-16 run that reaches the end of the buffer (with or without a dangling byte) is kept', () => {
    expect(extractStrings(concat(bin(0xff), utf16le('abcd'))).strings).toEqual([
      { offset: 1, encoding: 'utf16le', value: 'abcd' },
    ]);
    expect(extractStrings(concat(utf16le('abcd'), bin(0x41))).strings).toEqual([
      { offset: 0, encoding: 'utf16le', value: 'abcd' },
    ]);
  });

  test('merges both encodings in offset order', () => {
    const bytes = concat(ascii('first string'), zeros(3), utf16le('second'), zeros(2), ascii('third one'));
    expect(extractStrings(bytes).strings.map((s) => [s.encoding, s.value])).toEqual([
      ['ascii', 'first string'],
      ['utf16le', 'second'],
      ['ascii', 'third one'],
    ]);
  });

  test('truncates very long runs to maxLength and flags them, counting each run once', () => {
    const bytes = concat(ascii('A'.repeat(10_000)), bin(0xff, 0xff), utf16le('B'.repeat(5000)));
    const { strings, counts } = extractStrings(bytes, { maxLength: 100 });
    expect(strings).toEqual([
      { offset: 0, encoding: 'ascii', value: 'A'.repeat(100), truncated: true },
      { offset: 10_002, encoding: 'utf16le', value: 'B'.repeat(100), truncated: true },
    ]);
    expect(counts).toEqual({ ascii: 1, utf16le: 1 });
  });

  test('keeps at most maxStrings but counts every run', () => {
    const bytes = ascii(Array.from({ length: 50 }, (_, i) => `string-${i}`).join('\n'));
    const result = extractStrings(bytes, { maxStrings: 10 });
    expect(result.strings).toHaveLength(10);
    expect(result.strings[9]?.value).toBe('string-9');
    expect(result.counts.ascii).toBe(50);
    expect(result.truncated).toBe(true);
  });

  test('a filter decides which runs are kept and counted', () => {
    const bytes = ascii('alpha\nbeta.dll\ngamma\ndelta.exe\n');
    const result = extractStrings(bytes, { filter: (value) => value.includes('.') });
    expect(result.strings.map((s) => s.value)).toEqual(['beta.dll', 'delta.exe']);
    expect(result.counts.ascii).toBe(2);
    expect(result.truncated).toBe(false);
  });

  test('handles empty and tiny buffers', () => {
    expect(extractStrings(new Uint8Array(0)).strings).toEqual([]);
    expect(extractStrings(bin(0x41)).strings).toEqual([]);
    expect(extractStrings(bin(0x41, 0x00)).strings).toEqual([]);
  });

  test('agrees with a naive per-character reference on random data', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 16;
    };
    // Biased toward printable bytes and zeros so that both encodings produce many runs.
    const bytes = Uint8Array.from({ length: 20_000 }, () => {
      const r = random() % 4;
      return r === 0 ? 0 : r === 1 ? 0x80 + (random() % 128) : 0x20 + (random() % 95);
    });
    const naiveAscii: string[] = [];
    let run = '';
    for (const byte of [...bytes, 0]) {
      if ((byte >= 0x20 && byte <= 0x7e) || byte === 9) run += String.fromCharCode(byte);
      else {
        if (run.length >= 4) naiveAscii.push(run);
        run = '';
      }
    }
    const naiveUtf16: string[] = [];
    for (const parity of [0, 1]) {
      run = '';
      for (let i = parity; i + 1 < bytes.length + 2; i += 2) {
        const lo = bytes[i];
        const hi = bytes[i + 1];
        if (lo !== undefined && hi === 0 && ((lo >= 0x20 && lo <= 0x7e) || lo === 9)) run += String.fromCharCode(lo);
        else {
          if (run.length >= 4) naiveUtf16.push(run);
          run = '';
        }
      }
    }
    const result = extractStrings(bytes, { maxStrings: 1_000_000 });
    expect(result.strings.filter((s) => s.encoding === 'ascii').map((s) => s.value)).toEqual(naiveAscii);
    expect(result.strings.filter((s) => s.encoding === 'utf16le').map((s) => s.value).sort()).toEqual(naiveUtf16.sort());
    expect(naiveAscii.length).toBeGreaterThan(100);
  });
});

const facts = (kind: SampleFacts['fileType']['kind'], size: number): SampleFacts => ({
  sha256: '0'.repeat(64),
  size,
  fileType: { kind, format: 'unknown', mime: 'application/octet-stream', description: '', traits: [] },
  fileNames: [],
  depth: 0,
});
const context: AnalyzerContext = { limits: DEFAULT_LIMITS, archivePasswords: ['infected'] };

describe('stringsAnalyzer', () => {
  test('runs on everything but text', () => {
    expect(stringsAnalyzer.accepts(facts('executable', 1))).toBe(true);
    expect(stringsAnalyzer.accepts(facts('data', 1))).toBe(true);
    expect(stringsAnalyzer.accepts(facts('text', 1))).toBe(false);
  });

  test('reports counts per encoding and the first strings', async () => {
    const bytes = concat(ascii('This program cannot be run in DOS mode.'), zeros(4), utf16le('C:\\Windows\\evil.exe'));
    const { result } = await stringsAnalyzer.analyze(bytes, facts('executable', bytes.length), context);
    expect(result.counts).toEqual({ ascii: 1, utf16le: 1 });
    expect(result.total).toBe(2);
    expect(result.strings.map((s) => s.value)).toEqual(['This program cannot be run in DOS mode.', 'C:\\Windows\\evil.exe']);
    expect(result.truncated).toBe(false);
  });

  test('keeps a result row well under 1 MB on a sample made of long strings', async () => {
    // 4000 strings of 2000 characters: 8 MB of text.
    const bytes = ascii(Array.from({ length: 4000 }, (_, i) => `${i}`.padEnd(2000, '"')).join('\n'));
    const { result } = await stringsAnalyzer.analyze(bytes, facts('data', bytes.length), context);
    const json = JSON.stringify(result);
    expect(json.length).toBeLessThan(1024 * 1024);
    expect(result.strings.length).toBeLessThanOrEqual(MAX_REPORTED_STRINGS);
    expect(result.strings.reduce((n, s) => n + s.value.length, 0)).toBeLessThanOrEqual(MAX_REPORTED_CHARS);
    expect(result.total).toBe(4000);
    expect(result.truncated).toBe(true);
  });
});
