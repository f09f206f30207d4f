/**
 * Cobalt Strike benchmark:
 *  (a) parse time per beacon over the shared corpus (goal: under 1 ms on average), wall and CPU time;
 *  (b) a synthetic memory image (1 GiB by default) written to a temp file in chunks, with a few beacons planted
 *      at random offsets (XOR'd blocks with several keys and runtime arrays), scanned through the streaming
 *      scanner vs a plain sequential read of the same file in the same run (goal: scan >= 50% of read speed),
 *      checking that every planted beacon is found. The file is deleted afterwards.
 * Run: `node apps/cli/bin/run-ts.js bench/cobaltstrike.ts [--image-mb 1024] [--beacons 5] [--rounds 20] [--chunk-mb 8]`.
 */
import { constants } from 'node:fs';
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBeaconScanner, parseBeaconConfigs } from '@malpipe/analyzers/cobaltstrike/index';
import { native } from '@malpipe/native';
import { locateCsCorpus, loadCsExpected, readCsSample } from '@malpipe/analyzers/cobaltstrike/test/cs-corpus';
import { buildBeacon, buildRuntimeTable, sampleSettings } from '../packages/analyzers/test/builders/build-beacon.js';
import { xorshift32 } from '../packages/analyzers/test/builders/pseudo-random.js';

export interface CobaltStrikeBenchOptions {
  /** Size of the synthetic memory image in MiB (default 1024). 0 skips (b). */
  readonly imageMb?: number;
  /** Beacons planted in the image (default 5). */
  readonly beacons?: number;
  /** Parse repetitions per corpus sample (default 20). */
  readonly rounds?: number;
  /** Read/scan chunk size in MiB (default 8). */
  readonly chunkMb?: number;
  readonly seed?: number;
  readonly log?: (line: string) => void;
}

export interface CorpusParseFigure {
  readonly sample: string;
  readonly bytes: number;
  readonly configs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Lowest CPU time per parse over batches of a few rounds: the steadiest figure on a busy machine. */
  readonly minCpuMs: number;
}

export interface ImageScanFigure {
  readonly bytes: number;
  /** Which structure scan ran: the C++ addon (with its SIMD level) or the TypeScript reference. */
  readonly scanPath: string;
  readonly planted: number;
  readonly found: number;
  readonly allFound: boolean;
  readonly readMs: number;
  readonly scanMs: number;
  readonly readMiBs: number;
  readonly scanMiBs: number;
  /** Page-cache pass: scan speed / read speed (wall clock); the goal is >= 0.5. */
  readonly ratio: number;
  /** CPU time of each pass (user + system), less sensitive to a busy machine than wall time. */
  readonly readCpuMs: number;
  readonly scanCpuMs: number;
  /** Page-cache pass first, then an uncached (O_DIRECT) pass when the file system allows it. */
  readonly passes: readonly ImagePass[];
}

