import { createHash } from 'node:crypto';
import type { BeaconConfig, JsonValue, SettingRecord } from './beacon-config.js';
import { ipv4, killDateString } from './decode-settings.js';
import { recordNumber } from './parse-setting-records.js';
import { stripTrailingZeros } from './public-key.js';
import { ALLOCATORS, DOMAIN_STRATEGIES, PROTOCOL_FLAGS, PROXY_BEHAVIORS } from './setting-table.js';
import {
  decodeExecuteList,
  decodeRecoverProgram,
  decodeTransformProgram,
  describeExecuteEntry,
  describeRecoverStep,
} from './transform-programs.js';

/**
 * The JPCERT/CC CobaltStrike-Config view: exactly the 66 keys, in order, of Sentinel-One CobaltStrikeParser's
 * `--json`, with its value conventions ("Not Found", base64 bytes, "True"/"False", signed ints, PublicKey_MD5 over
 * the key with trailing zeros stripped). Two S1 bugs are corrected unless `bugCompatible` is set: SSH_Banner is read
 * from id 56 (S1 reads the Host header, id 54) and spoofed-start execute entries are decoded (S1 emits "b:b").
 */
export interface JpcertOptions {
  readonly bugCompatible?: boolean;
  /** `stripped` (JPCERT's published files, default) or `full-field` (S1 HEAD since commit 232858b). */
  readonly publicKeyMd5?: 'stripped' | 'full-field';
}

export const JPCERT_KEYS = [
  'BeaconType', 'Port', 'SleepTime', 'MaxGetSize', 'Jitter', 'MaxDNS', 'PublicKey', 'PublicKey_MD5', 'C2Server',
  'UserAgent', 'HttpPostUri', 'Malleable_C2_Instructions', 'HttpGet_Metadata', 'HttpPost_Metadata', 'SpawnTo',
  'PipeName', 'DNS_Idle', 'DNS_Sleep', 'SSH_Host', 'SSH_Port', 'SSH_Username', 'SSH_Password_Plaintext',
  'SSH_Password_Pubkey', 'SSH_Banner', 'HttpGet_Verb', 'HttpPost_Verb', 'HttpPostChunk', 'Spawnto_x86', 'Spawnto_x64',
  'CryptoScheme', 'Proxy_Config', 'Proxy_User', 'Proxy_Password', 'Proxy_Behavior', 'Watermark_Hash', 'Watermark',
  'bStageCleanup', 'bCFGCaution', 'KillDate', 'bProcInject_StartRWX', 'bProcInject_UseRWX', 'bProcInject_MinAllocSize',
  'ProcInject_PrependAppend_x86', 'ProcInject_PrependAppend_x64', 'ProcInject_Execute', 'ProcInject_AllocationMethod',
  'ProcInject_Stub', 'bUsesCookies', 'HostHeader', 'smbFrameHeader', 'tcpFrameHeader', 'headersToRemove',
  'DNS_Beaconing', 'DNS_get_TypeA', 'DNS_get_TypeAAAA', 'DNS_get_TypeTXT', 'DNS_put_metadata', 'DNS_put_output',
  'DNS_resolver', 'DNS_strategy', 'DNS_strategy_rotate_seconds', 'DNS_strategy_fail_x', 'DNS_strategy_fail_seconds',
  'Retry_Max_Attempts', 'Retry_Increase_Attempts', 'Retry_Duration',
] as const;

export type JpcertKey = (typeof JPCERT_KEYS)[number];
export type JpcertJson = { [K in JpcertKey]: JsonValue };

const NOT_FOUND = 'Not Found';
const SHORT = 1;
const INT = 2;
const PTR = 3;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function s1Transform(value: Uint8Array, get: boolean): JsonValue {
  const out: Record<'ConstHeaders' | 'ConstParams' | 'Metadata' | 'SessionId' | 'Output', string[]> = {
    ConstHeaders: [],
    ConstParams: [],
    Metadata: [],
    SessionId: [],
    Output: [],
  };
  let category: 'Metadata' | 'SessionId' | 'Output' | null = null;
  for (const step of decodeTransformProgram(value).steps) {
    if (step.op === 7) category = get ? 'Metadata' : step.argument === 0 ? 'SessionId' : 'Output';
    else if (step.op === 9) out.ConstParams.push(String(step.argument));
    else if (step.op === 10 || step.op === 16) out.ConstHeaders.push(String(step.argument));
    else if (step.op === 14) break;
    else if (category !== null) out[category].push(step.argument === undefined ? step.name : `${step.name} "${String(step.argument)}"`);
  }
  return out;
}

