import type { FileFormat, FileKind } from '@malpipe/core';
import { describe, expect, test } from 'vitest';
import { pseudoRandomBytes } from '@malpipe/analyzers/test/builders/pseudo-random';
import { DEFAULT_LIMITS, type AnalyzerContext, type SampleFacts } from '../analyzer.js';
import { decodeText, iocAnalyzer } from './ioc-analyzer.js';

const facts = (kind: FileKind, size: number, format: FileFormat = 'unknown'): SampleFacts => ({
  sha256: '0'.repeat(64),
  size,
  fileType: { kind, format, mime: 'application/octet-stream', description: '', traits: [] },
  fileNames: [],
  depth: 0,
});
const context = (overrides: Partial<AnalyzerContext['limits']> = {}): AnalyzerContext => ({
  limits: { ...DEFAULT_LIMITS, ...overrides },
  archivePasswords: ['infected'],
});
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const utf16le = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    out[i * 2] = text.charCodeAt(i) & 0xff;
    out[i * 2 + 1] = text.charCodeAt(i) >> 8;
  }
  return out;
};
const utf16be = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    out[i * 2] = text.charCodeAt(i) >> 8;
    out[i * 2 + 1] = text.charCodeAt(i) & 0xff;
  }
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
const randomBytes = (size: number, seed = 0x2545f491): Uint8Array => pseudoRandomBytes(size, seed);

const REPORT = 'C2: hxxps://evil[.]com/gate.php (also 203.0.113.7:8443), drop kernel32.dll; admin[@]evil[.]ru';

describe('iocAnalyzer on text', () => {
  test('refangs and extracts, with snippets as context and counts per type', async () => {
    const bytes = utf8(REPORT);
    const output = await iocAnalyzer.analyze(bytes, facts('text', bytes.length, 'text'), context());
    expect(output.result).toEqual({
      source: 'text',
      encoding: 'utf-8',
      counts: { url: 1, domain: 2, email: 1, ipv4: 1, 'ip-port': 1 },
      total: 6,
      truncated: false,
    });
    const url = output.indicators?.find((i) => i.type === 'url');
    expect(url?.value).toBe('https://evil.com/gate.php');
    expect(url?.context).toContain('C2: https://evil.com/gate.php (also');
    expect(output.indicators?.find((i) => i.type === 'ipv4')?.flags).toEqual(['reserved']);
  });

  test.each([
    ['UTF-8 with BOM', concat(Uint8Array.of(0xef, 0xbb, 0xbf), utf8(REPORT)), 'utf-8'],
    ['UTF-16LE with BOM', concat(Uint8Array.of(0xff, 0xfe), utf16le(REPORT)), 'utf-16le'],
    ['UTF-16BE with BOM', concat(Uint8Array.of(0xfe, 0xff), utf16be(REPORT)), 'utf-16be'],
    ['UTF-16LE without BOM', utf16le(REPORT), 'utf-16le'],
  ])('decodes %s', async (_name, bytes, encoding) => {
    expect(decodeText(bytes).encoding).toBe(encoding);
    const output = await iocAnalyzer.analyze(bytes, facts('script', bytes.length, 'powershell'), context());
    expect(output.result.encoding).toBe(encoding);
    expect(output.indicators?.map((i) => i.value)).toContain('https://evil.com/gate.php');
  });

  test('decodes full-width Japanese report text', async () => {
    const bytes = utf8('C2サーバは（ｈｔｔｐ：／／ｅｖｉｌ．ｃｏｍ／ａ）です。');
    const output = await iocAnalyzer.analyze(bytes, facts('text', bytes.length, 'text'), context());
    expect(output.indicators?.map((i) => `${i.type}:${i.value}`)).toEqual(['url:http://evil.com/a', 'domain:evil.com']);
  });

  test('stops at maxIndicators and says so', async () => {
    const bytes = utf8(Array.from({ length: 50 }, (_, i) => `host${i}.evil.com`).join('\n'));
    const output = await iocAnalyzer.analyze(bytes, facts('text', bytes.length, 'text'), context({ maxIndicators: 7 }));
    expect(output.indicators).toHaveLength(7);
    expect(output.result.truncated).toBe(true);
  });
});

describe('iocAnalyzer on binaries', () => {
  test('extracts from ASCII and UTF-16 strings, naming each string as context', async () => {
    const bytes = concat(
      Uint8Array.of(0x4d, 0x5a, 0x90, 0x00),
      utf8('GetProcAddress\0http://evil.com/beacon.bin\0'),
      new Uint8Array(7),
      utf16le('hxxp://c2[.]evil[.]net:8080/submit.php'),
      new Uint8Array(2),
      utf16le('FileVersion'),
      new Uint8Array(4),
      utf16le('6.1.7601.1'),
      new Uint8Array(4),
      utf8('5d41402abc4b2a76b9719d911017c592'),
    );
    const output = await iocAnalyzer.analyze(bytes, facts('executable', bytes.length, 'pe32'), context());
    expect(output.result.source).toBe('strings');
    const shown = output.indicators?.map((i) => `${i.type}:${i.value} @ ${i.context ?? ''}`);
    const asciiUrl = 4 + 'GetProcAddress\0'.length;
    const utf16Url = 4 + 'GetProcAddress\0http://evil.com/beacon.bin\0'.length + 7;
    const md5 = bytes.length - 32;
    expect(shown).toEqual([
      `url:http://evil.com/beacon.bin @ ascii@0x${asciiUrl.toString(16)}`,
      `url:http://c2.evil.net:8080/submit.php @ utf16le@0x${utf16Url.toString(16)}`,
      `domain:evil.com @ ascii@0x${asciiUrl.toString(16)}`,
      `domain:c2.evil.net @ utf16le@0x${utf16Url.toString(16)}`,
      `md5:5d41402abc4b2a76b9719d911017c592 @ ascii@0x${md5.toString(16)}`,
    ]);
    // "6.1.7601.1" is not even an IP; make sure the version rule spans strings too.
    const versioned = concat(utf16le('FileVersion'), new Uint8Array(4), utf16le('10.0.19.41'));
    const second = await iocAnalyzer.analyze(versioned, facts('executable', versioned.length, 'pe32'), context());
    expect(second.indicators).toEqual([]);
  });

  test('20 MB of random data completes with bounded output, as binary and as text', async () => {
    const bytes = randomBytes(20 * 1024 * 1024);
    for (const kind of ['data', 'text'] as const) {
      const output = await iocAnalyzer.analyze(bytes, facts(kind, bytes.length), context({ maxIndicators: 500 }));
      expect(output.indicators?.length ?? 0).toBeLessThanOrEqual(500);
      expect(JSON.stringify(output).length).toBeLessThan(256 * 1024);
      expect(output.result.truncated).toBe(true);
      expect(output.warnings?.length).toBe(1);
    }
  });
});
