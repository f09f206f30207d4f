import { isIP } from 'node:net';
import { sql } from 'kysely';
import { AppError } from '@malpipe/core';
import { toJpcertJson, toNativeJson, type BeaconConfig, type NativeBeaconConfig } from '@malpipe/analyzers/cobaltstrike/index';
import type { Database } from '../database/database.js';
import { beaconConfigId } from './beacon-config-id.js';
import type { CsBeaconConfigRow, CsTeamServerRow } from './cobaltstrike-tables.js';

/** Where a batch of configs was found: in a sample (by an analyser) or served by a team server. */
export type ConfigSource =
  | { readonly sha256: string; readonly analyzer?: string }
  | { readonly server: ServerRef; readonly scheme: string };

export interface ServerRef {
  readonly host: string;
  readonly port: number;
  /** The address connected to, when known. */
  readonly address?: string | null;
}

/** `host:port`, with IPv6 in brackets; the team server's id. */
export function serverId(server: Pick<ServerRef, 'host' | 'port'>): string {
  const host = server.host.toLowerCase();
  return `${isIP(host) === 6 ? `[${host}]` : host}:${server.port}`;
}

function hasRecords(config: BeaconConfig | NativeBeaconConfig): config is BeaconConfig {
  return Array.isArray((config as Partial<BeaconConfig>).records);
}

/** Ensures a team server row exists (probe targets are recorded even when refused or unreachable). */
export async function upsertTeamServer(db: Database, server: ServerRef, now: string): Promise<string> {
  const id = serverId(server);
  await db
    .insertInto('cs_team_servers')
    .values({ id, host: server.host.toLowerCase(), port: server.port, address: server.address ?? null, first_seen: now, last_seen: null, last_probed_at: null, last_outcome: null, probe_count: 0 })
    .onConflict((oc) => oc.column('id').doUpdateSet({ address: sql`coalesce(excluded.address, cs_team_servers.address)` }))
    .execute();
  return id;
}

/**
 * Stores configs deduplicated by `beaconConfigId` and links each to where it came from. A config seen again only
 * moves `last_seen` (and gains the JPCERT view if this copy carries the TLV records, i.e. was parsed in-process).
 * Idempotent: storing the same batch twice changes nothing but timestamps. Returns the config ids, in order.
 */
