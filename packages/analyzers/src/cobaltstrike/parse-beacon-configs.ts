import type { BeaconConfig, ContainerStep, DecodedSetting, ParseIssue, PeInfo, SettingRecord } from './beacon-config.js';
import { findArtifactKitPayloads } from './artifact-kit.js';
import { decodeSettings } from './decode-settings.js';
import { DEFAULT_XOR_KEYS, rankConfigCandidates, scanBeaconStructures, xorBlock, type ConfigCandidate } from './find-config-blocks.js';
import { findGuardOffsets, unmaskGuardrails } from './guardrails.js';
import { CONFIG_BLOCK_SIZE, parseSettingRecords, recordNumber } from './parse-setting-records.js';
import { findPeStart, readPeInfo } from './pe-info.js';
import { parseStager, type StagerInfo } from './parse-stager.js';
import { isRuntimeTableAt, readRuntimeTable, type ReadVirtual, type RuntimeArch } from './runtime-table.js';
import { SETTINGS_BY_ID } from './setting-table.js';
import { SLEEVE_SEARCH_RANGE, decodeSleeve } from './sleeve.js';
import { estimateBeaconVersion } from './version.js';

export interface ParseBeaconOptions {
  /** Only accept these config XOR keys (e.g. `DEFAULT_XOR_KEYS`); default: all 256, default keys ranked first. */
  readonly xorKeys?: readonly number[];
  /** Stop after this many configs (default 64). */
  readonly maxConfigs?: number;
  /** Decode XorEncoded stages and ArtifactKit payloads (default true). */
  readonly containers?: boolean;
  /** Look for 4.8+ guardrailed blocks (default true; skipped above 64 MiB). */
  readonly guardrails?: boolean;
  /** Look for runtime settings arrays left in process memory (default true). */
  readonly runtimeTables?: boolean;
  /** Resolves PTR entries of runtime arrays through a virtual address space. */
  readonly readVirtual?: ReadVirtual;
  /** How far into a stage the XorEncode nonce is searched (default 1,024). */
  readonly sleeveSearchRange?: number;
  /** Parse shellcode stagers (default true). */
  readonly stagers?: boolean;
}

export interface FoundStager extends StagerInfo {
  readonly containers: readonly ContainerStep[];
}

/** A buffer decoded from a container (XorEncoded stage, ArtifactKit payload): a child sample for the pipeline. */
export interface DecodedLayer {
  readonly containers: readonly ContainerStep[];
  readonly bytes: Uint8Array;
}

export interface BeaconParseResult {
  readonly configs: BeaconConfig[];
  /** Decoded stages and payloads, outermost first (not JSON: raw bytes). */
  readonly decoded: DecodedLayer[];
  readonly stagers: FoundStager[];
  /** Problems with candidate blocks and containers: truncated, inconsistent, undecodable. */
  readonly errors: ParseIssue[];
  /** A beacon artefact was seen (stub, reflective loader, config header) even when no config parsed. */
  readonly beaconDetected: boolean;
}

const MAX_DEPTH = 3;
const SCAN_WINDOW = 16 * 1024 * 1024;
const MAX_ERRORS = 64;
const MAX_SECONDARY_SCAN = 64 * 1024 * 1024;
const MIN_RECORDS = 4;
const EICAR = Buffer.from('EICAR-STANDARD-ANTIVIRUS-TEST-FILE');
const STRUCTURAL_ISSUES = new Set(['truncated-config', 'truncated-record', 'record-past-end', 'too-many-records', 'negative-setting-id', 'unknown-setting-type']);

interface Layer {
  readonly buffer: Uint8Array;
  readonly containers: readonly ContainerStep[];
}

/** Decides whether a parsed record list is a beacon config and not a chance match of the header bytes. */
export function assessRecords(records: readonly SettingRecord[]): string | null {
  if (records.length < MIN_RECORDS) return `only ${records.length} records before the list broke off`;
  const known = records.filter((r) => SETTINGS_BY_ID.has(r.id) && r.typeCode >= 1 && r.typeCode <= 3).length;
  if (known / records.length < 0.75) return `${records.length - known} of ${records.length} records have unknown ids or types`;
  const protocol = records[0] ? recordNumber(records[0]) : null;
  if (protocol === null || protocol > 0x1f) return `protocol value ${String(protocol)} is not a flag set`;
  return null;
}

