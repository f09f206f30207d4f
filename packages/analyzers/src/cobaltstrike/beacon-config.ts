/** JSON-serialisable value, as stored in analyser results. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Record type codes of the config TLV list (Settings.java TYPE_*). */
export const SETTING_TYPE_NAMES = { 0: 'none', 1: 'short', 2: 'int', 3: 'ptr' } as const;
export type SettingTypeName = 'none' | 'short' | 'int' | 'ptr' | 'unknown';

/** One TLV record as the beacon reads it: SHORT/INT values are 2/4 bytes whatever the length field says. */
export interface SettingRecord {
  readonly id: number;
  readonly typeCode: number;
  readonly length: number;
  /** Offset of the record header inside the decoded block. */
  readonly offset: number;
  readonly value: Uint8Array;
}

export interface ParseIssue {
  /** Stable machine-readable kind, e.g. `truncated-record`, `record-past-end`. */
  readonly code: string;
  readonly message: string;
  readonly offset?: number;
}

/** One decoded setting in the native output. */
export interface DecodedSetting {
  readonly id: number;
  /** Canonical name (BeaconConstants.java / dissect), `SETTING_<id>` when unknown. */
  readonly name: string;
  readonly type: SettingTypeName;
  readonly length: number;
  readonly offset: number;
  /** Decoded value; unknown ids keep their raw bytes as hex. */
  readonly value: JsonValue;
  /** Raw value bytes as hex, for bytes/ptr settings. */
  readonly raw?: string;
}

export type ContainerKind = 'raw' | 'sleeve' | 'artifact-kit' | 'guardrails' | 'memory-runtime';

export interface ContainerStep {
  readonly kind: Exclude<ContainerKind, 'raw' | 'guardrails' | 'memory-runtime'>;
  /** Offset of the container data in its parent buffer. */
  readonly offset: number;
  readonly detail: Readonly<Record<string, JsonValue>>;
}

export interface PeInfo {
  readonly offset: number;
  readonly architecture: 'x86' | 'x64';
  readonly compileStamp: number;
  readonly exportStamp: number | null;
  readonly magicMz: string;
  readonly magicPe: string;
  /** Bytes before the PE (hex), null when none. */
  readonly stagePrepend: string | null;
  /** Bytes after the last section (hex), null when none. */
  readonly stageAppend: string | null;
}

export interface BeaconVersion {
  /** e.g. `Cobalt Strike 4.2 (Nov 06, 2020)`, or `Unknown`. */
  readonly name: string;
  /** e.g. `4.2`, or null when unknown. */
  readonly number: string | null;
  readonly source: 'pe-export-stamp' | 'max-setting-id' | 'unknown';
  readonly maxSettingId: number;
}

export interface GuardrailInfo {
  /** The environmental key the block was masked with (lower-cased user/computer/domain), if recovered. */
  readonly environmentKey: string | null;
  readonly guardXorKey: number;
  readonly guardOffset: number;
  readonly options: readonly { readonly id: number; readonly name: string; readonly value: JsonValue }[];
  readonly payloadChecksum: number | null;
  readonly checksumVerified: boolean;
}

export interface PublicKeyInfo {
  /** DER SubjectPublicKeyInfo (trailing zero padding removed), hex. */
  readonly der: string;
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
  /** MD5 of the full zero-padded field (Sentinel-One HEAD convention). */
  readonly md5FullField: string;
  readonly modulus: string | null;
  readonly exponent: number | null;
  readonly bits: number | null;
  /** The matching private key is public (leaked or cracked team server): traffic can be decrypted. */
  readonly knownPrivateKey: boolean;
}

/** The native JSON record for one beacon configuration. */
export interface BeaconConfig {
  /** Offset of the config block in the buffer it was found in (see `containers`). */
  readonly offset: number;
  /** Offset in the original input when the block sits in the input itself, else the outermost container offset. */
  readonly inputOffset: number;
  readonly xorKey: number | null;
  readonly containers: readonly ContainerStep[];
  readonly source: ContainerKind;
  readonly architecture: 'x86' | 'x64' | null;
  readonly pe: PeInfo | null;
  readonly version: BeaconVersion;
  readonly guardrails: GuardrailInfo | null;
  readonly trial: boolean;
  readonly settings: readonly DecodedSetting[];
  /** Convenience view of the decoded settings keyed by a stable camelCase name. */
  readonly fields: Readonly<Record<string, JsonValue>>;
  readonly c2: {
    readonly hosts: readonly string[];
    readonly hostsIdna: readonly string[];
    readonly urls: readonly string[];
  };
  readonly publicKey: PublicKeyInfo | null;
  readonly watermark: number | null;
  readonly issues: readonly ParseIssue[];
  /** The decoded TLV block (not serialised), kept for formatters and re-parsing. */
  readonly records: readonly SettingRecord[];
}
