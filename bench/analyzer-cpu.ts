/**
 * CPU time per analyser, in one process, over the given files (directories are walked): the figure to compare
 * when optimising an analyser, free of the sandbox and pipeline costs that `pipeline.ts` measures.
 *
 *   npx tsx bench/analyzer-cpu.ts [--analyzers hashes,ioc,strings] [--root DIR] [--repeat N] PATH...
 *
 * `--root` loads the analysers from another checkout's packages/analyzers/src (e.g. an export of HEAD), so
 * before/after run on the same files; each analyser's results are folded into one SHA-256 that must match
 * between the two runs. MALPIPE_NATIVE=0 measures the TypeScript twins of the native accelerators.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Analyzer, AnalyzerContext, SampleFacts } from '@malpipe/analyzers';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    analyzers: { type: 'string', default: 'hashes,ioc,strings' },
    root: { type: 'string', default: resolve(import.meta.dirname, '..', 'packages', 'analyzers', 'src') },
    repeat: { type: 'string', default: '1' },
  },
});

function walk(path: string, out: string[]): string[] {
  const stat = statSync(path);
  if (stat.isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry), out);
  else if (stat.isFile()) out.push(path);
  return out;
}

const root = resolve(values.root);
type Module = Record<string, unknown>;
const index = (await import(pathToFileURL(join(root, 'index.ts')).href)) as Module;
const identifyFile = index.identifyFile as (bytes: Uint8Array, name?: string) => SampleFacts['fileType'];
const limits = index.DEFAULT_LIMITS as AnalyzerContext['limits'];
const names = values.analyzers.split(',').filter((name) => name !== '');
const analyzers = names.map((name) => {
  const analyzer = index[`${name === 'ioc' ? 'ioc' : name}Analyzer`] as Analyzer<unknown> | undefined;
  if (analyzer === undefined) throw new Error(`no ${name}Analyzer exported by ${root}`);
  return analyzer;
});

const files = positionals.flatMap((path) => walk(path, []));
const context: AnalyzerContext = { limits, archivePasswords: ['infected'] };
const cpu = new Map<string, number>(names.map((name) => [name, 0]));
const digests = new Map(names.map((name) => [name, createHash('sha256')]));
let bytesTotal = 0;
for (let round = 0; round < Number(values.repeat); round++) {
  for (const file of files) {
    const bytes = readFileSync(file);
    if (round === 0) bytesTotal += bytes.length;
    const facts: SampleFacts = { sha256: '', size: bytes.length, fileType: identifyFile(bytes, file), fileNames: [file], depth: 0 };
    for (const [i, analyzer] of analyzers.entries()) {
      if (!analyzer.accepts(facts)) continue;
      const start = process.cpuUsage();
      const output = await analyzer.analyze(bytes, facts, context);
      const used = process.cpuUsage(start);
      const name = names[i] as string;
      cpu.set(name, (cpu.get(name) ?? 0) + used.user + used.system);
      if (round === 0) digests.get(name)?.update(`${file}\n${JSON.stringify(output)}\n`);
    }
  }
}
console.log(`${files.length} files, ${(bytesTotal / 1e6).toFixed(1)} MB, ${values.repeat} round(s), analysers from ${root}`);
for (const name of names) {
  const seconds = (cpu.get(name) ?? 0) / 1e6 / Number(values.repeat);
  console.log(`${name.padEnd(8)} ${seconds.toFixed(2)} s CPU  ${((seconds * 1e3) / (bytesTotal / 1e6)).toFixed(2)} ms/MB  results ${digests.get(name)?.digest('hex').slice(0, 16)}`);
}