export interface ImagePass {
  readonly cache: string;
  readonly readMs: number;
  readonly scanMs: number;
  readonly readCpuMs: number;
  readonly scanCpuMs: number;
  readonly found: number;
  readonly otherHits: number;
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

export interface CobaltStrikeBenchResult {
  readonly corpus: {
    readonly figures: readonly CorpusParseFigure[];
    readonly averageWallMs: number;
    readonly averageCpuMs: number;
    readonly averageMinCpuMs: number;
  } | null;
  readonly image: ImageScanFigure | null;
}

const WARM_UP_ROUNDS = 30;

async function benchCorpus(rounds: number, log: (line: string) => void): Promise<CobaltStrikeBenchResult['corpus']> {
  const location = locateCsCorpus();
  if (location.dir === null) {
    log(`(a) skipped: ${location.reason}`);
    return null;
  }
  const figures: CorpusParseFigure[] = [];
  const samples = loadCsExpected(location.dir);
  const inputs = await Promise.all(samples.map(async (s) => ({ name: s.fixture.replace('test_parse_beacon_config.py ', 's1 '), bytes: await readCsSample(location.dir as string, s) })));
  // Workers are long-running: measure the steady state, after every parse path has been optimised by the JIT
  // (with 3 warm-up parses per sample the first timed rounds still ran partly unoptimised code).
  for (let round = 0; round < WARM_UP_ROUNDS; round++) for (const input of inputs) parseBeaconConfigs(input.bytes);
  // Rounds run in batches of up to 5 (CPU time per batch, minimum kept) so one busy moment does not skew the figure.
  const batch = Math.max(1, Math.min(5, rounds));
  for (const input of inputs) {
    let configs = 0;
    let minCpu = Number.POSITIVE_INFINITY;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let done = 0; done < rounds; done += batch) {
      const n = Math.min(batch, rounds - done);
      const b0 = process.cpuUsage();
      for (let i = 0; i < n; i++) configs = parseBeaconConfigs(input.bytes).configs.length;
      minCpu = Math.min(minCpu, cpuMs(process.cpuUsage(b0)) / n);
    }
    const wall = (performance.now() - t0) / rounds;
    const cpu = process.cpuUsage(cpu0);
    figures.push({ sample: input.name, bytes: input.bytes.length, configs, wallMs: wall, cpuMs: (cpu.user + cpu.system) / 1000 / rounds, minCpuMs: minCpu });
  }
  const averageWallMs = figures.reduce((s, f) => s + f.wallMs, 0) / figures.length;
  const averageCpuMs = figures.reduce((s, f) => s + f.cpuMs, 0) / figures.length;
  const averageMinCpuMs = figures.reduce((s, f) => s + f.minCpuMs, 0) / figures.length;
  log(`(a) parse time per beacon (whole pipeline: containers, XOR search, decode), after ${WARM_UP_ROUNDS} warm-up rounds`);
  log(`${'sample'.padEnd(34)} ${'bytes'.padStart(8)} ${'configs'.padStart(7)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(8)} ${'min cpu'.padStart(8)}`);
  for (const f of figures) {
    log(`${f.sample.padEnd(34)} ${String(f.bytes).padStart(8)} ${String(f.configs).padStart(7)} ${f.wallMs.toFixed(3).padStart(8)} ${f.cpuMs.toFixed(3).padStart(8)} ${f.minCpuMs.toFixed(3).padStart(8)}`);
  }
  log(`${'average'.padEnd(34)} ${''.padStart(8)} ${''.padStart(7)} ${averageWallMs.toFixed(3).padStart(8)} ${averageCpuMs.toFixed(3).padStart(8)} ${averageMinCpuMs.toFixed(3).padStart(8)}   (goal < 1 ms)`);
  return { figures, averageWallMs, averageCpuMs, averageMinCpuMs };
}

interface Plant {
  readonly offset: number;
  readonly bytes: Uint8Array;
  /** Offset of the config (block or runtime array) inside `bytes`. */
  readonly configAt: number;
  readonly host: string;
}

function makePlants(count: number, imageBytes: number, random: () => number): Plant[] {
  const plants: Plant[] = [];
  const keys = [0x2e, 0x69, 0xcc, 0x00];
  const slot = Math.floor(imageBytes / count);
  for (let i = 0; i < count; i++) {
    const host = `planted-${i}.example.test`;
    let bytes: Uint8Array;
    let configAt: number;
    if (i % 3 === 2) {
      // A runtime settings array (what a running beacon leaves in memory), 16-byte aligned like a heap block.
      const { table } = buildRuntimeTable(sampleSettings({ host }).filter((s) => s.type !== 'ptr'), i % 2 === 0 ? 'x64' : 'x86');
      bytes = table;
      configAt = 0;
    } else {
      const key = keys[i % keys.length] as number;
      bytes = buildBeacon(sampleSettings({ host }), { xorKey: key });
      configAt = parseBeaconConfigs(bytes, { containers: false }).configs[0]?.offset ?? -1;
    }
    // Random offset inside its own slot, so plants never overlap; runtime arrays stay 16-aligned.
    let offset = i * slot + (random() % Math.max(1, slot - bytes.length - 64));
    if (configAt === 0) offset -= offset % 16;
    plants.push({ offset, bytes, configAt, host });
  }
  return plants;
}