function s1InjectTransform(value: Uint8Array): JsonValue {
  if (value.every((b) => b === 0)) return 'Empty';
  const u32 = (o: number): number => (((value[o] ?? 0) << 24) | ((value[o + 1] ?? 0) << 16) | ((value[o + 2] ?? 0) << 8) | (value[o + 3] ?? 0)) >>> 0;
  const prependLength = Math.min(u32(0), Math.max(0, value.length - 4));
  const prepend = value.subarray(4, 4 + prependLength);
  const appendLength = u32(4 + prependLength);
  const append = value.subarray(8 + prependLength, 8 + prependLength + appendLength);
  const appendEmpty = appendLength >= 256 || append.every((b) => b === 0);
  return [b64(prepend), appendEmpty ? 'Empty' : b64(append)];
}

function s1Execute(value: Uint8Array, bugCompatible: boolean): JsonValue {
  return decodeExecuteList(value).entries.map((e) => (e.module !== undefined && bugCompatible ? 'b:b' : describeExecuteEntry(e)));
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** S1 decodes strings as UTF-8; bytes that are not UTF-8 (raw latin-1 hosts) fall back to latin-1 instead of failing. */
function text(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

/** The string up to its first NUL; S1 (bug-compatible) strips NULs at both ends and keeps anything between. */
function s1String(bytes: Uint8Array, bugCompatible: boolean): string {
  if (!bugCompatible) {
    const nul = bytes.indexOf(0);
    return text(nul < 0 ? bytes : bytes.subarray(0, nul));
  }
  let start = 0;
  let end = bytes.length;
  while (start < end && bytes[start] === 0) start++;
  while (end > start && bytes[end - 1] === 0) end--;
  return text(bytes.subarray(start, end));
}

/**
 * JSON text as Python's `json.dumps` writes it (what CobaltStrikeParser --json prints and JPCERT/CC stores):
 * `", "` and `": "` separators, non-ASCII escaped as \uXXXX.
 */
export function formatPythonJson(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'NaN';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(formatPythonJson).join(', ')}]`;
  const entries = Object.entries(value as { readonly [key: string]: JsonValue });
  return `{${entries.map(([k, v]) => `${formatPythonJson(k)}: ${formatPythonJson(v)}`).join(', ')}}`;
}

/** The S1/JPCERT view of one config. */
export function toJpcertJson(config: BeaconConfig, options: JpcertOptions = {}): JpcertJson {
  const bug = options.bugCompatible === true;
  const cString = (v: Uint8Array): string => s1String(v, bug);
  const byId = new Map<number, SettingRecord>();
  for (const r of config.records) if (!byId.has(r.id)) byId.set(r.id, r);
  const typed = (id: number, type: number): SettingRecord | undefined => {
    const r = byId.get(id);
    return r && r.typeCode === type ? r : undefined;
  };
  const short = (id: number, render: (n: number) => JsonValue = (n) => n): JsonValue => {
    const r = typed(id, SHORT);
    const n = r ? recordNumber(r) : null;
    return n === null ? NOT_FOUND : render(n);
  };
  const int = (id: number, render: (n: number) => JsonValue = (n) => n | 0): JsonValue => {
    const r = typed(id, INT);
    const n = r ? recordNumber(r) : null;
    return n === null ? NOT_FOUND : render(n);
  };
  const ptr = (id: number, render: (v: Uint8Array) => JsonValue = cString): JsonValue => {
    const r = typed(id, PTR);
    return r ? render(r.value) : NOT_FOUND;
  };
  const bool = (id: number, falseValue = 0): JsonValue => short(id, (n) => (n === falseValue ? 'False' : 'True'));
  const enumOf = (names: Readonly<Record<number, string>> | readonly string[]) => (n: number): JsonValue =>
    (names as Record<number, string | undefined>)[n] ?? NOT_FOUND;

  const json: Record<JpcertKey, JsonValue> = {
    BeaconType: short(1, (n) => PROTOCOL_FLAGS.filter((f) => (f.bit === 0 ? n === 0 : (n & f.bit) !== 0)).map((f) => f.s1)),
    Port: short(2),
    SleepTime: int(3),
    MaxGetSize: int(4),
    Jitter: short(5),
    MaxDNS: short(6),
    PublicKey: ptr(7, b64),
    PublicKey_MD5: ptr(7, (v) => createHash('md5').update(options.publicKeyMd5 === 'full-field' ? v : stripTrailingZeros(v)).digest('hex')),
    C2Server: ptr(8),
    UserAgent: ptr(9),
    HttpPostUri: ptr(10),
    Malleable_C2_Instructions: ptr(11, (v) => decodeRecoverProgram(v).steps.map(describeRecoverStep).filter((s): s is string => s !== null)),
    HttpGet_Metadata: ptr(12, (v) => s1Transform(v, true)),
    HttpPost_Metadata: ptr(13, (v) => s1Transform(v, false)),
    SpawnTo: ptr(14, b64),
    PipeName: ptr(15),
    DNS_Idle: int(19, (n) => ipv4(n)),
    DNS_Sleep: int(20),
    SSH_Host: ptr(21),
    SSH_Port: short(22),
    SSH_Username: ptr(23),
    SSH_Password_Plaintext: ptr(24),
    SSH_Password_Pubkey: ptr(25),
    SSH_Banner: ptr(bug ? 54 : 56),
    HttpGet_Verb: ptr(26),
    HttpPost_Verb: ptr(27),
    HttpPostChunk: int(28),
    Spawnto_x86: ptr(29),
    Spawnto_x64: ptr(30),
    CryptoScheme: short(31),
    Proxy_Config: ptr(32),
    Proxy_User: ptr(33),
    Proxy_Password: ptr(34),
    Proxy_Behavior: short(35, enumOf(PROXY_BEHAVIORS)),
    Watermark_Hash: ptr(36),
    Watermark: int(37),
    bStageCleanup: bool(38),
    bCFGCaution: bool(39),
    KillDate: int(40, (n) => killDateString(n) ?? 0),
    bProcInject_StartRWX: bool(43, 4),
    bProcInject_UseRWX: bool(44, 32),
    bProcInject_MinAllocSize: int(45),
    ProcInject_PrependAppend_x86: ptr(46, s1InjectTransform),
    ProcInject_PrependAppend_x64: ptr(47, s1InjectTransform),
    ProcInject_Execute: ptr(51, (v) => s1Execute(v, bug)),
    ProcInject_AllocationMethod: short(52, enumOf(ALLOCATORS)),
    ProcInject_Stub: ptr(53, b64),
    bUsesCookies: bool(50),
    HostHeader: ptr(54),
    smbFrameHeader: ptr(57, b64),
    tcpFrameHeader: ptr(58, b64),
    headersToRemove: ptr(59),
    DNS_Beaconing: ptr(60),
    DNS_get_TypeA: ptr(61),
    DNS_get_TypeAAAA: ptr(62),
    DNS_get_TypeTXT: ptr(63),
    DNS_put_metadata: ptr(64),
    DNS_put_output: ptr(65),
    DNS_resolver: ptr(66),
    DNS_strategy: short(67, enumOf(DOMAIN_STRATEGIES)),
    DNS_strategy_rotate_seconds: int(68),
    DNS_strategy_fail_x: int(69),
    DNS_strategy_fail_seconds: int(70),
    Retry_Max_Attempts: int(71),
    Retry_Increase_Attempts: int(72),
    Retry_Duration: int(73),
  };
  // Rebuild in the published key order (object literal order is already that order; this guards edits).
  return Object.fromEntries(JPCERT_KEYS.map((k) => [k, json[k]])) as JpcertJson;
}
