import { domainToASCII } from 'node:url';
import type { DecodedSetting, JsonValue, PublicKeyInfo, SettingRecord, SettingTypeName } from './beacon-config.js';
import { recordNumber } from './parse-setting-records.js';
import { decodePublicKey } from './public-key.js';
import {
  ALLOCATORS,
  BEACON_GATE_APIS,
  BOF_ALLOCATORS,
  DOMAIN_STRATEGIES,
  EXIT_FUNCTIONS,
  PROTOCOL_FLAGS,
  PROXY_BEHAVIORS,
  SETTINGS_BY_ID,
  type SettingDecoder,
} from './setting-table.js';
import {
  cString,
  decodeExecuteList,
  decodeGargleSections,
  decodeInjectTransform,
  decodeRecoverProgram,
  decodeTransformProgram,
  describeExecuteEntry,
} from './transform-programs.js';

export interface DecodedSettings {
  readonly settings: DecodedSetting[];
  readonly fields: Record<string, JsonValue>;
  readonly publicKey: PublicKeyInfo | null;
  readonly watermark: number | null;
  readonly protocol: number | null;
  readonly c2: { hosts: string[]; hostsIdna: string[]; urls: string[] };
}

const TYPE_NAMES: Readonly<Record<number, SettingTypeName>> = { 0: 'none', 1: 'short', 2: 'int', 3: 'ptr' };

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Names of the protocol flags set in setting 1 (0 is plain http). */
export function protocolNames(value: number): string[] {
  if (value === 0) return ['http'];
  return PROTOCOL_FLAGS.filter((f) => f.bit !== 0 && (value & f.bit) !== 0).map((f) => f.name);
}

export function ipv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/** Kill date as the builder writes it (YYYYMMDD decimal), or null for 0. */
export function killDateString(value: number): string | null {
  if (value === 0) return null;
  const s = String(value);
  return s.length === 8 ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s;
}

/** Splits setting 8 into host/URI pairs: `host,/uri[,host,/uri...]`. */
export function splitDomains(value: string): { host: string; uri: string }[] {
  const parts = value.split(',').map((p) => p.trim());
  const pairs: { host: string; uri: string }[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const host = parts[i] ?? '';
    if (host === '') continue;
    pairs.push({ host, uri: parts[i + 1] ?? '' });
  }
  return pairs;
}

/** Which definition applies: a few ids changed meaning between versions and are told apart by type or max id. */
function resolveDefinition(record: SettingRecord, maxId: number): { name: string; key: string; decoder: SettingDecoder | 'raw' } {
  const isNewer = maxId >= 74;
  switch (record.id) {
    case 16:
      if (isNewer) return { name: 'SETTING_BOF_ALLOCATOR', key: 'bofAllocator', decoder: 'bof-allocator' };
      break;
    case 17:
      if (record.typeCode === 2) return { name: 'SETTING_SYSCALL_METHOD', key: 'syscallMethod', decoder: 'number' };
      break;
    case 36:
      if (record.typeCode === 1) return { name: 'DEPRECATED_SETTING_INJECT_OPTIONS', key: 'injectOptions', decoder: 'number' };
      break;
    case 48:
      if (isNewer) return { name: 'SETTING_PROCINJ_BOF_REUSE_MEM', key: 'processInjectBofReuseMemory', decoder: 'bool' };
      break;
    default:
      break;
  }
  const known = SETTINGS_BY_ID.get(record.id);
  if (known) return known;
  return { name: `SETTING_${record.id}`, key: `setting${record.id}`, decoder: 'raw' };
}

const NUMERIC_DECODERS: ReadonlySet<string> = new Set([
  'number', 'signed', 'protocol', 'ipv4', 'bool', 'date', 'page-protection', 'strategy', 'proxy-behavior', 'allocator',
  'exit-funk', 'bof-allocator',
]);

