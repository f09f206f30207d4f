import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileFormat } from '@malpipe/core';
import { DEFAULT_LIMITS, type AnalyzerContext, type SampleFacts } from '../analyzer.js';
import { SECTION_CODE, buildPe } from '../../test/builders/build-pe.js';
import { peAnalyzer } from './pe-analyzer.js';
import type { PeInfo } from './pe-types.js';
import { parsePe } from './parse-pe.js';

const context: AnalyzerContext = { limits: DEFAULT_LIMITS, archivePasswords: ['infected'] };
const facts = (format: FileFormat, size = 0): SampleFacts => ({
  sha256: '0'.repeat(64),
  size,
  fileType: {
    kind: 'executable',
    format,
    mime: 'application/vnd.microsoft.portable-executable',
    description: '',
    traits: [],
  },
  fileNames: [],
  depth: 0,
});

/** Only plain JSON values: no bigint, no typed arrays, no undefined, no functions (plain checks: this runs thousands of times). */
function assertPlainJson(value: unknown, path = 'result'): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertPlainJson(item, `${path}[${i}]`));
    return;
  }
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    throw new Error(`${path} is not plain JSON`);
  for (const [key, item] of Object.entries(value as object)) assertPlainJson(item, `${path}.${key}`);
}

const rich = { entries: [{ productId: 0x104, build: 30795, count: 9 }] };
const FULL_PE = buildPe({
  format: 'pe32',
  dll: true,
  imports: [
    { dll: 'KERNEL32.dll', functions: ['ExitProcess', 'VirtualAlloc'] },
    { dll: 'WS2_32.dll', functions: [4] },
  ],
  delayImports: [{ dll: 'USER32.dll', functions: ['MessageBoxA'] }],
  exports: { dllName: 'full.dll', functions: [{ name: 'Start' }, { name: 'Fwd', forwarder: 'A.B' }] },
  richHeader: rich,
  versionInfo: { strings: { CompanyName: 'ACME', OriginalFilename: 'full.dll' } },
  resources: [{ type: 10, name: 1, language: 0x409, data: new Uint8Array(64).fill(7) }],
  codeView: { pdbPath: 'C:\\x\\full.pdb' },
  tlsCallbacks: [0x1000],
  clr: { runtimeVersion: 'v2.0.50727' },
  overlay: new Uint8Array(300).fill(0x90),
  certificate: new Uint8Array(64).fill(1),
});

/** File offset of an RVA in a parsed PE (test helper; the parser's own mapping is internal). */
function offsetOf(info: PeInfo, rva: number): number {
  const section = info.sections.find(
    (s) => rva >= s.virtualAddress && rva < s.virtualAddress + Math.max(s.virtualSize, s.rawSize),
  );
  if (section === undefined) throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
  return rva - section.virtualAddress + section.rawOffset;
}

function patch32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value >>> 0, true);
  return copy;
}

const directoryRva = (info: PeInfo, name: string): number =>
  info.dataDirectories.find((d) => d.name === name)!.virtualAddress;

async function analyzeSafely(bytes: Uint8Array): Promise<PeInfo> {
  const started = performance.now();
  const output = await peAnalyzer.analyze(bytes, facts('pe32', bytes.length), context);
  expect(performance.now() - started).toBeLessThan(1000);
  expect(output.warnings).toBe(output.result.warnings);
  return output.result;
}

