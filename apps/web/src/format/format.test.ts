import { describe, expect, it } from 'vitest';
import {
  durationBetween,
  entropyFraction,
  entropyLevel,
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  formatHex,
  formatRelative,
  shortHash,
} from './format.js';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024 + 300 * 1024, '10.3 MiB'],
    [3 * 1024 ** 3, '3.0 GiB'],
    [5 * 1024 ** 5, '5120.0 TiB'],
  ])('%d bytes -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
  it('refuses nonsense', () => {
    expect(formatBytes(-1)).toBe('?');
    expect(formatBytes(Number.NaN)).toBe('?');
  });
});

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1,000'],
    [1234567, '1,234,567'],
    [-4200, '-4,200'],
    [1234.5, '1,234.5'],
  ])('%d -> %s', (value, text) => {
    expect(formatCount(value)).toBe(text);
  });
});

describe('formatDate', () => {
  it('prints UTC to the second whatever the offset of the input', () => {
    expect(formatDate('2026-11-27T18:59:20.123Z')).toBe('2026-11-27 18:59:20 UTC');
    expect(formatDate('2026-11-27T20:59:20+02:00')).toBe('2026-11-27 18:59:20 UTC');
  });
  it('keeps what it cannot parse and dashes what is missing', () => {
    expect(formatDate('yesterday')).toBe('yesterday');
    expect(formatDate(null)).toBe('—');
    expect(formatDate('')).toBe('—');
  });
});

describe('formatRelative', () => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  it.each([
    ['2026-11-27T12:00:00Z', 'just now'],
    ['2026-11-27T11:59:30Z', '30 s ago'],
    ['2026-11-27T11:57:00Z', '3 min ago'],
    ['2026-11-27T09:00:00Z', '3 h ago'],
    ['2026-11-23T12:00:00Z', '4 d ago'],
    ['2026-11-27T12:10:00Z', 'in 10 min'],
    ['2026-01-02T00:00:00Z', '2026-01-02'],
  ])('%s -> %s', (iso, text) => {
    expect(formatRelative(iso, now)).toBe(text);
  });
});

describe('formatDuration and durationBetween', () => {
  it('formats milliseconds, seconds and minutes', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_400)).toBe('12.4 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(120_000)).toBe('2 min');
  });
  it('measures between timestamps, null when one is missing', () => {
    expect(durationBetween('2026-11-27T12:00:00Z', '2026-11-27T12:00:01.500Z')).toBe(1500);
    expect(durationBetween(null, '2026-11-27T12:00:00Z')).toBeNull();
    expect(durationBetween('x', '2026-11-27T12:00:00Z')).toBeNull();
  });
});

describe('shortHash and formatHex', () => {
  it('shortens long hashes only', () => {
    expect(shortHash('a'.repeat(64))).toBe(`${'a'.repeat(12)}…`);
    expect(shortHash('abc')).toBe('abc');
  });
  it('prints hex with padding', () => {
    expect(formatHex(4096)).toBe('0x1000');
    expect(formatHex(0x1f, 4)).toBe('0x001f');
    expect(formatHex(-1)).toBe('-1');
  });
});

describe('entropy', () => {
  it('maps bits per byte to a bar fraction and a level', () => {
    expect(entropyFraction(4)).toBe(0.5);
    expect(entropyFraction(9)).toBe(1);
    expect(entropyFraction(null)).toBe(0);
    expect(entropyLevel(7.9)).toBe('packed');
    expect(entropyLevel(6.6)).toBe('high');
    expect(entropyLevel(5)).toBe('normal');
    expect(entropyLevel(0)).toBe('low');
    expect(entropyLevel(null)).toBe('none');
  });
});
