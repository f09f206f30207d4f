import type { Selectable } from 'kysely';

type Timestamp = string;
type Json = string;

/**
 * The Cobalt Strike tables (migration 0002-cobaltstrike). Configs are deduplicated by `beaconConfigId`; samples
 * and team servers link to them; every probe attempt is kept as history with its raw response in the object store.
 */
export interface CobaltStrikeTables {
  cs_beacon_configs: CsBeaconConfigsTable;
  cs_config_hosts: CsConfigHostsTable;
  cs_config_samples: CsConfigSamplesTable;
  cs_team_servers: CsTeamServersTable;
  cs_config_servers: CsConfigServersTable;
  cs_probes: CsProbesTable;
}

export interface CsBeaconConfigsTable {
  /** SHA-256 of the canonical JSON of the settings (see beacon-config-id.ts). */
  id: string;
  /** The native record (NativeBeaconConfig) as first seen. */
  native_json: Json;
  /** The JPCERT/CC (Sentinel-One) view; null when only the native record was available (sample results). */
  jpcert_json: Json | null;
  watermark: number | null;
  public_key_md5: string | null;
  /** JSON array of C2 hosts (IDNA); searchable through cs_config_hosts. */
  c2_hosts: Json;
  /** e.g. `4.5`; null when unknown. */
  version: string | null;
  architecture: string | null;
  /** 0/1. */
  trial: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
}

export interface CsConfigHostsTable {
  config_id: string;
  /** Lower-cased. */
  host: string;
}

export interface CsConfigSamplesTable {
  config_id: string;
  sha256: string;
  analyzer: string;
  first_seen: Timestamp;
}

export interface CsTeamServersTable {
  /** `host:port` (`[v6]:port`), lower-cased. */
  id: string;
  host: string;
  port: number;
  /** The address last connected to (the JPCERT export names files after it). */
  address: string | null;
  first_seen: Timestamp;
  /** Last time the server handed out a config. */
  last_seen: Timestamp | null;
  last_probed_at: Timestamp | null;
  last_outcome: string | null;
  probe_count: number;
}

export interface CsConfigServersTable {
  config_id: string;
  server_id: string;
  scheme: string;
  first_seen: Timestamp;
  last_seen: Timestamp;
}

export interface CsProbesTable {
  id: string;
  /** Groups the attempts of one probeTeamServer run. */
  probe_id: string;
  server_id: string;
  url: string;
  scheme: string | null;
  arch: string | null;
  address: string | null;
  probed_at: Timestamp;
  /** config | no-config | not-found | http-error | unreachable | refused */
  outcome: string;
  http_status: number | null;
  error: string | null;
  config_id: string | null;
  /** Object key of the raw response body (`cs-responses/<sha256>`), null when empty. */
  response_key: string | null;
  body_size: number;
  tls_json: Json | null;
  headers_json: Json;
}

export type CsBeaconConfigRow = Selectable<CsBeaconConfigsTable>;
export type CsTeamServerRow = Selectable<CsTeamServersTable>;
export type CsProbeRow = Selectable<CsProbesTable>;