function decodeValue(record: SettingRecord, decoder: SettingDecoder | 'raw'): JsonValue {
  const n = recordNumber(record);
  const v = record.value;
  // A type that does not fit the decoder (custom builds, damaged blocks) falls back to the plain value.
  if (NUMERIC_DECODERS.has(decoder) && n === null) return hex(v);
  if (!NUMERIC_DECODERS.has(decoder) && decoder !== 'raw' && n !== null) return n;
  switch (decoder) {
    case 'raw':
      return n ?? hex(v);
    case 'number':
      return n;
    case 'signed':
      return n === null ? null : n | 0;
    case 'protocol':
      return { value: n, names: protocolNames(n ?? 0) };
    case 'ipv4':
      return ipv4(n ?? 0);
    case 'bool':
      return n !== 0;
    case 'date':
      return killDateString(n ?? 0);
    case 'page-protection':
      return { value: n, rwx: n === 0x40, name: n === 0x40 ? 'PAGE_EXECUTE_READWRITE' : n === 0x20 ? 'PAGE_EXECUTE_READ' : n === 0x04 ? 'PAGE_READWRITE' : `0x${(n ?? 0).toString(16)}` };
    case 'strategy':
      return DOMAIN_STRATEGIES[n ?? 0] ?? `unknown (${String(n)})`;
    case 'proxy-behavior':
      return PROXY_BEHAVIORS[n ?? 0] ?? `unknown (${String(n)})`;
    case 'allocator':
      return ALLOCATORS[n ?? 0] ?? `unknown (${String(n)})`;
    case 'exit-funk':
      return EXIT_FUNCTIONS[n ?? 0] ?? `unknown (${String(n)})`;
    case 'bof-allocator':
      return BOF_ALLOCATORS[n ?? 0] ?? `unknown (${String(n)})`;
    case 'string':
      return cString(v);
    case 'bytes':
      return hex(v);
    case 'public-key':
      return { ...decodePublicKey(v) };
    case 'domains': {
      const text = cString(v);
      return { value: text, pairs: splitDomains(text).map((p) => ({ host: p.host, uri: p.uri })) };
    }
    case 'recover-program': {
      const program = decodeRecoverProgram(v);
      return { steps: program.steps.map(stepJson), complete: program.complete };
    }
    case 'transform-get':
    case 'transform-post': {
      const program = decodeTransformProgram(v);
      return { steps: program.steps.map(stepJson), complete: program.complete };
    }
    case 'inject-transform': {
      const t = decodeInjectTransform(v);
      return t === null ? null : { prepend: hex(t.prepend), append: hex(t.append) };
    }
    case 'inject-execute': {
      const list = decodeExecuteList(v);
      return list.entries.map(describeExecuteEntry);
    }
    case 'gargle-sections':
      return decodeGargleSections(v).map((s) => ({ start: s.start, end: s.end }));
    case 'frame-header': {
      const size = v.length >= 2 ? ((v[0] ?? 0) << 8) | (v[1] ?? 0) : 0;
      return { size, hex: hex(v.subarray(0, Math.min(v.length, Math.max(0, size)))) };
    }
    case 'header-list':
      return cString(v).split('\r\n').map((s) => s.trim()).filter((s) => s !== '');
    case 'beacon-gate':
      return BEACON_GATE_APIS.filter((_, i) => (v[i] ?? 0) !== 0);
  }
}

function stepJson(step: { op: number; name: string; argument?: string | number; argument2?: string }): JsonValue {
  const out: Record<string, JsonValue> = { op: step.op, name: step.name };
  if (step.argument !== undefined) out.argument = step.argument;
  if (step.argument2 !== undefined) out.argument2 = step.argument2;
  return out;
}

/** Decodes every record (known ids by the table, unknown ids kept raw) and derives the C2 view. */
export function decodeSettings(records: readonly SettingRecord[]): DecodedSettings {
  const maxId = records.reduce((m, r) => Math.max(m, r.id), 0);
  const settings: DecodedSetting[] = [];
  const fields: Record<string, JsonValue> = {};
  let publicKey: PublicKeyInfo | null = null;
  let watermark: number | null = null;
  let protocol: number | null = null;
  let domains = '';
  let port: number | null = null;
  for (const record of records) {
    const definition = resolveDefinition(record, maxId);
    // The public key is decoded once: its digests feed both the setting value and the summary.
    const key = definition.decoder === 'public-key' && record.typeCode === 3 ? decodePublicKey(record.value) : null;
    const value = key ? { ...key } : decodeValue(record, definition.decoder);
    const type = TYPE_NAMES[record.typeCode] ?? 'unknown';
    const setting: DecodedSetting =
      type === 'ptr' || type === 'unknown' || type === 'none'
        ? { id: record.id, name: definition.name, type, length: record.length, offset: record.offset, value, raw: hex(record.value) }
        : { id: record.id, name: definition.name, type, length: record.length, offset: record.offset, value };
    settings.push(setting);
    // A duplicate id overwrites the earlier one in the beacon's settings array, so the last occurrence wins here too.
    fields[definition.key] = value;
    const n = recordNumber(record);
    if (key) publicKey = key;
    if (record.id === 37 && n !== null) watermark = n;
    if (record.id === 1 && n !== null) protocol = n;
    if (record.id === 2 && n !== null) port = n;
    if (record.id === 8 && record.typeCode === 3) domains = cString(record.value);
  }
  const pairs = splitDomains(domains);
  const hosts = [...new Set(pairs.map((p) => p.host))];
  const hostsIdna = hosts.map((h) => domainToASCII(h) || h);
  const urls: string[] = [];
  const scheme = protocol === null ? null : (protocol & 0x8) !== 0 ? 'https' : protocol === 0 ? 'http' : null;
  if (scheme !== null) {
    const defaultPort = scheme === 'https' ? 443 : 80;
    for (const pair of pairs) {
      const host = domainToASCII(pair.host) || pair.host;
      const portPart = port === null || port === defaultPort ? '' : `:${port}`;
      const uri = pair.uri.startsWith('/') ? pair.uri : `/${pair.uri}`;
      urls.push(`${scheme}://${host}${portPart}${uri}`);
    }
  }
  return { settings, fields, publicKey, watermark, protocol, c2: { hosts, hostsIdna, urls: [...new Set(urls)] } };
}