export async function storeBeaconConfigs(
  db: Database,
  source: ConfigSource,
  configs: readonly (BeaconConfig | NativeBeaconConfig)[],
  now: string = new Date().toISOString(),
): Promise<string[]> {
  if (configs.length === 0) return [];
  // Joins the caller's transaction (the pipeline's result transaction, a probe's history) or opens its own.
  const work = async (trx: Database): Promise<string[]> => {
    const ids: string[] = [];
    const server = 'server' in source ? await upsertTeamServer(trx, source.server, now) : null;
    for (const config of configs) {
      const id = beaconConfigId(config);
      ids.push(id);
      const native = hasRecords(config) ? toNativeJson(config) : config;
      const jpcert = hasRecords(config) ? JSON.stringify(toJpcertJson(config)) : null;
      const hosts = [...new Set(native.c2.hostsIdna.map((h) => h.toLowerCase()))];
      await trx
        .insertInto('cs_beacon_configs')
        .values({
          id,
          native_json: JSON.stringify(native),
          jpcert_json: jpcert,
          watermark: native.watermark,
          public_key_md5: native.publicKey?.md5 ?? null,
          c2_hosts: JSON.stringify(hosts),
          version: native.version.number,
          architecture: native.architecture,
          trial: native.trial ? 1 : 0,
          first_seen: now,
          last_seen: now,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({
            last_seen: sql`excluded.last_seen`,
            jpcert_json: sql`coalesce(cs_beacon_configs.jpcert_json, excluded.jpcert_json)`,
          }),
        )
        .execute();
      if (hosts.length > 0) {
        await trx
          .insertInto('cs_config_hosts')
          .values(hosts.map((host) => ({ config_id: id, host })))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      if (server !== null && 'server' in source) {
        await trx
          .insertInto('cs_config_servers')
          .values({ config_id: id, server_id: server, scheme: source.scheme, first_seen: now, last_seen: now })
          .onConflict((oc) => oc.columns(['config_id', 'server_id', 'scheme']).doUpdateSet({ last_seen: sql`excluded.last_seen` }))
          .execute();
      } else if ('sha256' in source) {
        await trx
          .insertInto('cs_config_samples')
          .values({ config_id: id, sha256: source.sha256, analyzer: source.analyzer ?? 'cobaltstrike', first_seen: now })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    }
    if (server !== null) await trx.updateTable('cs_team_servers').set({ last_seen: now }).where('id', '=', server).execute();
    return ids;
  };
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

export interface BeaconConfigQuery {
  readonly watermark?: number;
  /** A C2 host (exact, case-insensitive). */
  readonly c2?: string;
  readonly publicKeyMd5?: string;
  /** e.g. `4.5`. */
  readonly version?: string;
  readonly limit?: number;
  /** `last_seen|id` of the last row of the previous page. */
  readonly cursor?: string;
}

export interface BeaconConfigSummary {
  readonly id: string;
  readonly watermark: number | null;
  readonly publicKeyMd5: string | null;
  readonly c2Hosts: string[];
  readonly version: string | null;
  readonly architecture: string | null;
  readonly trial: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

function summary(row: Omit<CsBeaconConfigRow, 'native_json' | 'jpcert_json'>): BeaconConfigSummary {
  return {
    id: row.id,
    watermark: row.watermark === null ? null : Number(row.watermark),
    publicKeyMd5: row.public_key_md5,
    c2Hosts: JSON.parse(row.c2_hosts) as string[],
    version: row.version,
    architecture: row.architecture,
    trial: Number(row.trial) === 1,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}

const SUMMARY_COLUMNS = ['id', 'watermark', 'public_key_md5', 'c2_hosts', 'version', 'architecture', 'trial', 'first_seen', 'last_seen'] as const;

/** Configs matching every given field, most recently seen first, paged by cursor. */
export async function searchBeaconConfigs(db: Database, query: BeaconConfigQuery): Promise<{ configs: BeaconConfigSummary[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  let q = db.selectFrom('cs_beacon_configs').select(SUMMARY_COLUMNS.map((c) => `cs_beacon_configs.${c}` as const));
  if (query.watermark !== undefined) q = q.where('cs_beacon_configs.watermark', '=', query.watermark);
  if (query.publicKeyMd5 !== undefined) q = q.where('cs_beacon_configs.public_key_md5', '=', query.publicKeyMd5.toLowerCase());
  if (query.version !== undefined) q = q.where('cs_beacon_configs.version', '=', query.version);
  if (query.c2 !== undefined) {
    const host = query.c2.toLowerCase();
    q = q.where('cs_beacon_configs.id', 'in', db.selectFrom('cs_config_hosts').select('config_id').where('host', '=', host));
  }
  if (query.cursor !== undefined) {
    const [lastSeen, id] = query.cursor.split('|');
    if (lastSeen === undefined || id === undefined) throw new AppError('VALIDATION_FAILED', 'malformed cursor');
    q = q.where((eb) =>
      eb.or([eb('cs_beacon_configs.last_seen', '<', lastSeen), eb.and([eb('cs_beacon_configs.last_seen', '=', lastSeen), eb('cs_beacon_configs.id', '<', id)])]),
    );
  }
  const rows = await q.orderBy('cs_beacon_configs.last_seen', 'desc').orderBy('cs_beacon_configs.id', 'desc').limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { configs: page.map(summary), nextCursor: rows.length > limit && last ? `${last.last_seen}|${last.id}` : null };
}

export interface TeamServerSummary {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly address: string | null;
  readonly firstSeen: string;
  readonly lastSeen: string | null;
  readonly lastProbedAt: string | null;
  readonly lastOutcome: string | null;
  readonly probeCount: number;
}

function serverSummary(row: CsTeamServerRow): TeamServerSummary {
  return {
    id: row.id,
    host: row.host,
    port: Number(row.port),
    address: row.address,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    lastProbedAt: row.last_probed_at,
    lastOutcome: row.last_outcome,
    probeCount: Number(row.probe_count),
  };
}

export interface BeaconConfigDetail extends BeaconConfigSummary {
  readonly native: NativeBeaconConfig;
  /** The JPCERT/CC view, or null when the config was only seen in analyser results (no TLV records). */
  readonly jpcert: Record<string, unknown> | null;
  readonly samples: { readonly sha256: string; readonly analyzer: string; readonly firstSeen: string }[];
  readonly servers: (TeamServerSummary & { readonly scheme: string; readonly configFirstSeen: string; readonly configLastSeen: string })[];
}

/** One config with the samples and servers it was seen in; throws NOT_FOUND. */
export async function getBeaconConfig(db: Database, id: string): Promise<BeaconConfigDetail> {
  const row = await db.selectFrom('cs_beacon_configs').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new AppError('NOT_FOUND', `no beacon config ${id}`);
  const samples = await db.selectFrom('cs_config_samples').select(['sha256', 'analyzer', 'first_seen']).where('config_id', '=', id).orderBy('first_seen').execute();
  const servers = await db
    .selectFrom('cs_config_servers')
    .innerJoin('cs_team_servers', 'cs_team_servers.id', 'cs_config_servers.server_id')
    .selectAll('cs_team_servers')
    .select(['cs_config_servers.scheme', 'cs_config_servers.first_seen as config_first_seen', 'cs_config_servers.last_seen as config_last_seen'])
    .where('cs_config_servers.config_id', '=', id)
    .orderBy('cs_config_servers.last_seen', 'desc')
    .execute();
  return {
    ...summary(row),
    native: JSON.parse(row.native_json) as NativeBeaconConfig,
    jpcert: row.jpcert_json === null ? null : (JSON.parse(row.jpcert_json) as Record<string, unknown>),
    samples: samples.map((s) => ({ sha256: s.sha256, analyzer: s.analyzer, firstSeen: s.first_seen })),
    servers: servers.map((s) => ({ ...serverSummary(s), scheme: s.scheme, configFirstSeen: s.config_first_seen, configLastSeen: s.config_last_seen })),
  };
}

export interface TeamServerListing extends TeamServerSummary {
  /** Ids of the configs this server has served, most recent first. */
  readonly configIds: string[];
}

/** Known team servers, most recently probed first. */
export async function listTeamServers(db: Database, options: { readonly limit?: number; readonly offset?: number } = {}): Promise<TeamServerListing[]> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
  const rows = await db
    .selectFrom('cs_team_servers')
    .selectAll()
    .orderBy(sql`coalesce(last_probed_at, first_seen)`, 'desc')
    .orderBy('id')
    .limit(limit)
    .offset(Math.max(0, options.offset ?? 0))
    .execute();
  if (rows.length === 0) return [];
  const links = await db
    .selectFrom('cs_config_servers')
    .select(['server_id', 'config_id', 'last_seen'])
    .where(
      'server_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('last_seen', 'desc')
    .execute();
  return rows.map((row) => ({
    ...serverSummary(row),
    configIds: [...new Set(links.filter((l) => l.server_id === row.id).map((l) => l.config_id))],
  }));
}

/** Servers due for a re-probe: probed before `before` (or never), oldest first. */
export async function listServersDueForProbe(db: Database, before: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('cs_team_servers')
    .select(['id'])
    .where((eb) => eb.or([eb('last_probed_at', 'is', null), eb('last_probed_at', '<', before)]))
    .orderBy(sql`coalesce(last_probed_at, '')`)
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export interface ProbeHistoryEntry {
  readonly probeId: string;
  readonly url: string;
  readonly scheme: string | null;
  readonly arch: string | null;
  readonly address: string | null;
  readonly probedAt: string;
  readonly outcome: string;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly configId: string | null;
  readonly responseKey: string | null;
  readonly bodySize: number;
  readonly tls: Record<string, unknown> | null;
  readonly headers: Record<string, unknown>;
}

/** A team server's probe attempts, newest first; throws NOT_FOUND for an unknown server. */
export async function listProbeHistory(db: Database, id: string, limit = 100): Promise<ProbeHistoryEntry[]> {
  const known = await db.selectFrom('cs_team_servers').select('id').where('id', '=', id).executeTakeFirst();
  if (known === undefined) throw new AppError('NOT_FOUND', `no team server ${id}`);
  const rows = await db
    .selectFrom('cs_probes')
    .selectAll()
    .where('server_id', '=', id)
    .orderBy('probed_at', 'desc')
    .orderBy('id')
    .limit(Math.min(Math.max(limit, 1), 1000))
    .execute();
  return rows.map((r) => ({
    probeId: r.probe_id,
    url: r.url,
    scheme: r.scheme,
    arch: r.arch,
    address: r.address,
    probedAt: r.probed_at,
    outcome: r.outcome,
    httpStatus: r.http_status === null ? null : Number(r.http_status),
    error: r.error,
    configId: r.config_id,
    responseKey: r.response_key,
    bodySize: Number(r.body_size),
    tls: r.tls_json === null ? null : (JSON.parse(r.tls_json) as Record<string, unknown>),
    headers: JSON.parse(r.headers_json) as Record<string, unknown>,
  }));
}
