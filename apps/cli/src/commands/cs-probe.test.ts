import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBeaconConfigs } from '@malpipe/analyzers/cobaltstrike/index';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import { startEmulatedTeamServer, type EmulatedTeamServer } from '@malpipe/server/cobaltstrike/probe/emulated-team-server';
import { storeBeaconConfigs } from '@malpipe/server/cobaltstrike/beacon-config-repository';
import { createApiHarness, type ApiHarness } from '../../../server/test/api-harness.js';
import { probeTeamServer } from '@malpipe/server/cobaltstrike/probe/probe-team-server';
import { jpcertFileName, pythonJsonDumps, renderProbe } from './cs-probe.js';

const CLI = fileURLToPath(new URL('../../bin/malpipe.js', import.meta.url));
const X86_STAGE = buildBeacon(sampleSettings({ host: 'x86.c2.example.test', watermark: 1234567890 }), { encoding: 'sleeve', arch: 'x86' });
const X64_STAGE = buildBeacon(sampleSettings({ host: 'x64.c2.example.test', watermark: 987654321 }), { encoding: 'sleeve', arch: 'x64' });

function run(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, MALPIPE_SERVER: '', MALPIPE_TOKEN: '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('pythonJsonDumps', () => {
  it('writes what CobaltStrikeParser --json prints', () => {
    expect(pythonJsonDumps({ BeaconType: ['HTTP'], Port: 80, C2Server: 'xn--bcher-kva.example,/a', UserAgent: 'Mozilla/5.0 (é)', KillDate: 0 })).toBe(
      '{"BeaconType": ["HTTP"], "Port": 80, "C2Server": "xn--bcher-kva.example,/a", "UserAgent": "Mozilla/5.0 (\\u00e9)", "KillDate": 0}',
    );
    expect(jpcertFileName('192.0.2.1', 8888)).toBe('192.0.2.1.8888.config');
  });
});

describe('malpipe cs probe / cs export', () => {
  let server: EmulatedTeamServer;
  beforeAll(async () => {
    server = await startEmulatedTeamServer({ stages: { x86: X86_STAGE, x64: X64_STAGE } });
  });
  afterAll(() => server.close());

  it('probes an emulated team server from the command line (jpcert), and renders the native view', async () => {
    const jpcert = await run(['cs', 'probe', '--allow-private', '--format', 'jpcert', '--timeout', '5000', `http://127.0.0.1:${server.port}/`]);
    expect(jpcert.stderr).toContain('1 config(s)');
    expect(jpcert.code).toBe(0);
    const lines = jpcert.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.Watermark)).toEqual([1234567890, 987654321]);
    expect(Object.keys(lines[0] ?? {})).toHaveLength(66);

    // The native view, rendered in-process (a second CLI start costs seconds on a shared machine).
    const probed = await probeTeamServer(`http://127.0.0.1:${server.port}/`, { allowLoopbackForTests: true, retries: 0 });
    const record = JSON.parse(renderProbe(probed, 'native', false)) as { attempts: { arch: string; status: number; configs: { watermark: number }[] }[] };
    expect(record.attempts.map((a) => [a.arch, a.status, a.configs[0]?.watermark])).toEqual([
      ['x86', 200, 1234567890],
      ['x64', 200, 987654321],
    ]);
  });

  it('refuses loopback without --allow-private and exits non-zero', async () => {
    const before = server.connections;
    const refused = await run(['cs', 'probe', `127.0.0.1:${server.port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/FORBIDDEN: refusing to probe 127\.0\.0\.1: loopback/);
    expect(refused.stdout).toBe('');
    expect(server.connections).toBe(before);
  });

  describe('export', () => {
    let h: ApiHarness;
    let dir: string;
    beforeAll(async () => {
      h = await createApiHarness();
      dir = await mkdtemp(join(tmpdir(), 'malpipe-cs-export-'));
    });
    afterAll(async () => {
      await h.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('writes one <ip>.<port>.config per server in the JPCERT format, preferring the x86 config', async () => {
      const x86 = parseBeaconConfigs(X86_STAGE).configs;
      const x64 = parseBeaconConfigs(X64_STAGE).configs;
      await storeBeaconConfigs(h.db, { server: { host: 'c2.example.test', port: 443, address: '198.51.100.23' }, scheme: 'https' }, [...x64, ...x86]);
      await storeBeaconConfigs(h.db, { server: { host: '203.0.113.80', port: 80, address: '203.0.113.80' }, scheme: 'http' }, x64);
      const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
      const result = await run(['cs', 'export', dir, '--server', url, '--token', h.tokens.reader]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect((await readdir(dir)).sort()).toEqual(['198.51.100.23.443.config', '203.0.113.80.80.config']);
      const text = await readFile(join(dir, '198.51.100.23.443.config'), 'utf8');
      expect(text.startsWith('{"BeaconType": ["HTTPS"], "Port": 443, ')).toBe(true);
      expect(text.endsWith('}\n')).toBe(true);
      expect((JSON.parse(text) as { Watermark: number }).Watermark).toBe(1234567890);
      expect((JSON.parse(await readFile(join(dir, '203.0.113.80.80.config'), 'utf8')) as { Watermark: number }).Watermark).toBe(987654321);
    });
  });
});