class ConfigCollector {
  readonly configs: BeaconConfig[] = [];
  readonly errors: ParseIssue[] = [];
  readonly stagers: FoundStager[] = [];
  beaconDetected = false;
  constructor(readonly maxConfigs: number) {}

  error(issue: ParseIssue): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(issue);
  }
  get full(): boolean {
    return this.configs.length >= this.maxConfigs;
  }
}

function hasEicar(b: Uint8Array): boolean {
  return b.length <= MAX_SECONDARY_SCAN && Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(EICAR) >= 0;
}

/** Builds the native record from parsed TLV records. */
export function buildBeaconConfig(args: {
  readonly records: readonly SettingRecord[];
  readonly issues: readonly ParseIssue[];
  readonly offset: number;
  readonly xorKey: number | null;
  readonly containers: readonly ContainerStep[];
  readonly source: BeaconConfig['source'];
  readonly pe: PeInfo | null;
  readonly architecture?: 'x86' | 'x64' | null;
  readonly guardrails?: BeaconConfig['guardrails'];
  readonly eicar?: boolean;
  readonly extraSettings?: readonly DecodedSetting[];
}): BeaconConfig {
  const decoded = decodeSettings(args.records);
  const settings = [...decoded.settings, ...(args.extraSettings ?? [])];
  // Ids above the beacon's 128-entry array are custom additions, not a newer release.
  const maxId = settings.reduce((m, s) => (s.id < 128 ? Math.max(m, s.id) : m), 0);
  const cryptoScheme = decoded.fields.cryptoScheme;
  return {
    offset: args.offset,
    inputOffset: args.containers[0]?.offset ?? args.offset,
    xorKey: args.xorKey,
    containers: args.containers,
    source: args.source,
    architecture: args.pe?.architecture ?? args.architecture ?? null,
    pe: args.pe,
    version: estimateBeaconVersion(args.pe?.exportStamp ?? null, maxId),
    guardrails: args.guardrails ?? null,
    trial: cryptoScheme === 1 || args.eicar === true,
    settings,
    fields: decoded.fields,
    c2: decoded.c2,
    publicKey: decoded.publicKey,
    watermark: decoded.watermark,
    issues: [...args.issues],
    records: args.records,
  };
}

function peInfoOf(layer: Layer): PeInfo | null {
  const start = findPeStart(layer.buffer, 4096);
  return start < 0 ? null : readPeInfo(layer.buffer, start);
}

function tryCandidate(layer: Layer, candidate: ConfigCandidate, pe: () => PeInfo | null, eicar: () => boolean, out: ConfigCollector): void {
  const block = xorBlock(layer.buffer, candidate.offset, CONFIG_BLOCK_SIZE, candidate.xorKey);
  const parsed = parseSettingRecords(block);
  const where = `config candidate at offset ${candidate.offset} (xor 0x${candidate.xorKey.toString(16).padStart(2, '0')})`;
  const rejection = assessRecords(parsed.records);
  if (rejection !== null) {
    const first = parsed.issues[0];
    out.error({
      code: first?.code ?? 'invalid-config-block',
      message: `${where} rejected: ${rejection}${first ? `; ${first.message}` : ''}`,
      offset: candidate.offset,
    });
    return;
  }
  for (const issue of parsed.issues) {
    if (STRUCTURAL_ISSUES.has(issue.code)) out.error({ code: issue.code, message: `${where}: ${issue.message}`, offset: candidate.offset });
  }
  out.beaconDetected = true;
  out.configs.push(
    buildBeaconConfig({
      records: parsed.records,
      issues: parsed.issues,
      offset: candidate.offset,
      xorKey: candidate.xorKey,
      containers: layer.containers,
      source: layer.containers.length === 0 ? 'raw' : (layer.containers.at(-1)?.kind ?? 'raw'),
      pe: pe(),
      eicar: eicar(),
    }),
  );
}

/**
 * Runtime settings arrays (x86 8-byte and x64 16-byte entries) at [from, to), given the aligned positions of u32 1
 * values found by `scanBeaconStructures` (entry 1's type field sits 8 or 16 bytes after the array start).
 */