async function writeImage(path: string, size: number, chunk: number, plants: readonly Plant[], random: () => number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    const buffer = new Uint8Array(chunk);
    const words = new Uint32Array(buffer.buffer);
    for (let start = 0; start < size; start += chunk) {
      const length = Math.min(chunk, size - start);
      // Memory-like content: random pages mixed with zero pages and small-integer pages.
      for (let page = 0; page < length; page += 4096) {
        const kind = random() % 4;
        const w0 = page / 4;
        const w1 = Math.min(length, page + 4096) / 4;
        if (kind === 0) words.fill(0, w0, w1);
        else if (kind === 1) for (let w = w0; w < w1; w++) words[w] = random() & 0x3ff;
        else for (let w = w0; w < w1; w++) words[w] = random();
      }
      for (const p of plants) {
        const from = Math.max(p.offset, start);
        const to = Math.min(p.offset + p.bytes.length, start + length);
        if (from < to) buffer.set(p.bytes.subarray(from - p.offset, to - p.offset), from - start);
      }
      await handle.write(buffer, 0, length, start);
    }
    // Flushed before timing: background writeback of 1 GiB of dirty pages would otherwise slow whichever pass
    // runs first (the plain read).
    await handle.sync();
  } finally {
    await handle.close();
  }
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/**
 * Two read buffers; with O_DIRECT they must be aligned to the device block, which JS cannot ask for: probe the
 * offsets of an oversized buffer until the kernel accepts one (EINVAL otherwise).
 */
async function readBuffers(handle: FileHandle, chunk: number, direct: boolean): Promise<[Uint8Array, Uint8Array]> {
  const make = async (): Promise<Uint8Array> => {
    const raw = new Uint8Array(chunk + 8192);
    if (!direct) return raw.subarray(0, chunk);
    for (let offset = 0; offset < 4096; offset += 16) {
      try {
        await handle.read(raw, offset, 4096, 0);
        return raw.subarray(offset, offset + chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      }
    }
    throw new Error('no O_DIRECT-aligned buffer offset found');
  };
  return [await make(), await make()];
}

/**
 * Reads the whole file in chunks. With `onChunk` the next chunk is read (on libuv's thread pool) while the current
 * one is processed, as `malpipe cs parse` streams a memory image: the kernel's copy and the scan run on both cores.
 * Without `onChunk`, a plain sequential read: the reference.
 */
async function readAll(path: string, chunk: number, direct: boolean, onChunk?: (bytes: Uint8Array) => void): Promise<number> {
  const handle = await open(path, direct ? constants.O_RDONLY | constants.O_DIRECT : constants.O_RDONLY);
  try {
    const [a, b] = await readBuffers(handle, chunk, direct);
    let position = 0;
    let current = a;
    let spare = b;
    let pending = handle.read(current, 0, chunk, position);
    while (true) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return position;
      const filled = current;
      position += bytesRead;
      if (onChunk) {
        pending = handle.read(spare, 0, chunk, position);
        onChunk(filled.subarray(0, bytesRead));
        current = spare;
        spare = filled;
      } else {
        pending = handle.read(current, 0, chunk, position);
      }
    }
  } finally {
    await handle.close();
  }
}

/**
 * Reads the file at least 3 times and until two passes in a row agree within 15% (at most 8), so both timed cached
 * passes read the same way. Freshly written page-cache pages read several times slower for the first two or three
 * passes on some kernels and VMs (2 GB/s, then 6 GB/s on the 2-core helper VM); with a single warm-up pass the
 * plain read, which runs first, paid for that and the scan did not.
 */
async function warmPageCache(path: string, chunk: number, log: (line: string) => void): Promise<void> {
  const times: number[] = [];
  for (let pass = 0; pass < 8; pass++) {
    const t0 = performance.now();
    await readAll(path, chunk, false);
    times.push(performance.now() - t0);
    const [previous, last] = times.slice(-2) as [number, number];
    if (times.length >= 3 && Math.abs(last - previous) <= 0.15 * previous) break;
  }
  log(`(b) page-cache warm-up passes (ms): ${times.map((t) => t.toFixed(0)).join(', ')}`);
}

