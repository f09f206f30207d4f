import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  archiveAnalyzer,
  cobaltStrikeAnalyzer,
  elfAnalyzer,
  hashesAnalyzer,
  identifyFile,
  iocAnalyzer,
  peAnalyzer,
  stringsAnalyzer,
  yaraAnalyzer,
  type Analyzer,
  type AnalyzerContext,
  type SampleFacts,
  type YaraScanner,
} from '@malpipe/analyzers';
import { buildPe } from '@malpipe/analyzers/test/builders/build-pe';
import { buildElf } from '@malpipe/analyzers/test/builders/build-elf';
import { buildZip } from '@malpipe/analyzers/test/builders/build-zip';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import type { z } from 'zod';
import {
  ArchiveResultSchema,
  CobaltStrikeResultSchema,
  ElfResultSchema,
  HashesResultSchema,
  IocResultSchema,
  PeResultSchema,
  StringsResultSchema,
  YaraResultSchema,
  parseResult,
} from '../src/analyzer-views/result-schemas.js';

/**
 * The dashboard's view schemas against what the real analysers produce (after a JSON round trip, as the
 * API serves them): when an analyser changes its output shape, this fails here rather than in front of an
 * analyst as a silent fall-back to raw JSON.
 */

const yara: YaraScanner = {
  engine: 'fake',
  rulesetVersion: 'r1',
  scan: () =>
    Promise.resolve([
      { rule: 'Demo_Rule', namespace: 'default', tags: ['demo'], meta: { author: 'x', score: 5 }, strings: [{ identifier: '$a', offset: 16, length: 4 }] },
    ]),
};
const context: AnalyzerContext = { limits: DEFAULT_LIMITS, archivePasswords: ['infected'], yara };

async function run(analyzer: Analyzer, bytes: Uint8Array, name: string): Promise<unknown> {
  const facts: SampleFacts = { sha256: '0'.repeat(64), size: bytes.length, fileType: identifyFile(bytes, name), fileNames: [name], depth: 0 };
  expect(analyzer.accepts(facts)).toBe(true);
  const output = await analyzer.analyze(bytes, facts, context);
  return JSON.parse(JSON.stringify(output.result)) as unknown;
}

function expectParses<T>(schema: z.ZodType<T>, result: unknown): T {
  const parsed = parseResult(schema, result);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value;
}

const TEXT = new TextEncoder().encode('connect to http://evil.example/gate.php and 203.0.113.7 please');

describe('analyser results the dashboard renders', () => {
  it('pe', async () => {
    const bytes = buildPe({
      imports: [{ dll: 'KERNEL32.dll', functions: ['ExitProcess', 'GetProcAddress'] }],
      exports: { dllName: 'demo.dll', functions: [{ name: 'Run' }] },
      richHeader: { entries: [{ productId: 0x104, build: 30795, count: 12 }] },
      versionInfo: { strings: { CompanyName: 'ACME' }, fileVersion: [1, 2, 3, 4] },
      dll: true,
    });
    const pe = expectParses(PeResultSchema, await run(peAnalyzer, bytes, 'demo.dll'));
    expect(pe.sections.length).toBeGreaterThan(0);
    expect(pe.imports[0]?.functions.map((f) => f.name)).toEqual(['ExitProcess', 'GetProcAddress']);
    expect(pe.exports?.functions[0]?.name).toBe('Run');
    expect(pe.richHeader?.entries[0]?.count).toBe(12);
    expect(pe.versionInfo?.strings.CompanyName).toBe('ACME');
  });

  it('elf', async () => {
    const elf = expectParses(ElfResultSchema, await run(elfAnalyzer, buildElf({ needed: ['libc.so.6'], interpreter: '/lib64/ld-linux-x86-64.so.2' }), 'a.out'));
    expect(elf.header?.machineName).toBeTruthy();
    expect(elf.dynamic?.needed).toEqual(['libc.so.6']);
  });

  it('archive', async () => {
    const zip = await buildZip([
      { name: 'a.txt', data: TEXT },
      { name: 'secret.bin', data: TEXT, password: 'wrong-one' },
    ]);
    const archive = expectParses(ArchiveResultSchema, await run(archiveAnalyzer, zip, 'a.zip'));
    expect(archive.entries.map((e) => [e.path, e.extracted])).toEqual([
      ['a.txt', true],
      ['secret.bin', false],
    ]);
    expect(archive.entries[1]?.reason).toBe('WRONG_PASSWORD');
  });

  it('strings, ioc, yara and hashes', async () => {
    const pe = buildPe({ sections: [{ name: '.data', data: TEXT }] });
    const strings = expectParses(StringsResultSchema, await run(stringsAnalyzer, pe, 'x.exe'));
    expect(strings.strings.some((s) => s.value.includes('evil.example'))).toBe(true);
    const ioc = expectParses(IocResultSchema, await run(iocAnalyzer, TEXT, 'note.txt'));
    expect(ioc.total).toBeGreaterThan(0);
    const yaraResult = expectParses(YaraResultSchema, await run(yaraAnalyzer, TEXT, 'note.txt'));
    expect(yaraResult.matches[0]?.strings[0]?.offset).toBe(16);
    expectParses(HashesResultSchema, await run(hashesAnalyzer, TEXT, 'note.txt'));
  });

  it('cobaltstrike', async () => {
    const beacon = buildBeacon(sampleSettings({ host: 'c2.example', watermark: 123456 }));
    const cs = expectParses(CobaltStrikeResultSchema, await run(cobaltStrikeAnalyzer, beacon, 'beacon.dll'));
    expect(cs.beaconDetected).toBe(true);
    expect(cs.configs[0]?.watermark).toBe(123456);
    expect(cs.configs[0]?.settings.length).toBeGreaterThan(5);
  });

  it('falls back with the path of the first mismatch', () => {
    const parsed = parseResult(ArchiveResultSchema, { format: 'zip', entries: [{ path: 3 }] });
    expect(parsed).toEqual({ ok: false, problem: expect.stringMatching(/^entries\.0\.path: /) as unknown });
  });
});
