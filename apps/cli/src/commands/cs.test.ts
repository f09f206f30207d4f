import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import { JPCERT_KEYS } from '@malpipe/analyzers/cobaltstrike/index';
import { parseCsFile, renderCsResult } from './cs.js';

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

  it('runs as a command: exit 0 with output, exit 1 when a file has no beacon', async () => {
    const ok = await run(['cs', 'parse', '--format', 'jpcert', beacon]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { C2Server: string }).C2Server).toBe('cli.example.test,/jquery.min.js');
    const none = await run(['cs', 'parse', empty]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no beacon config found');
    const bad = await run(['cs', 'parse', '--format', 'yaml', beacon]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown format');
  });
});