async function benchImage(options: Required<Pick<CobaltStrikeBenchOptions, 'imageMb' | 'beacons' | 'chunkMb' | 'seed'>>, log: (line: string) => void): Promise<ImageScanFigure> {
  const size = options.imageMb * 1024 * 1024;
  const chunk = options.chunkMb * 1024 * 1024;
  const random = xorshift32(options.seed);
  const plants = makePlants(options.beacons, size, random);
  const dir = await mkdtemp(join(tmpdir(), 'malpipe-cs-bench-'));
  const path = join(dir, 'memory.img');
  try {
    const w0 = performance.now();
    await writeImage(path, size, chunk, plants, random);
    log(`(b) wrote a ${options.imageMb} MiB image with ${plants.length} planted beacons in ${((performance.now() - w0) / 1000).toFixed(1)} s`);
    const passes: ImagePass[] = [];
    for (const direct of [false, true]) {
      const cache = direct ? 'uncached (O_DIRECT)' : 'page cache';
      try {
        if (!direct) await warmPageCache(path, chunk, log);
        const r0 = performance.now();
        const rc0 = process.cpuUsage();
        await readAll(path, chunk, direct);
        const readCpu = process.cpuUsage(rc0);
        const readMs = performance.now() - r0;
        const scanner = createBeaconScanner();
        const found: number[] = [];
        const s0 = performance.now();
        const sc0 = process.cpuUsage();
        await readAll(path, chunk, direct, (bytes) => {
          for (const c of scanner.push(bytes)) found.push(c.offset);
        });
        for (const c of scanner.end()) found.push(c.offset);
        const scanCpu = process.cpuUsage(sc0);
        const scanMs = performance.now() - s0;
        const hits = plants.filter((p) => found.includes(p.offset + p.configAt)).length;
        passes.push({ cache, readMs, scanMs, readCpuMs: cpuMs(readCpu), scanCpuMs: cpuMs(scanCpu), found: hits, otherHits: found.length - hits });
      } catch (error) {
        log(`(b) ${cache} pass skipped: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const mib = size / 1024 / 1024;
    const scanPath = native?.scanBeaconStructures ? `native ${native.beaconScanSimd ?? ''}`.trim() : 'TypeScript (addon not built or MALPIPE_NATIVE=0)';
    log(`(b) structure scan: ${scanPath}; chunks of ${options.chunkMb} MiB for both passes`);
    log(`${'pass'.padEnd(34)} ${'wall ms'.padStart(9)} ${'MiB/s'.padStart(9)} ${'cpu ms'.padStart(9)}`);
    for (const p of passes) {
      log(`${`sequential read, ${p.cache}`.padEnd(34)} ${p.readMs.toFixed(0).padStart(9)} ${(mib / (p.readMs / 1000)).toFixed(0).padStart(9)} ${p.readCpuMs.toFixed(0).padStart(9)}`);
      log(`${`streaming scan, ${p.cache}`.padEnd(34)} ${p.scanMs.toFixed(0).padStart(9)} ${(mib / (p.scanMs / 1000)).toFixed(0).padStart(9)} ${p.scanCpuMs.toFixed(0).padStart(9)}`);
      log(`  scan / read speed (${p.cache}): ${((p.readMs / p.scanMs) * 100).toFixed(0)}% (goal >= 50%); planted beacons found: ${p.found}/${plants.length}; other hits: ${p.otherHits}`);
    }
    const first = passes[0];
    const figure: ImageScanFigure = {
      bytes: size,
      scanPath,
      planted: plants.length,
      found: Math.min(...passes.map((p) => p.found)),
      allFound: passes.length > 0 && passes.every((p) => p.found === plants.length),
      readMs: first?.readMs ?? 0,
      scanMs: first?.scanMs ?? 0,
      readMiBs: first ? mib / (first.readMs / 1000) : 0,
      scanMiBs: first ? mib / (first.scanMs / 1000) : 0,
      ratio: first ? first.readMs / first.scanMs : 0,
      readCpuMs: first?.readCpuMs ?? 0,
      scanCpuMs: first?.scanCpuMs ?? 0,
      passes,
    };
    return figure;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runCobaltStrikeBench(options: CobaltStrikeBenchOptions = {}): Promise<CobaltStrikeBenchResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const corpus = await benchCorpus(options.rounds ?? 20, log);
  const imageMb = options.imageMb ?? 1024;
  const image =
    imageMb > 0
      ? await benchImage({ imageMb, beacons: options.beacons ?? 5, chunkMb: options.chunkMb ?? 8, seed: options.seed ?? 0xc0ba17 }, log)
      : null;
  return { corpus, image };
}

function argValue(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const imageMb = argValue(args, '--image-mb');
  const beacons = argValue(args, '--beacons');
  const rounds = argValue(args, '--rounds');
  const chunkMb = argValue(args, '--chunk-mb');
  const result = await runCobaltStrikeBench({
    ...(chunkMb !== undefined ? { chunkMb: Number(chunkMb) } : {}),
    ...(imageMb !== undefined ? { imageMb: Number(imageMb) } : {}),
    ...(beacons !== undefined ? { beacons: Number(beacons) } : {}),
    ...(rounds !== undefined ? { rounds: Number(rounds) } : {}),
  });
  if (result.image && !result.image.allFound) process.exitCode = 1;
}
