import { z } from 'zod';
import { isAppError } from '@malpipe/core';
import type { NativeBeaconConfig } from '@malpipe/analyzers/cobaltstrike/index';
import type { Database } from '../database/database.js';
import { serverId, storeBeaconConfigs, upsertTeamServer } from './beacon-config-repository.js';
import { targetServer } from './run-cs-probe.js';

/** Queues a `cs-probe` job inside the caller's transaction (with the stager's User-Agent when known). */
export type EnqueueCsProbe = (trx: Database, target: string, userAgent?: string) => Promise<unknown>;

/** The name of the analyser whose results feed the cs_* tables. */
export const COBALTSTRIKE_ANALYZER = 'cobaltstrike';

/** A stager URL is probed again only after this long (stager URLs repeat across many samples of one campaign). */
export const STAGER_PROBE_COOLDOWN_MS = 24 * 60 * 60 * 1000;

// Analyser results come back as JSON from the sandbox: check the parts this module relies on, keep the rest.
const ResultSchema = z.object({
  configs: z
    .array(
      z
        .object({
          settings: z.array(z.object({ id: z.number(), type: z.string(), length: z.number() }).loose()),
          c2: z.object({ hostsIdna: z.array(z.string()) }).loose(),
          version: z.object({ number: z.string().nullable() }).loose(),
          watermark: z.number().nullable(),
          publicKey: z.object({ md5: z.string() }).loose().nullable(),
          architecture: z.enum(['x86', 'x64']).nullable(),
          trial: z.boolean(),
        })
        .loose(),
    )
    .max(256),
  stagers: z.array(z.object({ url: z.string().nullable(), userAgent: z.string().nullable().optional() }).loose()).max(256),
});

/**
 * Pipeline hook, called inside the transaction that stores an analyser's result: for the `cobaltstrike`
 * analyser, stores the configs found in the sample (deduplicated, linked to the sample) and queues a probe of each
 * HTTP(S) stager URL whose server was not probed (or queued) within STAGER_PROBE_COOLDOWN_MS. Other analysers and
 * results without configs or stagers are left alone. Returns what was done, for logs and tests.
 */
export async function recordCobaltStrikeResult(
  trx: Database,
  sha256: string,
  analyzer: string,
  result: unknown,
  enqueueProbe?: EnqueueCsProbe,
  now: Date = new Date(),
): Promise<{ configIds: string[]; probesQueued: string[] }> {
  if (analyzer !== COBALTSTRIKE_ANALYZER) return { configIds: [], probesQueued: [] };
  const parsed = ResultSchema.safeParse(result);
  if (!parsed.success) return { configIds: [], probesQueued: [] };
  const stamp = now.toISOString();
  const configs = parsed.data.configs as unknown as NativeBeaconConfig[];
  const configIds = await storeBeaconConfigs(trx, { sha256, analyzer }, configs, stamp);
  const probesQueued: string[] = [];
  if (enqueueProbe !== undefined) {
    // The stager's own User-Agent goes with its URL: team servers may allow only the profile's agent.
    const agents = new Map<string, string | undefined>();
    for (const s of parsed.data.stagers) {
      if (s.url !== null && /^https?:\/\//i.test(s.url) && !agents.has(s.url)) agents.set(s.url, s.userAgent ?? undefined);
    }
    for (const [url, userAgent] of [...agents].slice(0, 16)) {
      const server = serverOf(url);
      // A stager URL the prober cannot parse is a fact about the sample, not a reason to fail its analysis.
      if (server === null) continue;
      const known = await trx.selectFrom('cs_team_servers').select(['last_probed_at', 'last_outcome']).where('id', '=', serverId(server)).executeTakeFirst();
      const recent = known?.last_probed_at != null && now.getTime() - Date.parse(known.last_probed_at) < STAGER_PROBE_COOLDOWN_MS;
      if (known?.last_outcome === 'queued' || recent) continue;
      const id = await upsertTeamServer(trx, server, stamp);
      await trx.updateTable('cs_team_servers').set({ last_outcome: 'queued' }).where('id', '=', id).execute();
      await enqueueProbe(trx, url, userAgent);
      probesQueued.push(url);
    }
  }
  return { configIds, probesQueued };
}

function serverOf(url: string): ReturnType<typeof targetServer> | null {
  try {
    return targetServer(url);
  } catch (error) {
    if (isAppError(error) && error.code === 'VALIDATION_FAILED') return null;
    throw error;
  }
}
