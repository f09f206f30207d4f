import type { BeaconConfig, ParseIssue } from './beacon-config.js';
import { scanBeaconStructures, xorBlock } from './find-config-blocks.js';
import { assessRecords, buildBeaconConfig, findRuntimeTableOffsets, runtimeConfig } from './parse-beacon-configs.js';
import { CONFIG_BLOCK_SIZE, parseSettingRecords } from './parse-setting-records.js';
import type { ReadVirtual } from './runtime-table.js';

/**
 * Streaming search for beacon configs in inputs too large to hold at once (memory images): feed chunks in order
 * with `push`, then call `end`. Finds XOR'd config blocks with any key and runtime settings arrays, with absolute
 * offsets. Containers (sleeve, ArtifactKit) and guardrails are not followed here: memory holds decoded beacons.
 *
 * Each chunk is scanned in place; only the last `CARRY` bytes are copied forward so a block that straddles two
 * chunks is parsed whole. Small chunks are buffered until there is enough to scan.
 */
export interface BeaconScanner {
  push(chunk: Uint8Array): BeaconConfig[];
  end(): BeaconConfig[];
  /** Candidate blocks that were rejected (bounded). */
  readonly errors: readonly ParseIssue[];
  readonly bytesScanned: number;
}

export interface BeaconScannerOptions {
  readonly xorKeys?: readonly number[];
  readonly runtimeTables?: boolean;
  readonly readVirtual?: ReadVirtual;
  readonly maxConfigs?: number;
}

// Enough for a whole config block or an x64 runtime array after any candidate start.
const CARRY = CONFIG_BLOCK_SIZE + 64;
const MAX_ERRORS = 64;

export function createBeaconScanner(options: BeaconScannerOptions = {}): BeaconScanner {
  const keys = options.xorKeys ? new Set(options.xorKeys) : null;
  const maxConfigs = options.maxConfigs ?? 1024;
  const errors: ParseIssue[] = [];
  let found = 0;
  let carry = new Uint8Array(0);
  // Absolute offset of carry[0]; every candidate start below `scannedTo` has been looked at.
  let carryStart = 0;
  let scannedTo = 0;
  let total = 0;

  /** Candidates starting in [from, to) of `buf` (whose byte 0 is at absolute `base`). */
  function scan(buf: Uint8Array, base: number, from: number, to: number): BeaconConfig[] {
    const out: BeaconConfig[] = [];
    if (to <= from || found >= maxConfigs) return out;
    const runtime = options.runtimeTables !== false;
    const hits = scanBeaconStructures(buf, from, to, keys, runtime);
    for (const c of hits.configs) {
      const block = xorBlock(buf, c.offset, CONFIG_BLOCK_SIZE, c.xorKey);
      const parsed = parseSettingRecords(block);
      const rejection = assessRecords(parsed.records);
      if (rejection !== null) {
        if (errors.length < MAX_ERRORS) errors.push({ code: 'invalid-config-block', message: `candidate at ${base + c.offset}: ${rejection}`, offset: base + c.offset });
        continue;
      }
      out.push(
        buildBeaconConfig({ records: parsed.records, issues: parsed.issues, offset: base + c.offset, xorKey: c.xorKey, containers: [], source: 'raw', pe: null }),
      );
      if (++found >= maxConfigs) return out;
    }
    if (runtime) {
      for (const hit of findRuntimeTableOffsets(buf, from, to, hits.ones)) {
        const config = runtimeConfig(buf, hit.offset, hit.arch, [], options.readVirtual);
        out.push({ ...config, offset: base + hit.offset, inputOffset: base + hit.offset });
        if (++found >= maxConfigs) return out;
      }
    }
    return out;
  }

  function process(chunk: Uint8Array, final: boolean): BeaconConfig[] {
    const out: BeaconConfig[] = [];
    const chunkStart = total;
    total += chunk.length;
    // 1. The carried tail joined with the head of this chunk: candidates starting in the carry.
    if (carry.length > 0) {
      const head = chunk.subarray(0, Math.min(chunk.length, CARRY));
      const joined = new Uint8Array(carry.length + head.length);
      joined.set(carry);
      joined.set(head, carry.length);
      const from = Math.max(0, scannedTo - carryStart);
      const to = final && chunk.length < CARRY ? joined.length : carry.length;
      out.push(...scan(joined, carryStart, from, to));
      scannedTo = carryStart + to;
    }
    // 2. The chunk in place, except its last CARRY bytes, which wait for the next chunk.
    const inPlaceTo = final ? chunk.length : chunk.length - CARRY;
    const inPlaceFrom = Math.max(0, scannedTo - chunkStart);
    if (inPlaceTo > inPlaceFrom) {
      out.push(...scan(chunk, chunkStart, inPlaceFrom, inPlaceTo));
      scannedTo = chunkStart + inPlaceTo;
    }
    // 3. Keep the unscanned tail (copied: the caller may reuse the chunk buffer).
    const keepFrom = Math.max(0, scannedTo - chunkStart);
    if (keepFrom < chunk.length) {
      carry = chunk.slice(keepFrom);
      carryStart = chunkStart + keepFrom;
    } else {
      carry = new Uint8Array(0);
      carryStart = total;
    }
    return out;
  }

  let pending: Uint8Array[] = [];
  let pendingLength = 0;

  return {
    push(chunk: Uint8Array): BeaconConfig[] {
      if (chunk.length === 0) return [];
      if (chunk.length < CARRY || pendingLength > 0) {
        pending.push(chunk.slice());
        pendingLength += chunk.length;
        if (pendingLength < 2 * CARRY) return [];
        const merged = Buffer.concat(pending);
        pending = [];
        pendingLength = 0;
        return process(merged, false);
      }
      return process(chunk, false);
    },
    end(): BeaconConfig[] {
      const rest = pendingLength > 0 ? Buffer.concat(pending) : new Uint8Array(0);
      pending = [];
      pendingLength = 0;
      const out = process(rest, true);
      // Anything left in the carry is the very end of the input: scan it with whatever bytes remain.
      if (carry.length > 0) {
        out.push(...scan(carry, carryStart, Math.max(0, scannedTo - carryStart), carry.length));
        scannedTo = carryStart + carry.length;
        carry = new Uint8Array(0);
      }
      return out;
    },
    get errors() {
      return errors;
    },
    get bytesScanned() {
      return total;
    },
  };
}
