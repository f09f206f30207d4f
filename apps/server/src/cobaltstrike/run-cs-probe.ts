import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError, isAppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import type { ObjectStore } from '../storage/object-store.js';
import { serverId, storeBeaconConfigs, upsertTeamServer, type ServerRef } from './beacon-config-repository.js';
import { parseProbeTarget, probeTeamServer, type ProbeAttempt, type ProbeOptions, type ProbeResult } from './probe/probe-team-server.js';

export interface CsProbeDeps {
  readonly db: Database;
  readonly store: Pick<ObjectStore, 'put'>;
  /** Deny-list policy, proxy, shared rate limiter, timeouts. */
  readonly probe: ProbeOptions;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

export type ProbeOutcome = 'config' | 'no-config' | 'not-found' | 'http-error' | 'unreachable' | 'refused';

export interface CsProbeSummary {
  readonly probeId: string;
  readonly serverId: string;
  readonly outcome: ProbeOutcome;
  readonly configIds: readonly string[];
  readonly attempts: number;
}

/** Object key of a raw probe response: content-addressed, so a stage served by many servers is kept once. */
export function responseKey(sha256: string): string {
  return `cs-responses/${sha256.slice(0, 2)}/${sha256}`;
}

function attemptOutcome(attempt: ProbeAttempt): ProbeOutcome {
  if (attempt.configs.length > 0) return 'config';
  if (attempt.status === null) return 'unreachable';
  if (attempt.status === 404) return 'not-found';
  if (attempt.status >= 200 && attempt.status < 300) return 'no-config';
  return 'http-error';
}

const OUTCOME_RANK: readonly ProbeOutcome[] = ['refused', 'unreachable', 'http-error', 'not-found', 'no-config', 'config'];

function bestOutcome(outcomes: readonly ProbeOutcome[]): ProbeOutcome {
  return outcomes.reduce<ProbeOutcome>((best, o) => (OUTCOME_RANK.indexOf(o) > OUTCOME_RANK.indexOf(best) ? o : best), 'unreachable');
}

/** The server a target names; a port-less target uses its first scheme's default port. */
export function targetServer(target: string): ServerRef {
  const parsed = parseProbeTarget(target);
  return { host: parsed.host, port: parsed.port ?? (parsed.schemes[0] === 'https' ? 443 : 80) };
}

/**
 * The `cs-probe` job: probes one target, keeps every raw response in the object store, stores the configs
 * (deduplicated, linked to the server and scheme) and one history row per attempt. A target refused by the
 * deny-list is recorded as `refused` and not retried (it will not become public by waiting).
 */
export async function runCsProbe(deps: CsProbeDeps, target: string): Promise<CsProbeSummary> {
  const now = (): string => (deps.now?.() ?? new Date()).toISOString();
  const server = targetServer(target);
  const probeId = randomUUID();
  let result: ProbeResult;
  try {
    result = await probeTeamServer(target, deps.probe);
  } catch (error) {
    if (!isAppError(error) || (error.code !== 'FORBIDDEN' && error.retryable)) throw error;
    const outcome: ProbeOutcome = error.code === 'FORBIDDEN' ? 'refused' : 'unreachable';
    const id = await recordFailure(deps.db, server, probeId, target, outcome, error, now());
    deps.logger?.info({ target, outcome, code: error.code }, 'cs probe refused');
    return { probeId, serverId: id, outcome, configIds: [], attempts: 0 };
  }

  for (const attempt of result.attempts) {
    if (attempt.bodySha256 !== null) await deps.store.put(responseKey(attempt.bodySha256), attempt.body);
  }
  const configIds: string[] = [];
  const outcomes: ProbeOutcome[] = [];
  const stamp = now();
  const ref: ServerRef = { ...server, address: result.addresses[0] ?? null };
  const id = serverId(ref);
  await deps.db.transaction().execute(async (trx) => {
    await upsertTeamServer(trx, ref, stamp);
    for (const attempt of result.attempts) {
      const ids = await storeBeaconConfigs(trx, { server: ref, scheme: attempt.scheme }, attempt.configs, stamp);
      configIds.push(...ids);
      const outcome = attemptOutcome(attempt);
      outcomes.push(outcome);
      await trx
        .insertInto('cs_probes')
        .values({
          id: randomUUID(),
          probe_id: probeId,
          server_id: id,
          url: attempt.url,
          scheme: attempt.scheme,
          arch: attempt.arch,
          address: attempt.address,
          probed_at: attempt.startedAt,
          outcome,
          http_status: attempt.status,
          error: attempt.error === null ? null : `${attempt.error.code}${attempt.error.reason ? ` (${attempt.error.reason})` : ''}: ${attempt.error.message}`,
          config_id: ids[0] ?? null,
          response_key: attempt.bodySha256 === null ? null : responseKey(attempt.bodySha256),
          body_size: attempt.bodySize,
          tls_json: attempt.tls === null ? null : JSON.stringify(attempt.tls),
          headers_json: JSON.stringify(attempt.headers),
        })
        .execute();
    }
    await trx
      .updateTable('cs_team_servers')
      .set((eb) => ({ last_probed_at: stamp, last_outcome: bestOutcome(outcomes), probe_count: eb('probe_count', '+', 1) }))
      .where('id', '=', id)
      .execute();
  });
  const unique = [...new Set(configIds)];
  deps.logger?.info({ target, serverId: id, outcome: bestOutcome(outcomes), configs: unique.length }, 'cs probe finished');
  return { probeId, serverId: id, outcome: bestOutcome(outcomes), configIds: unique, attempts: result.attempts.length };
}

async function recordFailure(db: Database, server: ServerRef, probeId: string, target: string, outcome: ProbeOutcome, error: AppError, stamp: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const id = await upsertTeamServer(trx, server, stamp);
    await trx
      .insertInto('cs_probes')
      .values({
        id: randomUUID(),
        probe_id: probeId,
        server_id: id,
        url: target,
        scheme: null,
        arch: null,
        address: typeof error.details?.address === 'string' ? error.details.address : null,
        probed_at: stamp,
        outcome,
        http_status: null,
        error: `${error.code}: ${error.message}`,
        config_id: null,
        response_key: null,
        body_size: 0,
        tls_json: null,
        headers_json: '{}',
      })
      .execute();
    await trx
      .updateTable('cs_team_servers')
      .set((eb) => ({ last_probed_at: stamp, last_outcome: outcome, probe_count: eb('probe_count', '+', 1) }))
      .where('id', '=', id)
      .execute();
    return id;
  });
}
