import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import { JPCERT_KEYS } from '@malpipe/analyzers/cobaltstrike/index';
import { parseCsFile, registerCs, renderCsResult } from './cs.js';

const CLI = fileURLToPath(new URL('../../bin/malpipe.js', import.meta.url));

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('malpipe cs parse', () => {
  let dir: string;
  let beacon: string;
  let empty: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malpipe-cs-parse-'));
    beacon = join(dir, 'stage.bin');
    empty = join(dir, 'empty.bin');
    await writeFile(beacon, buildBeacon(sampleSettings({ host: 'cli.example.test', watermark: 1234567890 }), { encoding: 'sleeve', offsetPadding: 2 }));
    await writeFile(empty, new Uint8Array(4096));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders native, jpcert and profile views', async () => {
    const result = await parseCsFile(beacon);
    const native = JSON.parse(renderCsResult(beacon, result, { format: 'native' })) as { configs: { watermark: number; c2: { hosts: string[] } }[] };
    expect(native.configs[0]).toMatchObject({ watermark: 1234567890, c2: { hosts: ['cli.example.test'] } });
    const lines = renderCsResult(beacon, result, { format: 'jpcert' }).trim().split('\n');
    expect(lines).toHaveLength(1);
    const jpcert = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(Object.keys(jpcert)).toEqual([...JPCERT_KEYS]);
    expect(jpcert.SSH_Banner).toBe('SSH-2.0-OpenSSH_8.9');
    const compat = JSON.parse(renderCsResult(beacon, result, { format: 'jpcert', bugCompatible: true })) as Record<string, unknown>;
    expect(compat.SSH_Banner).toBe('');
    expect(renderCsResult(beacon, result, { format: 'profile' })).toContain('http-get {');
  });

  it('runs as a command: output for the beacon, exit 1 because one file has none', async () => {
    const out = await run(['cs', 'parse', '--format', 'jpcert', beacon, empty]);
    expect(out.code).toBe(1);
    expect((JSON.parse(out.stdout) as { C2Server: string }).C2Server).toBe('cli.example.test,/jquery.min.js');
    expect(out.stderr).toContain(`${empty}: no beacon config found`);
  });

  it('streams a file over the whole-file limit with read-ahead, finding configs that straddle chunk boundaries', async () => {
    const chunkBytes = 16 * 1024;
    const image = new Uint8Array(20 * chunkBytes).fill(0x41);
    const planted: { host: string; offset: number }[] = [];
    for (const [i, key] of [0x2e, 0x69, 0x5a].entries()) {
      const host = `stream-${i}.example.test`;
      const block = buildBeacon(sampleSettings({ host }), { xorKey: key });
      // Each block starts 1 KiB before a chunk boundary, so it is split between two reads.
      const offset = (4 + 6 * i) * chunkBytes - 1024;
      image.set(block, offset);
      planted.push({ host, offset });
    }
    const file = join(dir, 'memory.img');
    await writeFile(file, image);
    const streamed = await parseCsFile(file, { wholeFileLimit: 64 * 1024, chunkBytes });
    const hosts = streamed.configs.map((c) => JSON.stringify(c)).join('\n');
    for (const p of planted) expect(hosts).toContain(p.host);
    expect(streamed.configs).toHaveLength(planted.length);
    const offsets = streamed.configs.map((c) => c.inputOffset).sort((a, b) => a - b);
    for (const [i, p] of planted.entries()) expect(offsets[i]).toBeGreaterThanOrEqual(p.offset);
  });

  it('refuses unknown formats', async () => {
    const program = new Command().exitOverride();
    registerCs(program);
    await expect(program.parseAsync(['node', 'malpipe', 'cs', 'parse', '--format', 'yaml', beacon])).rejects.toThrow('unknown format yaml');
  });
});
