import type { ParseIssue, SettingRecord } from './beacon-config.js';

/** Largest config patch a beacon carries: 4,096 bytes before 4.8, 6,144 with guardrails (dissect guardrails.py). */
export const CONFIG_BLOCK_SIZE = 6144;
/** The beacon's settings array has 128 entries; a list longer than this is not a config. */
export const MAX_SETTING_RECORDS = 256;

export interface SettingRecordList {
  readonly records: SettingRecord[];
  readonly issues: ParseIssue[];
  /** Offset just past the terminator (or where parsing stopped). */
  readonly end: number;
  /** True when a 0 id ended the list inside the block. */
  readonly terminated: boolean;
}

const TYPE_SHORT = 1;
const TYPE_INT = 2;
const SETTING_USERAGENT = 9;

/**
 * Parses a decoded (unmasked) config block the way the beacon's own `settings_init` does: stop at id 0, read SHORT
 * and INT values by type (2 and 4 bytes) whatever the length field claims, copy `length` bytes for anything else.
 * Never throws: problems become issues and parsing stops at the first unrecoverable one.
 */
export function parseSettingRecords(block: Uint8Array, maxRecords = MAX_SETTING_RECORDS, resync = true): SettingRecordList {
  const first = parseFrom(block, 0, maxRecords, []);
  if (!resync || first.records.length >= DAMAGED_BELOW || first.records.length < 4) return first;
  // A list that ends this early is damaged (e.g. a length byte rewritten): continue at the next plausible header
  // after the break, as S1's search-by-header does, and say so.
  let result = first;
  for (let attempt = 0; attempt < 8 && result.records.length < DAMAGED_BELOW; attempt++) {
    const seen = new Set(result.records.map((r) => r.id));
    const at = findNextHeader(block, result.end, seen);
    if (at < 0) break;
    const issues = [...result.issues, { code: 'resynchronised', message: `record list broke off; resumed at the next record header (offset ${at})`, offset: at }];
    result = parseFrom(block, at, maxRecords, result.records, issues);
  }
  return result;
}

/** Real configs hold 20+ records; a list broken off before this many is treated as damaged. */
const DAMAGED_BELOW = 12;

function findNextHeader(block: Uint8Array, from: number, seen: ReadonlySet<number>): number {
  for (let p = Math.max(0, from); p + 6 <= block.length; p++) {
    if (block[p] !== 0 || block[p + 2] !== 0) continue;
    const id = block[p + 1] as number;
    const type = block[p + 3] as number;
    if (id === 0 || id > 128 || seen.has(id) || type < 1 || type > 3) continue;
    const length = ((block[p + 4] ?? 0) << 8) | (block[p + 5] ?? 0);
    if ((type === TYPE_SHORT && length === 2) || (type === TYPE_INT && length === 4) || (type === 3 && length > 0 && length <= 2048 && p + 6 + length <= block.length)) {
      return p;
    }
  }
  return -1;
}

function parseFrom(
  block: Uint8Array,
  start: number,
  maxRecords: number,
  previous: readonly SettingRecord[],
  previousIssues: readonly ParseIssue[] = [],
): SettingRecordList {
  const records: SettingRecord[] = [...previous];
  const issues: ParseIssue[] = [...previousIssues];
  const end = block.length;
  let pos = start;
  while (true) {
    if (pos + 2 > end) {
      issues.push({ code: 'truncated-config', message: `config ends at ${pos} without a terminating id 0`, offset: pos });
      return { records, issues, end: pos, terminated: false };
    }
    const id = ((block[pos] ?? 0) << 8) | (block[pos + 1] ?? 0);
    if (id === 0) return { records, issues, end: pos + 2, terminated: true };
    // The beacon reads the id as a signed short and stops on id <= 0.
    if (id >= 0x8000) {
      issues.push({ code: 'negative-setting-id', message: `setting id ${id} is negative as a short; the beacon stops here`, offset: pos });
      return { records, issues, end: pos, terminated: true };
    }
    if (records.length >= maxRecords) {
      issues.push({ code: 'too-many-records', message: `more than ${maxRecords} records`, offset: pos });
      return { records, issues, end: pos, terminated: false };
    }
    if (pos + 6 > end) {
      issues.push({ code: 'truncated-record', message: `record header of id ${id} is cut off`, offset: pos });
      return { records, issues, end: pos, terminated: false };
    }
    const typeCode = ((block[pos + 2] ?? 0) << 8) | (block[pos + 3] ?? 0);
    const length = ((block[pos + 4] ?? 0) << 8) | (block[pos + 5] ?? 0);
    const valueStart = pos + 6;
    let size = typeCode === TYPE_SHORT ? 2 : typeCode === TYPE_INT ? 4 : length;
    if (typeCode > 3) {
      issues.push({ code: 'unknown-setting-type', message: `setting ${id} has unknown type ${typeCode}; value taken by its length`, offset: pos });
    }
    if (valueStart + size > end) {
      issues.push({
        code: 'record-past-end',
        message: `setting ${id} declares ${size} value bytes at ${valueStart}, past the ${end}-byte block`,
        offset: pos,
      });
      return { records, issues, end: pos, terminated: false };
    }
    let next = valueStart + size;
    // A User-Agent longer than its declared length runs on past the record; the next record starts after its NUL
    // (dissect test_setting_useragent_edgecase).
    if (id === SETTING_USERAGENT && typeCode === 3 && size > 0 && block[next - 1] !== 0) {
      const limit = Math.min(end, next + 512);
      let nul = next;
      while (nul < limit && block[nul] !== 0) nul++;
      if (nul < limit && looksLikeRecordStart(block, nul + 1)) {
        size = nul + 1 - valueStart;
        next = nul + 1;
        issues.push({ code: 'useragent-overflow', message: `User-Agent runs ${size - length} bytes past its declared length`, offset: pos });
      }
    }
    records.push({ id, typeCode, length, offset: pos, value: block.subarray(valueStart, valueStart + size) });
    pos = next;
  }
}

function looksLikeRecordStart(block: Uint8Array, pos: number): boolean {
  if (pos + 6 > block.length) return false;
  const id = ((block[pos] ?? 0) << 8) | (block[pos + 1] ?? 0);
  const type = ((block[pos + 2] ?? 0) << 8) | (block[pos + 3] ?? 0);
  return id === 0 || (id < 256 && type >= 1 && type <= 3);
}

/** Number value of a SHORT/INT record (unsigned), or null for other types. */
export function recordNumber(record: SettingRecord): number | null {
  const v = record.value;
  if (record.typeCode === TYPE_SHORT && v.length >= 2) return ((v[0] ?? 0) << 8) | (v[1] ?? 0);
  if (record.typeCode === TYPE_INT && v.length >= 4) return (((v[0] ?? 0) << 24) | ((v[1] ?? 0) << 16) | ((v[2] ?? 0) << 8) | (v[3] ?? 0)) >>> 0;
  return null;
}
