import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../compose.js';
import { VirusTotalClient } from '../sources/virustotal-client.js';
import { startFakeVirusTotal, type FakeVirusTotal } from '../../test/fake-virustotal.js';
import { startHuntingPlatform, storeSample } from './hunting-test-platform.js';
import { runRetrohuntJob, syncLivehunt } from './virustotal-hunting.js';

describe('VirusTotal hunting', () => {
  let vt: FakeVirusTotal;
  let env: Awaited<ReturnType<typeof startHuntingPlatform>>;
  let platform: Platform;
  let client: VirusTotalClient;
  const remote: string[] = [];
  let stored: string;
  beforeAll(async () => {
    vt = await startFakeVirusTotal({ keys: { premium: true, public: false } });
    env = await startHuntingPlatform();
    platform = env.platform;
    const already = new Uint8Array(randomBytes(300));
    stored = await storeSample(platform, already);
    remote.push(vt.addFile({ bytes: already }));
    for (let i = 0; i < 4; i++) remote.push(vt.addFile({ bytes: new Uint8Array(randomBytes(300)), malicious: 10 }));
    client = new VirusTotalClient({ apiKey: 'premium', baseUrl: vt.url });
  });
  afterAll(async () => {
    await env.dispose();
    await vt.close();
  });

  it('turns Livehunt notification files into hash submissions, once, with a fetch queued per new hash', async () => {
    const queued: string[] = [];
    const fetchQueue = { enqueue: async (_trx: unknown, id: string) => void queued.push(id), wake: () => undefined };
    const first = await syncLivehunt(client, { db: platform.db, fetchQueue }, { pageSize: 2 });
    expect([...first.sha256s].sort()).toEqual([...remote].sort());
    // Already stored: linked at once, nothing to fetch.
    expect(first.entries.find((e) => e.hash === stored)).toMatchObject({ state: 'known' });
    expect(queued).toHaveLength(4);
    // Paged: 5 files at 2 per page is 3 requests.
    expect(vt.requests.filter((r) => r.path.startsWith('/api/v3/intelligence/hunting_notification_files'))).toHaveLength(3);
    const again = await syncLivehunt(client, { db: platform.db, fetchQueue });
    expect(again.entries.map((e) => e.id).sort()).toEqual(first.entries.map((e) => e.id).sort());
    expect(queued).toHaveLength(4);
    const rows = await platform.db.selectFrom('hash_requests').selectAll().execute();
    expect(rows).toHaveLength(5);
    expect(rows.filter((r) => r.state === 'queued')).toHaveLength(4);
  });

  it('runs a Retrohunt job to completion and submits its matching files', async () => {
    const polled: string[] = [];
    const result = await runRetrohuntJob(client, { db: platform.db }, 'rule x { condition: true }', { pollMs: 10, corpus: 'main', onPoll: (j) => polled.push(j.attributes.status) });
    expect(result.job.attributes.status).toBe('finished');
    expect(polled).toEqual(['finished']);
    expect([...result.sha256s].sort()).toEqual([...remote].sort());
    expect(result.entries).toHaveLength(5);
    expect(vt.requests.some((r) => r.path === '/api/v3/intelligence/retrohunt_jobs')).toBe(true);
  });

  it('fails clearly with a public key (premium endpoints)', async () => {
    const publicClient = new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url });
    await expect(syncLivehunt(publicClient, { db: platform.db })).rejects.toMatchObject({ vtCode: 'ForbiddenError' });
  });
});
