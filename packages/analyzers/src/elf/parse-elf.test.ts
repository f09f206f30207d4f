import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FileFormat } from '@malpipe/core';
import { DEFAULT_LIMITS, type AnalyzerContext, type SampleFacts } from '../analyzer.js';
import { buildElf } from '../../test/builders/build-elf.js';
import { elfAnalyzer } from './elf-analyzer.js';
import type { ElfInfo } from './elf-types.js';
import { parseElf } from './parse-elf.js';

const context: AnalyzerContext = { limits: DEFAULT_LIMITS, archivePasswords: ['infected'] };
const facts = (format: FileFormat): SampleFacts => ({
  sha256: '0'.repeat(64),
  size: 0,
  fileType: { kind: 'executable', format, mime: 'application/x-executable', description: '', traits: [] },
  fileNames: [],
  depth: 0,
});

async function analyzeSafely(bytes: Uint8Array): Promise<ElfInfo> {
  const started = performance.now();
  const output = await elfAnalyzer.analyze(bytes, facts('elf64'), context);
  if (performance.now() - started > 1000) throw new Error('ELF analysis took more than a second');
  JSON.stringify(output.result); // throws on bigint
  return output.result;
}

describe(parseElf.name, () => {
  it.each([
    ['elf64', 'little'],
    ['elf64', 'big'],
    ['elf32', 'little'],
    ['elf32', 'big'],
  ] as const)('reads a built %s %s-endian file', (elfClass, endianness) => {
    const buildId = Uint8Array.from({ length: 20 }, (_, i) => i * 11);
    const bytes = buildElf({
      class: elfClass,
      endianness,
      type: 'dyn',
      machine: 8,
      interpreter: '/lib/ld.so.1',
      needed: ['libc.so.6', 'libm.so.6'],
      soname: 'libdemo.so.1',
      rpath: '/opt/old',
      runpath: '$ORIGIN/../lib',
      buildId,
      symbols: 7,
      text: new Uint8Array([0x90, 0x90, 0xc3]),
    });
    const info = parseElf(bytes);
    expect(info.warnings).toEqual([]);
    expect(info.anomalies).toEqual([]);
    expect(info.class).toBe(elfClass);
    expect(info.endianness).toBe(endianness);
    expect(info.header).toMatchObject({
      type: 3,
      typeName: 'DYN',
      isPie: true,
      machine: 8,
      machineName: 'mips',
      version: 1,
      osAbiName: 'SYSV',
    });
    expect(info.interpreter).toBe('/lib/ld.so.1');
    expect(info.dynamic).toEqual({
      needed: ['libc.so.6', 'libm.so.6'],
      soname: 'libdemo.so.1',
      rpath: '/opt/old',
      runpath: '$ORIGIN/../lib',
      entryCount: 7,
    });
    expect(info.buildId).toBe(Buffer.from(buildId).toString('hex'));
    expect(info.symbols).toEqual({ static: 7, dynamic: 0 });
    expect(info.stripped).toBe(false);
    expect(info.sections.map((s) => s.name)).toEqual([
      '',
      '.interp',
      '.note.gnu.build-id',
      '.text',
      '.dynstr',
      '.dynamic',
      '.symtab',
      '.strtab',
      '.shstrtab',
    ]);
    expect(info.sections[3]).toMatchObject({ typeName: 'PROGBITS', flagLetters: 'AX', size: 3 });
    expect(info.programHeaders.map((p) => `${p.typeName}:${p.permissions}`)).toEqual([
      'INTERP:r--',
      'LOAD:r-x',
      'DYNAMIC:rw-',
      'NOTE:r--',
      'GNU_STACK:rw-',
    ]);
    const base = elfClass === 'elf64' ? 0x400000 : 0x8048000;
    expect(info.header?.entry).toBe(`0x${(base + info.sections[3]!.offset).toString(16)}`);
  });

  it('tags and flags a stripped static executable with a W+X segment and UPX marker', async () => {
    const text = new Uint8Array(64);
    text.set(Buffer.from('UPX!'), 8);
    const output = await elfAnalyzer.analyze(
      buildElf({ type: 'exec', segmentFlags: 7, text }),
      facts('elf64'),
      context,
    );
    expect(output.result.stripped).toBe(true);
    expect(output.result.anomalies).toEqual(
      expect.arrayContaining([
        'UPX marker (packed with UPX)',
        expect.stringMatching(/LOAD segment .* writable and executable/),
      ]),
    );
    expect([...(output.tags ?? [])].sort()).toEqual(['static', 'stripped', 'upx']);
    expect(elfAnalyzer.accepts(facts('elf32'))).toBe(true);
    expect(elfAnalyzer.accepts(facts('pe32'))).toBe(false);
  });

  it('survives truncation at every byte and garbage after the magic', async () => {
    const bytes = buildElf({
      class: 'elf32',
      endianness: 'big',
      interpreter: '/x',
      needed: ['a'],
      buildId: new Uint8Array(8),
      symbols: 2,
    });
    for (let length = 0; length < bytes.length; length++) {
      const info = await analyzeSafely(bytes.subarray(0, length));
      expect(info.warnings.length + info.anomalies.length, `cut at ${length}`).toBeGreaterThan(0);
    }
    for (let seed = 1; seed <= 50; seed++) {
      const garbage = new Uint8Array(2048).map((_, i) => (Math.imul(i + 7, 0x85ebca6b + seed) >>> 11) & 0xff);
      garbage.set([0x7f, 0x45, 0x4c, 0x46, 1 + (seed % 2), 1 + ((seed >> 1) % 2)]);
      await analyzeSafely(garbage);
    }
    expect((await analyzeSafely(new Uint8Array(8))).warnings).toEqual(['no ELF magic']);
  });

  it('bounds huge counts and rejects bad indexes', async () => {
    const bytes = buildElf({ needed: ['libc.so.6'] });
    const patch = (offset: number, size: 2 | 4, value: number): Uint8Array => {
      const copy = bytes.slice();
      const view = new DataView(copy.buffer);
      if (size === 2) view.setUint16(offset, value, true);
      else view.setUint32(offset, value, true);
      return copy;
    };
    expect((await analyzeSafely(patch(56, 2, 0xfffe))).warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/program header table is truncated/)]),
    );
    expect((await analyzeSafely(patch(60, 2, 0xfffe))).warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/section header table is truncated/)]),
    );
    expect((await analyzeSafely(patch(62, 2, 500))).anomalies).toContain(
      'section name table index 500 is invalid',
    );
    // Extended numbering: e_shnum 0 sends the reader to section 0's sh_size, which holds a huge count.
    const extended = patch(60, 2, 0);
    const shoff = Number(new DataView(extended.buffer).getBigUint64(40, true));
    new DataView(extended.buffer).setBigUint64(shoff + 32, 0xffffffffn, true);
    const info = await analyzeSafely(extended);
    expect(info.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/only the first 10000 of 4294967295 section headers/)]),
    );
  });
});

