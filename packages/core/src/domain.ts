import type { FileType } from './file-type.js';

/** Lower-case hex digests. The SHA-256 is a sample's identity everywhere. */
export interface SampleHashes {
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
  readonly sha512: string;
}

/** Fuzzy hashes, computed by the `hashes` analyser after ingestion (CPU-heavy on large files). */
export interface FuzzyHashes {
  readonly ssdeep: string | null;
  readonly tlsh: string | null;
}

export interface Sample extends SampleHashes {
  readonly size: number;
  readonly fileType: FileType;
  readonly fileNames: readonly string[];
  readonly sources: readonly string[];
  readonly tags: readonly string[];
  readonly ssdeep: string | null;
  readonly tlsh: string | null;
  readonly imphash: string | null;
  readonly firstSeen: string;
  readonly lastSeen: string;
}

/** How a child sample was produced from its parent. */
export const RELATION_KINDS = ['extracted', 'decoded', 'decompressed', 'dropped', 'carved', 'downloaded'] as const;
export type RelationKind = (typeof RELATION_KINDS)[number];

export interface SampleRelation {
  readonly parentSha256: string;
  readonly childSha256: string;
  readonly kind: RelationKind;
  /** Analyser that produced the child, e.g. `archive`. */
  readonly analyzer: string;
  /** Path inside the archive, offset of the carved blob, codec used... */
  readonly detail: string | null;
}

export const INDICATOR_TYPES = [
  'url',
  'domain',
  'ipv4',
  'ipv6',
  'ip-port',
  'email',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'cs-watermark',
  'cs-public-key-md5',
] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export interface Indicator {
  readonly type: IndicatorType;
  /** Normalised (refanged, lower-cased where case does not matter). */
  readonly value: string;
  /** Where it was seen: string offset, config field... */
  readonly context?: string;
  /** Qualifiers that lower an indicator's weight without dropping it (see INDICATOR_FLAGS). */
  readonly flags?: readonly IndicatorFlag[];
}

/**
 * `reserved`: special-use name or address (example.com, *.test, localhost, loopback, documentation and
 * multicast ranges...). `private`: RFC 1918 / CGNAT / unique-local address, meaningful inside one network only.
 */
export const INDICATOR_FLAGS = ['reserved', 'private'] as const;
export type IndicatorFlag = (typeof INDICATOR_FLAGS)[number];

export type ResultStatus = 'ok' | 'error' | 'skipped';

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];
