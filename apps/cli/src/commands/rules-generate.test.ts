import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPe } from '@malpipe/analyzers/test/builders/build-pe';
import { createPlatform, loadConfig } from '@malpipe/server';
import { encode } from '@malpipe/yara-gen';
import { generateRules, registerRulesGenerate } from './rules-generate.js';
import { registerRulesHunt } from './rules-hunt.js';

const CODEC = { op: 'chain', steps: [{ op: 'add', key: '32' }, { op: 'xor', key: '20' }] } as const;

function program(): Command {
  const root = new Command().exitOverride();
  const rules = root.command('rules');
  registerRulesGenerate(rules);
  registerRulesHunt(rules);
  return root;
}

function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  return { out: () => out, err: () => err };
}

describe('malpipe rules generate / hunt', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malpipe-rules-gen-'));
    await mkdir(join(dir, 'samples'));
    await mkdir(join(dir, 'goodware'));
    await mkdir(join(dir, 'strings'));
    for (let i = 0; i < 2; i++) await writeFile(join(dir, 'samples', `p${i}.dat`), encode(CODEC, buildPe({ timestamp: 0x61000000 + i })));
    for (let i = 0; i < 3; i++) await writeFile(join(dir, 'goodware', `g${i}.exe`), buildPe({ timestamp: 0x50000000 + i }));
    await writeFile(join(dir, 'goodware', 'random.bin'), randomBytes(3000));
    for (let i = 0; i < 3; i++) {
      await writeFile(join(dir, 'strings', `s${i}.exe`), Buffer.concat([Buffer.from(buildPe({ timestamp: 0x62000000 + i })), Buffer.from(`\0C:\\build\\hui\\loader${i}.pdb\0\0http://198.51.100.${i}/gate.php\0`)]));
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generate --codec writes verified rules that match the samples and no goodware', async () => {
    const io = capture();
    const out = join(dir, 'encoded.yar');
    await program().parseAsync(['node', 'malpipe', 'rules', 'generate', '--codec', JSON.stringify(CODEC), '--samples', join(dir, 'samples'), '--goodware', join(dir, 'goodware'), '--name', 'HuiLike', '--out', out]);
    expect(process.exitCode).toBeUndefined();
    const text = await readFile(out, 'utf8');
    expect(text).toContain('rule MALPIPE_Encoded_HuiLike_Anchored');
    expect(text).toMatch(/hash1 = "[0-9a-f]{64}"/);
    expect(io.err()).toMatch(/samples matched 2\/2; goodware hits 0\/4/);
  });

  it('generate rejects rules that hit goodware (exit 1, nothing written)', async () => {
    capture();
    // XOR with key 00 is the identity: its rule is a plain PE-header rule and hits the three clean PEs.
    const report = await generateRules({ codec: '{"op":"xor","key":"00"}', plaintext: ['pe-header'], goodware: join(dir, 'goodware'), name: 'Identity', verify: false });
    expect(report.ok).toBe(false);
    expect(report.falsePositives).toHaveLength(3);
  });

  it('generate without --codec builds a string rule from the samples', async () => {
    const io = capture();
    await program().parseAsync(['node', 'malpipe', 'rules', 'generate', '--samples', join(dir, 'strings'), '--goodware', join(dir, 'goodware'), '--name', 'Strings', '--json']);
    const report = JSON.parse(io.out()) as { ok: boolean; source: string; samples: { rules: string[] }[] };
    expect(report.ok).toBe(true);
    expect(report.source).toContain('gate.php');
    expect(report.samples.every((s) => s.rules.length === 1)).toBe(true);
  });

  it('hunt scans the stored samples of a data directory and prints the hits', async () => {
    const dataDir = join(dir, 'data');
    const platform = await createPlatform(loadConfig({ MALPIPE_DATA_DIR: dataDir, MALPIPE_LOG_LEVEL: 'silent' }), { logger: pino({ level: 'silent' }), yara: false });
    const planted = encode(CODEC, buildPe({ timestamp: 0x63000000 }));
    const { sha256 } = await platform.services.submitSample({ content: planted, source: 'cli' });
    await platform.services.submitSample({ content: buildPe(), source: 'cli' });
    await platform.close();
    await mkdir(join(dir, 'rules'));
    await writeFile(join(dir, 'rules', 'generated.yar'), await readFile(join(dir, 'encoded.yar')));
    const io = capture();
    await program().parseAsync(['node', 'malpipe', 'rules', 'hunt', '--ruleset', join(dir, 'rules'), '--data', dataDir, '--json']);
    const summary = JSON.parse(io.out()) as { scanned: number; matched: number; hits: { sha256: string }[] };
    expect(summary).toMatchObject({ scanned: 2, matched: 1 });
    expect(summary.hits[0]?.sha256).toBe(sha256);
  });
});