/** Runs readelf once per file and pulls out what we compare. */
function readelfFacts(path: string) {
  const text = execFileSync('readelf', ['-W', '-h', '-l', '-S', '-d', '-n', '--dyn-syms', '--syms', path], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 30_000,
    env: { ...process.env, LC_ALL: 'C' },
  });
  const field = (label: string): string | undefined =>
    new RegExp(`^\\s*${label}:\\s+(.*)$`, 'm').exec(text)?.[1]?.trim();
  const sections: { name: string; type: string; offset: number; size: number }[] = [];
  for (const match of text.matchAll(/^\s*\[\s*(\d+)\] (.*)$/gm)) {
    const tokens = match[2]!.trim().split(/\s+/);
    const [name, type, , offset, size] = tokens[0] === 'NULL' ? ['', ...tokens] : tokens;
    sections.push({ name: name!, type: type!, offset: parseInt(offset!, 16), size: parseInt(size!, 16) });
  }
  const symbolCount = (table: string): number =>
    Number(new RegExp(`Symbol table '${table}' contains (\\d+) entr`).exec(text)?.[1] ?? 0);
  return {
    class: field('Class'),
    data: field('Data'),
    type: field('Type'),
    entry: field('Entry point address'),
    programHeaders: Number(field('Number of program headers')),
    sectionHeaders: Number(field('Number of section headers')),
    segmentTypes: [
      ...text.matchAll(/^ {2}([A-Z][A-Z_]+|LOOS\+0x[0-9a-f]+|0x[0-9a-f]+)\s+0x[0-9a-f]+ 0x/gm),
    ].map((m) => m[1]!),
    interpreter: /\[Requesting program interpreter: (.*)\]/.exec(text)?.[1] ?? null,
    needed: [...text.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]!),
    soname: /\(SONAME\)\s+Library soname: \[(.*)\]/.exec(text)?.[1] ?? null,
    runpath: /\(RUNPATH\)\s+Library runpath: \[(.*)\]/.exec(text)?.[1] ?? null,
    buildId: /Build ID: ([0-9a-f]+)/.exec(text)?.[1] ?? null,
    sections,
    dynsym: symbolCount('.dynsym'),
    symtab: symbolCount('.symtab'),
  };
}

