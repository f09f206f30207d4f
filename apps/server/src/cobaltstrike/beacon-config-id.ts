import { createHash } from 'node:crypto';
import type { BeaconConfig, NativeBeaconConfig } from '@malpipe/analyzers/cobaltstrike/index';

type JsonLike = string | number | boolean | null | readonly JsonLike[] | { readonly [key: string]: JsonLike | undefined };

/** JSON with object keys sorted at every level, so equal values always serialise to the same bytes. */
export function canonicalJson(value: JsonLike): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${(value as readonly JsonLike[]).map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as { readonly [key: string]: JsonLike | undefined })
    .filter((entry): entry is [string, JsonLike] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The identity of a beacon configuration: SHA-256 of the canonical JSON of its settings (id, type, declared
 * length, and the raw bytes where the parser kept them, else the decoded value). Where the block was found
 * (offset, container, architecture) is provenance, not identity: the same config served by two team servers, or
 * found in a sample and downloaded from its C2, is one row.
 */
export function beaconConfigId(config: Pick<BeaconConfig | NativeBeaconConfig, 'settings'>): string {
  const settings = config.settings.map((s) => ({ id: s.id, type: s.type, length: s.length, value: s.raw ?? s.value }));
  return createHash('sha256').update(canonicalJson(settings as unknown as JsonLike)).digest('hex');
}
