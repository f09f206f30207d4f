import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibyaraEngine } from '../src/libyara-engine.js';
import { createYaraXEngine } from '../src/yara-x-engine.js';
import type { YaraEngine } from '../src/yara-engine.js';
import {
  IN_CI,
  PUBLIC_RULES,
  defaultRuleSamples,
  missing,
  pickSystemFiles,
  ruleStringSoups,
} from './yara-test-support.js';

/**
 * The same (file, rule) verdicts from libyara (our addon), YARA-X and the Debian `yara` CLI over the public
 * ruleset (5,473 rules) and ~64 MB of system binaries plus built samples. System files match none of these
 * rules, so synthetic "string soups" (the rules' own strings behind an MZ header) supply thousands of
 * verdicts that exercise the rules' conditions. Each engine compiles once.
 */
const CORPUS_BYTES = 64 * 1024 * 1024;
const CONCURRENCY = 4;
const run = promisify(execFile);

const absent = [missing('public-rules'), missing('libyara'), missing('yara-cli')].filter((r) => r !== null);
if (absent.length > 0 && !IN_CI) console.warn(`YARA engine parity test skipped: ${absent.join('; ')}`);

async function verdictsOf(
  engine: YaraEngine,
  source: string,
  files: readonly string[],
): Promise<Set<string>> {
  const rules = await engine.compile([{ namespace: 'public', source, origin: 'public-rules.yar' }]);
  const verdicts = new Set<string>();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++]!;
        for (const match of await rules.scanFile(file)) verdicts.add(`${file}\t${match.rule}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    rules.dispose();
  }
  return verdicts;
}

async function cliVerdicts(files: readonly string[], dir: string): Promise<Set<string>> {
  const list = path.join(dir, 'files.txt');
  await writeFile(list, `${files.join('\n')}\n`);
  const { stdout } = await run('yara', ['-w', '-p', '2', '--scan-list', PUBLIC_RULES, list], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  const verdicts = new Set<string>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) verdicts.add(`${line.slice(space + 1)}\t${line.slice(0, space)}`);
  }
  return verdicts;
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).slice(0, 20);
}

describe.skipIf(absent.length > 0 && !IN_CI)('YARA engine parity on the public ruleset', () => {
  let dir: string;
  let files: string[];
  let source: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'yara-parity-'));
    source = await readFile(PUBLIC_RULES, 'utf8');
    const system = pickSystemFiles(['/usr/bin', '/usr/lib/x86_64-linux-gnu'], CORPUS_BYTES, {
      maxFile: 8 << 20,
    });
    const samples = await Promise.all(
      defaultRuleSamples().map(async (sample) => {
        const file = path.join(dir, sample.name);
        await writeFile(file, sample.bytes);
        return file;
      }),
    );
    const soups = await Promise.all(
      ruleStringSoups(source, 64).map(async (bytes, i) => {
        const file = path.join(dir, `soup-${i}.bin`);
        await writeFile(file, bytes);
        return file;
      }),
    );
    files = [...system.files, ...samples, ...soups];
    console.info(
      `parity corpus: ${files.length} files, ${(system.bytes / 1048576).toFixed(1)} MB of system files`,
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives identical (file, rule) verdicts under libyara, YARA-X and the yara CLI', async () => {
    expect(files.length).toBeGreaterThan(50);
    const cli = await cliVerdicts(files, dir);
    const libyara = await verdictsOf(createLibyaraEngine(), source, files);
    const yarax = await verdictsOf(createYaraXEngine(), source, files);
    // The corpus must exercise the rules: thousands of verdicts, on many different rules.
    expect(cli.size).toBeGreaterThan(1000);
    expect(new Set([...cli].map((v) => v.split('\t')[1])).size).toBeGreaterThan(1000);
    expect({ onlyCli: difference(cli, libyara), onlyLibyara: difference(libyara, cli) }).toEqual({
      onlyCli: [],
      onlyLibyara: [],
    });
    expect({ onlyLibyara: difference(libyara, yarax), onlyYaraX: difference(yarax, libyara) }).toEqual({
      onlyLibyara: [],
      onlyYaraX: [],
    });
    console.info(`parity: ${cli.size} identical verdicts`);
  }, 180_000);
});