const hasReadelf = ((): boolean => {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();
if (!hasReadelf && process.env.CI === 'true')
  throw new Error('readelf (binutils) is not installed; .ci/run must install it');
const SYSTEM_BINARIES = [
  '/bin/ls',
  '/bin/sh',
  '/sbin/ldconfig',
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libz.so.1',
  '/usr/bin/env',
]
  .filter((path) => existsSync(path))
  .map((path) => realpathSync(path))
  .filter((path, i, all) => all.indexOf(path) === i)
  .slice(0, 5);

describe.skipIf(!hasReadelf || SYSTEM_BINARIES.length === 0)(
  `parseElf matches readelf${hasReadelf ? '' : ' (skipped: readelf not installed)'}`,
  () => {
    it.each(SYSTEM_BINARIES)('on %s', (path) => {
      const expected = readelfFacts(path);
      const info = parseElf(readFileSync(path));
      expect(info.warnings).toEqual([]);
      expect(expected.class).toBe(info.class === 'elf64' ? 'ELF64' : 'ELF32');
      expect(expected.data).toContain(`${info.endianness} endian`);
      expect(expected.type?.startsWith(`${info.header?.typeName} `)).toBe(true);
      expect(info.header?.entry).toBe(expected.entry);
      expect(info.header?.programHeaderCount).toBe(expected.programHeaders);
      expect(info.header?.sectionHeaderCount).toBe(expected.sectionHeaders);
      expect(info.programHeaders.map((p) => p.typeName)).toEqual(expected.segmentTypes);
      expect(info.interpreter).toBe(expected.interpreter);
      expect(info.dynamic?.needed ?? []).toEqual(expected.needed);
      expect(info.dynamic?.soname ?? null).toBe(expected.soname);
      expect(info.dynamic?.runpath ?? null).toBe(expected.runpath);
      expect(info.buildId).toBe(expected.buildId);
      expect(
        info.sections.map((s) => ({ name: s.name, type: s.typeName, offset: s.offset, size: s.size })),
      ).toEqual(expected.sections);
      expect(info.symbols).toEqual({ static: expected.symtab, dynamic: expected.dynsym });
      expect(info.stripped).toBe(expected.symtab === 0);
    });
  },
);

describe('elfAnalyzer under random mutation', () => {
  const ls = existsSync('/bin/ls') ? new Uint8Array(readFileSync('/bin/ls')) : null;
  const built = buildElf({
    interpreter: '/lib64/ld-linux-x86-64.so.2',
    needed: ['libc.so.6'],
    buildId: new Uint8Array(20),
    symbols: 3,
  });
  const values = fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff);

  const mutate = (seed: Uint8Array, hot: readonly number[]) =>
    fc.asyncProperty(
      fc.array(
        fc.tuple(
          fc.oneof(fc.nat(0x3ff), fc.constantFrom(...hot), fc.nat(seed.length - 1)),
          fc.integer({ min: -64, max: 64 }),
          fc.oneof(fc.nat(255), values),
          fc.boolean(),
        ),
        {
          minLength: 1,
          maxLength: 16,
        },
      ),
      fc.option(fc.nat(seed.length), { freq: 5 }),
      async (mutations, cut) => {
        const bytes = seed.slice(0, cut ?? seed.length);
        const view = new DataView(bytes.buffer);
        for (const [base, delta, value, wide] of mutations) {
          const offset = Math.max(0, base + delta);
          if (wide && offset + 4 <= bytes.length) view.setUint32(offset, value >>> 0, true);
          else if (offset < bytes.length) bytes[offset] = value & 0xff;
        }
        await analyzeSafely(bytes);
      },
    );

  it('never throws on built ELF files', async () => {
    await fc.assert(mutate(built, [parseElf(built).header!.sectionHeaderOffset]), {
      numRuns: 1500,
      seed: 11,
    });
  });

  it.skipIf(ls === null)('never throws on /bin/ls', async () => {
    const header = parseElf(ls!).header!;
    const dynamic = parseElf(ls!).sections.find((s) => s.typeName === 'DYNAMIC')?.offset ?? 0;
    await fc.assert(mutate(ls!, [header.sectionHeaderOffset, header.programHeaderOffset, dynamic]), {
      numRuns: 1500,
      seed: 12,
    });
  });
});