export function findRuntimeTableOffsets(b: Uint8Array, from: number, to: number, ones?: readonly number[], max = 16): { offset: number; arch: RuntimeArch }[] {
  const probes = ones ?? scanBeaconStructures(b, from, to, null, true).ones;
  const hits: { offset: number; arch: RuntimeArch }[] = [];
  for (const q of probes) {
    if (hits.length >= max) break;
    if (q - 8 >= from && q - 8 < to && isRuntimeTableAt(b, q - 8, 'x86')) hits.push({ offset: q - 8, arch: 'x86' });
    else if (q - 16 >= from && q - 16 < to && isRuntimeTableAt(b, q - 16, 'x64')) hits.push({ offset: q - 16, arch: 'x64' });
  }
  return hits;
}

export function runtimeConfig(b: Uint8Array, offset: number, arch: RuntimeArch, containers: readonly ContainerStep[], readVirtual?: ReadVirtual): BeaconConfig {
  const table = readRuntimeTable(b, offset, arch, readVirtual);
  const extra: DecodedSetting[] = [...table.unresolved].map(([id, address]) => ({
    id,
    name: SETTINGS_BY_ID.get(id)?.name ?? `SETTING_${id}`,
    type: 'ptr',
    length: 0,
    offset: offset + id * (arch === 'x64' ? 16 : 8),
    value: { pointer: address },
  }));
  const issues: ParseIssue[] =
    table.unresolved.size > 0
      ? [{ code: 'unresolved-pointers', message: `${table.unresolved.size} pointer settings need the process address space`, offset }]
      : [];
  return buildBeaconConfig({ records: table.records, issues, offset, xorKey: null, containers, source: 'memory-runtime', pe: null, architecture: arch, extraSettings: extra });
}

interface LayerScan {
  /** The layer is an encoded container (a sleeve): only XOR'd blocks can be in it as such. */
  readonly encoded: boolean;
  /** Runtime arrays live in process memory, not inside stages or loaders: only the input itself is searched. */
  readonly runtime: boolean;
}

function scanLayer(layer: Layer, scan: LayerScan, options: ParseBeaconOptions, keys: ReadonlySet<number> | null, out: ConfigCollector): void {
  const b = layer.buffer;
  let peCache: PeInfo | null | undefined;
  const pe = (): PeInfo | null => (peCache === undefined ? (peCache = peInfoOf(layer)) : peCache);
  let eicarCache: boolean | undefined;
  const eicar = (): boolean => (eicarCache === undefined ? (eicarCache = hasEicar(b)) : eicarCache);
  const before = out.configs.length;
  const runtime = options.runtimeTables !== false && scan.runtime;
  // Windows keep the u32-1 probe list of a huge memory image bounded (see MAX_ONE_PROBES).
  const hits: { configs: ConfigCandidate[]; tables: { offset: number; arch: RuntimeArch }[] } = { configs: [], tables: [] };
  for (let from = 0; from < b.length && hits.configs.length < 4096; from += SCAN_WINDOW) {
    const window = scanBeaconStructures(b, from, Math.min(b.length, from + SCAN_WINDOW), keys, runtime, 4096 - hits.configs.length);
    hits.configs.push(...window.configs);
    if (runtime) hits.tables.push(...findRuntimeTableOffsets(b, from, from + SCAN_WINDOW, window.ones));
  }
  const candidates = rankConfigCandidates(b, hits.configs);
  const taken: { start: number; end: number }[] = [];
  for (const candidate of candidates) {
    if (out.full) return;
    // A block already accepted may contain a second chance match of the header; skip inside accepted blocks.
    if (taken.some((t) => candidate.offset > t.start && candidate.offset < t.end)) continue;
    const count = out.configs.length;
    tryCandidate(layer, candidate, pe, eicar, out);
    if (out.configs.length > count) taken.push({ start: candidate.offset, end: candidate.offset + 64 });
  }
  if (options.guardrails !== false && !scan.encoded && out.configs.length === before && b.length <= MAX_SECONDARY_SCAN) {
    for (const guardOffset of findGuardOffsets(b)) {
      if (out.full) return;
      const unmasked = unmaskGuardrails(b, guardOffset);
      out.beaconDetected = true;
      if (unmasked.block === null) {
        out.error({ code: 'guardrail-key-not-found', message: `guardrailed block before offset ${guardOffset}: environmental key not recovered`, offset: guardOffset });
        continue;
      }
      const parsed = parseSettingRecords(unmasked.block);
      out.configs.push(
        buildBeaconConfig({
          records: parsed.records,
          issues: parsed.issues,
          offset: guardOffset - unmasked.block.length,
          xorKey: 0x2e,
          containers: layer.containers,
          source: 'guardrails',
          pe: pe(),
          guardrails: unmasked.info,
          eicar: eicar(),
        }),
      );
    }
  }
  if (options.runtimeTables !== false && scan.runtime) {
    for (const table of hits.tables) {
      if (out.full) return;
      out.beaconDetected = true;
      out.configs.push(runtimeConfig(b, table.offset, table.arch, layer.containers, options.readVirtual));
    }
  }
}

