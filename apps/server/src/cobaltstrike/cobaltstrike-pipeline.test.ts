import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import { buildStager } from '@malpipe/analyzers/test/builders/build-stager';
import { startTestPlatform, waitForIdle, type TestPlatform } from '../../test/pipeline-helpers.js';
import { getBeaconConfig, listTeamServers } from './beacon-config-repository.js';
import { startEmulatedTeamServer, type EmulatedTeamServer } from './probe/emulated-team-server.js';

/** Waits until no cs-probe job is queued or running. */
async function waitForProbes(t: TestPlatform, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await t.platform.queue.list({ name: 'cs-probe' });
    if (pending.every((j) => j.state === 'completed' || j.state === 'dead' || j.state === 'failed')) return;
    if (Date.now() > deadline) throw new Error('cs-probe jobs still pending');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Cobalt Strike in the analysis pipeline', () => {
  let t: TestPlatform;
  let server: EmulatedTeamServer;
  beforeAll(async () => {
    server = await startEmulatedTeamServer({ stages: { x86: buildBeacon(sampleSettings(), { encoding: 'sleeve' }) } });
    t = await startTestPlatform({}, { yara: false });
  });
  afterAll(async () => {
    await t.dispose();
    await server.close();
  });

  it('stores and links the configs of an analysed sample', async () => {
    const stage = buildBeacon(sampleSettings({ watermark: 426352781, host: 'pipeline.c2.example.test' }), { encoding: 'sleeve', arch: 'x64' });
    const submitted = await t.platform.services.submitSample({ content: stage, fileName: 'stage.bin', source: 'test' });
    await waitForIdle(t.platform);
    const links = await t.platform.db.selectFrom('cs_config_samples').selectAll().where('sha256', '=', submitted.sha256).execute();
    expect(links).toHaveLength(1);
    const detail = await getBeaconConfig(t.platform.db, links[0]?.config_id as string);
    expect(detail).toMatchObject({ watermark: 426352781, c2Hosts: ['pipeline.c2.example.test'], architecture: 'x64', jpcert: null });
  });

  it('queues a probe for a stager URL, which the default deny-list refuses without connecting', async () => {
    const stager = buildStager({ kind: 'http', host: '127.0.0.1', port: server.port, uri: '/Kx9a' });
    await t.platform.services.submitSample({ content: stager, fileName: 'stager.bin', source: 'test' });
    await waitForIdle(t.platform);
    await waitForProbes(t);
    const jobs = await t.platform.queue.list({ name: 'cs-probe' });
    expect(jobs.map((j) => j.payload)).toEqual([{ target: `http://127.0.0.1:${server.port}/Kx9a`, userAgent: 'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)' }]);
    expect(jobs[0]?.state).toBe('completed');
    const [row] = await listTeamServers(t.platform.db);
    expect(row).toMatchObject({ id: `127.0.0.1:${server.port}`, lastOutcome: 'refused', probeCount: 1 });
    expect(server.connections).toBe(0);
  });
});