describe('peAnalyzer', () => {
  it('accepts PE formats only', () => {
    expect(peAnalyzer.name).toBe('pe');
    for (const format of ['pe32', 'pe32+', 'dotnet'] as const)
      expect(peAnalyzer.accepts(facts(format))).toBe(true);
    for (const format of ['elf64', 'zip', 'unknown'] as const)
      expect(peAnalyzer.accepts(facts(format))).toBe(false);
  });

  it('returns the PeInfo as plain JSON, the imphash at result.imphash, and tags', async () => {
    const output = await peAnalyzer.analyze(FULL_PE, facts('dotnet', FULL_PE.length), context);
    assertPlainJson(output.result);
    expect(JSON.parse(JSON.stringify(output.result))).toEqual(output.result);
    expect(output.result.imphash).toBe(parsePe(FULL_PE).imphash);
    expect(output.result.imphash).toMatch(/^[0-9a-f]{32}$/);
    expect([...(output.tags ?? [])].sort()).toEqual(['dll', 'dotnet', 'overlay', 'signed', 'tls-callbacks']);
    expect(output.warnings).toEqual([]);

    const random = new Uint8Array(0x4000).map((_, i) => (i * 2654435761) >>> 24);
    const packed = await peAnalyzer.analyze(
      buildPe({
        sections: [
          { name: 'UPX0', data: new Uint8Array(0), virtualSize: 0x4000 },
          { name: 'UPX1', data: random, characteristics: SECTION_CODE },
        ],
      }),
      facts('pe32'),
      context,
    );
    expect(packed.tags).toEqual(expect.arrayContaining(['upx', 'high-entropy']));
    expect(packed.tags).not.toContain('signed');
  });

  it('survives truncation at every byte of a full-featured PE', async () => {
    const boundaries = new Set<number>();
    for (let length = 0; length < FULL_PE.length; length++) {
      const info = await analyzeSafely(FULL_PE.subarray(0, length));
      if (info.warnings.length > 0 || info.anomalies.length > 0) boundaries.add(length);
    }
    // Every cut inside the headers or sections is reported somehow (warnings or anomalies).
    const sizeOfHeaders = parsePe(FULL_PE).optionalHeader!.sizeOfHeaders;
    for (let length = 0; length < sizeOfHeaders; length++)
      expect(boundaries.has(length), `cut at ${length}`).toBe(true);
  });

  it('reports garbage after valid MZ and PE signatures', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const bytes = new Uint8Array(4096).map((_, i) => (Math.imul(i + 1, 0x9e3779b1 + seed) >>> 13) & 0xff);
      bytes.set([0x4d, 0x5a]);
      new DataView(bytes.buffer).setUint32(0x3c, 0x80, true);
      bytes.set([0x50, 0x45, 0, 0], 0x80);
      const info = await analyzeSafely(bytes);
      expect(info.warnings.length + info.anomalies.length, `seed ${seed}`).toBeGreaterThan(0);
    }
    expect((await analyzeSafely(new Uint8Array([0x4d, 0x5a]))).warnings).toEqual([
      'file is too small for a DOS header',
    ]);
    expect((await analyzeSafely(new Uint8Array(100))).warnings).toEqual(['no MZ signature']);
  });

  it('bounds huge counts and refuses RVAs outside the file', async () => {
    const info = parsePe(FULL_PE);
    const peOffset = info.dosHeader!.peHeaderOffset;
    const sections = patch32(FULL_PE, peOffset + 4, 0xffff0000 | 0x14c); // NumberOfSections 0xffff
    expect((await analyzeSafely(sections)).warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^section table is truncated/)]),
    );

    const rvaCount = await analyzeSafely(patch32(FULL_PE, peOffset + 24 + 92, 0xffffffff));
    expect(rvaCount.anomalies).toContain('NumberOfRvaAndSizes is 4294967295 (more than 16)');
    expect(rvaCount.dataDirectories).toHaveLength(16);

    const exportsAt = offsetOf(info, directoryRva(info, 'EXPORT'));
    const manyExports = await analyzeSafely(
      patch32(patch32(FULL_PE, exportsAt + 20, 0xffffffff), exportsAt + 24, 0xffffffff),
    );
    expect(manyExports.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/claims 4294967295 functions/)]),
    );

    const importDirectory = peOffset + 24 + 96 + 8;
    const farImports = await analyzeSafely(patch32(FULL_PE, importDirectory, 0x7ffffff0));
    expect(farImports.imports).toEqual([]);
    expect(farImports.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/import directory runs out of the file/)]),
    );

    const resourcesAt = offsetOf(info, directoryRva(info, 'RESOURCE'));
    const loop = await analyzeSafely(patch32(FULL_PE, resourcesAt + 16 + 4, 0x80000000)); // first type -> root
    expect(loop.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/referenced twice \(loop\)/)]),
    );

    const debugAt = peOffset + 24 + 96 + 6 * 8;
    const manyDebug = await analyzeSafely(patch32(FULL_PE, debugAt + 4, 0xffffffff));
    expect(manyDebug.debug.length).toBeLessThanOrEqual(64);
  });

  it('stops an import name table that never terminates', async () => {
    // .evil holds 64 KiB of thunks that all name the first hint/name entry at the start of .rdata (RVA 0x12000).
    const thunks = new Uint8Array(0x10000);
    for (let i = 0; i < thunks.length; i += 4) new DataView(thunks.buffer).setUint32(i, 0x12000, true);
    const bytes = buildPe({
      sections: [
        { name: '.text', data: new Uint8Array([0xc3]) },
        { name: '.evil', data: thunks },
      ],
      imports: [{ dll: 'KERNEL32.dll', functions: ['Sleep'] }],
    });
    const info = parsePe(bytes);
    expect(info.sections[2]?.virtualAddress).toBe(0x12000);
    const descriptor = offsetOf(info, directoryRva(info, 'IMPORT'));
    const endless = await analyzeSafely(patch32(bytes, descriptor, 0x2000)); // OriginalFirstThunk -> .evil
    expect(endless.imports[0]!.functions).toHaveLength(0x2000);
    expect(endless.imports[0]!.functions[0]).toEqual({ name: 'Sleep', ordinal: null, hint: 0 });
    expect(endless.warnings).toEqual(
      expect.arrayContaining(['import table of KERNEL32.dll cut at 8192 symbols in total']),
    );
  });

  it('bounds the bytes hashed when thousands of sections overlap the whole file', async () => {
    const bytes = buildPe({ sections: [{ name: '.text', data: new Uint8Array(1 << 20).fill(0x5a) }] });
    const info = parsePe(bytes);
    const peOffset = info.dosHeader!.peHeaderOffset;
    const table = peOffset + 24 + 224;
    const header = bytes.slice(table, table + 40);
    const view = new DataView(bytes.buffer);
    view.setUint16(peOffset + 6, 2000, true); // NumberOfSections
    view.setUint16(peOffset + 20, info.sections[0]!.rawOffset - (peOffset + 24), true); // table moves into .text
    for (let i = 0; i < 2000; i++) bytes.set(header, info.sections[0]!.rawOffset + i * 40);
    const hostile = await analyzeSafely(bytes);
    expect(hostile.sections).toHaveLength(2000);
    expect(hostile.sections[0]!.entropy).not.toBeNull();
    expect(hostile.sections[1999]!.entropy).toBeNull();
    expect(hostile.sections[1999]!.md5).toBeNull();
    expect(hostile.warnings).toContain(
      'sections overlap too much: entropy and md5 of the remaining sections are skipped',
    );
  });

  it('never throws on thousands of random mutations of built PEs', async () => {
    const seeds = [
      FULL_PE,
      buildPe({
        format: 'pe32+',
        imports: [{ dll: 'a.dll', functions: ['b', 3] }],
        richHeader: rich,
        versionInfo: { strings: { A: 'b' } },
      }),
    ];
    const values = fc.constantFrom(
      0,
      1,
      0x7f,
      0xff,
      0xffff,
      0x7fffffff,
      0x80000000,
      0xffffffff,
      0x1000,
      0x2000,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat(seeds.length - 1),
        fc.array(
          fc.tuple(fc.oneof(fc.nat(0x3ff), fc.nat(0xfff)), fc.oneof(fc.nat(255), values), fc.boolean()),
          { minLength: 1, maxLength: 24 },
        ),
        fc.option(fc.nat(0x1000), { freq: 4 }),
        async (which, mutations, cut) => {
          const seed = seeds[which]!;
          const bytes = seed.slice(0, cut ?? seed.length);
          const view = new DataView(bytes.buffer);
          for (const [offset, value, wide] of mutations) {
            if (wide && offset + 4 <= bytes.length) view.setUint32(offset, value >>> 0, true);
            else if (offset < bytes.length) bytes[offset] = value & 0xff;
          }
          const info = await analyzeSafely(bytes);
          assertPlainJson(info);
        },
      ),
      { numRuns: 2500, seed: 20261127 },
    );
  });
});