function startsWith(b: Uint8Array, bytes: readonly number[]): boolean {
  return bytes.every((v, i) => b[i] === v);
}

/**
 * Finds and decodes every Cobalt Strike beacon config in `bytes`: raw DLLs, XorEncoded stages (any nonce
 * offset), ArtifactKit loaders, any single-byte XOR key, guardrailed 4.8+ blocks, runtime arrays in memory, plus
 * shellcode stagers. Pure and bounded; never throws on hostile input (problems are reported in `errors`).
 */
export function parseBeaconConfigs(bytes: Uint8Array, options: ParseBeaconOptions = {}): BeaconParseResult {
  const out = new ConfigCollector(options.maxConfigs ?? 64);
  const keys = options.xorKeys ? new Set(options.xorKeys) : null;
  const queue: { layer: Layer; depth: number }[] = [{ layer: { buffer: bytes, containers: [] }, depth: 0 }];
  const decoded: DecodedLayer[] = [];
  while (queue.length > 0 && !out.full) {
    const { layer, depth } = queue.shift() as { layer: Layer; depth: number };
    const b = layer.buffer;
    if (depth > 0) decoded.push({ containers: layer.containers, bytes: b });
    const sleeve = options.containers === false || depth >= MAX_DEPTH ? null : decodeSleeve(b, options.sleeveSearchRange ?? SLEEVE_SEARCH_RANGE);
    const peStart = b.length <= MAX_SECONDARY_SCAN ? findPeStart(b, 1024) : -1;
    const before = out.configs.length;
    scanLayer(layer, { encoded: sleeve !== null, runtime: depth === 0 && sleeve === null && peStart < 0 }, options, keys, out);
    const foundHere = out.configs.length > before;
    if (options.stagers !== false && b.length <= MAX_SECONDARY_SCAN && !foundHere && sleeve === null) {
      const stager = parseStager(b);
      if (stager) {
        out.beaconDetected = true;
        out.stagers.push({ ...stager, containers: layer.containers });
      }
    }
    if (options.containers === false || depth >= MAX_DEPTH) continue;
    const sleeveStub = startsWith(b, [0xfc, 0xe8]) || startsWith(b, [0xfc, 0x48, 0x83, 0xe4, 0xf0]);
    if (sleeve) {
      out.beaconDetected = true;
      queue.push({
        layer: {
          buffer: sleeve.decoded,
          containers: [
            ...layer.containers,
            { kind: 'sleeve', offset: sleeve.nonceOffset, detail: { nonce: sleeve.nonce, size: sleeve.size, complete: sleeve.complete, peOffset: sleeve.peOffset } },
          ],
        },
        depth: depth + 1,
      });
      if (!sleeve.complete) out.error({ code: 'truncated-stage', message: `XorEncoded stage announces ${sleeve.size} bytes, ${sleeve.decoded.length} present`, offset: sleeve.nonceOffset });
    } else if (sleeveStub && b.length > 4096 && out.configs.length === 0 && out.stagers.length === 0) {
      out.error({ code: 'sleeve-not-decoded', message: 'XorEncode stub found but MZ header not found in the decoded data', offset: 0 });
    }
    // A loader carries its payload encoded; a PE whose own config was found is the beacon, not a loader.
    if (peStart >= 0 && !foundHere) {
      for (const payload of findArtifactKitPayloads(b)) {
        queue.push({
          layer: {
            buffer: payload.payload,
            containers: [
              ...layer.containers,
              { kind: 'artifact-kit', offset: payload.offset, detail: { payloadOffset: payload.payloadOffset, size: payload.size, key: payload.key } },
            ],
          },
          depth: depth + 1,
        });
      }
    }
  }
  return { configs: out.configs, decoded, stagers: out.stagers, errors: out.errors, beaconDetected: out.beaconDetected };
}

export { DEFAULT_XOR_KEYS };
