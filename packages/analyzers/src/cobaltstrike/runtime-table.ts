import type { SettingRecord } from './beacon-config.js';
import { SETTINGS_BY_ID } from './setting-table.js';

/**
 * The beacon's parsed settings array as it sits in a running process (after `settings_init` zeroed the patch):
 * 128 entries `{type, value}`, 8 bytes each on x86 (u32 fields), 16 on x64 (u64 fields), little-endian.
 * Entry 0 is empty; entry 1 is the protocol (short, one of 0/1/2/4/8/16); 2 and 5 short; 3 and 4 int
 * (BeaconEye's needle). PTR entries hold heap addresses, resolvable only through an address-space reader.
 */
export const RUNTIME_ENTRIES = 128;

export type RuntimeArch = 'x86' | 'x64';

/** Reads `size` bytes at a virtual address, or null when unmapped (supplied by the memory-forensics layer). */
export type ReadVirtual = (address: bigint, size: number) => Uint8Array | null;

export interface RuntimeTable {
  readonly offset: number;
  readonly arch: RuntimeArch;
  readonly records: SettingRecord[];
  /** PTR settings whose address could not be read: id -> address (hex). */
  readonly unresolved: ReadonlyMap<number, string>;
}

const PROTOCOLS = new Set([0, 1, 2, 4, 8, 16]);

function u32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

function entry(b: Uint8Array, p: number, arch: RuntimeArch, index: number): { type: number; low: number; high: number } {
  const size = arch === 'x64' ? 16 : 8;
  const at = p + index * size;
  if (arch === 'x64') {
    // A type is a small enum: its upper half must be zero.
    return { type: u32(b, at) + (u32(b, at + 4) === 0 ? 0 : 0x100), low: u32(b, at + 8), high: u32(b, at + 12) };
  }
  return { type: u32(b, at), low: u32(b, at + 4), high: 0 };
}

/** Cheap test at a possible array start (the probe sits on entry 1's type field). */
export function isRuntimeTableAt(b: Uint8Array, p: number, arch: RuntimeArch): boolean {
  const size = arch === 'x64' ? 16 : 8;
  if (p < 0 || p + RUNTIME_ENTRIES * size > b.length) return false;
  for (let i = 0; i < size; i++) if (b[p + i] !== 0) return false;
  const e1 = entry(b, p, arch, 1);
  if (e1.type !== 1 || e1.high !== 0 || !PROTOCOLS.has(e1.low)) return false;
  const e2 = entry(b, p, arch, 2);
  const e3 = entry(b, p, arch, 3);
  const e4 = entry(b, p, arch, 4);
  const e5 = entry(b, p, arch, 5);
  if (e2.type !== 1 || e2.low > 0xffff || e2.high !== 0) return false;
  if (e3.type !== 2 || e3.high !== 0 || e4.type !== 2 || e4.high !== 0) return false;
  if (e5.type !== 1 || e5.low > 0xffff) return false;
  let used = 0;
  for (let i = 1; i < RUNTIME_ENTRIES; i++) {
    const e = entry(b, p, arch, i);
    if (e.type > 3) return false;
    if (e.type === 0 && (e.low !== 0 || e.high !== 0)) return false;
    if ((e.type === 1 && e.low > 0xffff) || ((e.type === 1 || e.type === 2) && e.high !== 0)) return false;
    if (e.type !== 0) used++;
  }
  return used >= 8;
}

/** Rebuilds TLV records from a runtime array; PTR values are read through `readVirtual` when given. */
export function readRuntimeTable(b: Uint8Array, p: number, arch: RuntimeArch, readVirtual?: ReadVirtual): RuntimeTable {
  const records: SettingRecord[] = [];
  const unresolved = new Map<number, string>();
  for (let id = 1; id < RUNTIME_ENTRIES; id++) {
    const e = entry(b, p, arch, id);
    if (e.type === 0) continue;
    const offset = p + id * (arch === 'x64' ? 16 : 8);
    if (e.type === 1) {
      records.push({ id, typeCode: 1, length: 2, offset, value: Uint8Array.of((e.low >>> 8) & 0xff, e.low & 0xff) });
    } else if (e.type === 2) {
      records.push({ id, typeCode: 2, length: 4, offset, value: Uint8Array.of(e.low >>> 24, (e.low >>> 16) & 0xff, (e.low >>> 8) & 0xff, e.low & 0xff) });
    } else {
      const address = (BigInt(e.high) << 32n) | BigInt(e.low);
      const length = SETTINGS_BY_ID.get(id)?.length ?? 256;
      const bytes = readVirtual?.(address, length) ?? null;
      if (bytes === null) unresolved.set(id, `0x${address.toString(16)}`);
      else records.push({ id, typeCode: 3, length: bytes.length, offset, value: bytes.subarray(0, length) });
    }
  }
  return { offset: p, arch, records, unresolved };
}
