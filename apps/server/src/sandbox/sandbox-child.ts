/**
 * Entry point of a sandbox child process (forked by AnalyzerSandbox: through the tsx loader, or transpiled by the CLI).
 * It loads the analysers once, keeps the YARA ruleset between calls, and serves one `run` message at a time: one
 * sample, read once, and the analysers to run on it in order.
 * Nothing here trusts the sample: every failure becomes an error outcome, and the parent enforces time and memory.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Analyzer, AnalyzerOutput, ChildSample, YaraScanner } from '@malpipe/analyzers';
import { toAppError } from '@malpipe/core';
import type { SandboxOutcome, SandboxRunMessage, SandboxYaraSpec } from './sandbox-protocol.js';
import { loadYaraScanner } from './sandbox-yara.js';

/**
 * Runs in a worker thread (alive while the main thread spins). A parent that is gone or a zombie (killed but not
 * yet reaped) counts as dead; without /proc, a signal-0 probe decides.
 */
const PARENT_WATCHDOG = `
const { existsSync, readFileSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const { ppid, intervalMs } = workerData;
const hasProc = existsSync('/proc/self/stat');
function parentAlive() {
  if (hasProc) {
    try {
      const stat = readFileSync('/proc/' + ppid + '/stat', 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  }
  try { process.kill(ppid, 0); return true; } catch { return false; }
}
setInterval(() => { if (!parentAlive()) process.kill(process.pid, 'SIGKILL'); }, intervalMs);
`;

interface ChildOptions {
  readonly extraAnalyzerModules: readonly string[];
  readonly builtinAnalyzers: boolean;
}

function isAnalyzer(value: unknown): value is Analyzer {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Analyzer>;
  return typeof candidate.name === 'string' && typeof candidate.analyze === 'function' && typeof candidate.accepts === 'function';
}

async function loadAnalyzers(options: ChildOptions): Promise<Map<string, Analyzer>> {
  const byName = new Map<string, Analyzer>();
  if (options.builtinAnalyzers) {
    const { BUILTIN_ANALYZERS } = await import('@malpipe/analyzers/registry');
    for (const analyzer of BUILTIN_ANALYZERS) byName.set(analyzer.name, analyzer);
  }
  for (const path of options.extraAnalyzerModules) {
    const module = (await import(pathToFileURL(path).href)) as { analyzers?: unknown };
    if (!Array.isArray(module.analyzers)) throw new Error(`${path} does not export "analyzers"`);
    for (const analyzer of module.analyzers) if (isAnalyzer(analyzer)) byName.set(analyzer.name, analyzer);
  }
  return byName;
}

/** Keeps results plain JSON (the parent stores them as text); child bytes stay binary. */
function toTransferable(output: AnalyzerOutput): AnalyzerOutput {
  const children: ChildSample[] = (output.children ?? []).map((child) => ({
    bytes: child.bytes,
    name: child.name,
    relation: child.relation,
    detail: child.detail,
  }));
  return {
    result: JSON.parse(JSON.stringify(output.result ?? null)) as unknown,
    indicators: JSON.parse(JSON.stringify(output.indicators ?? [])) as AnalyzerOutput['indicators'],
    tags: (output.tags ?? []).filter((tag): tag is string => typeof tag === 'string'),
    children,
    warnings: (output.warnings ?? []).map(String),
  };
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const analyzers = await loadAnalyzers(options);
let yara: { readonly spec: SandboxYaraSpec; readonly scanner: YaraScanner } | null = null;

async function scannerFor(spec: SandboxYaraSpec | null): Promise<YaraScanner | undefined> {
  if (spec === null) return undefined;
  if (yara?.spec.version !== spec.version || yara.spec.engine !== spec.engine) {
    yara = { spec, scanner: await loadYaraScanner(spec) };
  }
  return yara.scanner;
}

/** The sample's bytes, read once for all the analysers of a call. */
async function readSample(input: SandboxRunMessage['input']): Promise<Uint8Array> {
  if (!('path' in input)) return input.bytes;
  // A plain Uint8Array view of the Buffer, no copy (a Buffer's `slice` would share memory where analysers expect a copy).
  const buffer = await readFile(input.path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

async function runOne(message: SandboxRunMessage, name: string, bytes: Uint8Array): Promise<SandboxOutcome> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  try {
    const analyzer = analyzers.get(name);
    if (analyzer === undefined) {
      return { status: 'error', code: 'NOT_FOUND', message: `unknown analyser ${name}`, durationMs: elapsed() };
    }
    const loaded = analyzer.usesRuleset === true ? await scannerFor(message.yara) : undefined;
    // A scan gives up a little before the parent would kill the process, so the result says TIMEOUT, not crash.
    const scanTimeoutMs = Math.max(1000, message.timeoutMs - 2000);
    const scanner: YaraScanner | undefined =
      loaded === undefined
        ? undefined
        : {
            engine: loaded.engine,
            rulesetVersion: loaded.rulesetVersion,
            scan: (data, scanOptions) => loaded.scan(data, { timeoutMs: Math.min(scanTimeoutMs, scanOptions?.timeoutMs ?? scanTimeoutMs) }),
          };
    // The analysers of a call share one read of the bytes (they are pure: none writes into its input).
    const output = await analyzer.analyze(bytes, message.facts, {
      limits: message.limits,
      archivePasswords: message.archivePasswords,
      ...(scanner === undefined ? {} : { yara: scanner }),
    });
    return { status: 'ok', output: toTransferable(output), durationMs: elapsed() };
  } catch (error) {
    const appError = toAppError(error, 'ANALYZER_FAILED');
    return { status: 'error', code: appError.code, message: appError.message, durationMs: elapsed() };
  }
}

/** Runs the call's analysers in order, answering each as soon as it is done (the parent times them one by one). */
async function run(message: SandboxRunMessage): Promise<void> {
  let bytes: Uint8Array | null = null;
  let readError: SandboxOutcome | null = null;
  try {
    bytes = await readSample(message.input);
  } catch (error) {
    const appError = toAppError(error, 'ANALYZER_FAILED');
    readError = { status: 'error', code: appError.code, message: `cannot read the sample: ${appError.message}`, durationMs: 0 };
  }
  for (const [index, name] of message.analyzers.entries()) {
    const outcome = bytes === null ? (readError as SandboxOutcome) : await runOne(message, name, bytes);
    await new Promise<void>((resolveSent) => {
      if (process.send === undefined) resolveSent();
      else process.send({ type: 'result', id: message.id, index, outcome }, () => resolveSent());
    });
  }
}

process.on('message', (message: SandboxRunMessage) => {
  if (message.type !== 'run') return;
  void run(message);
});
// The parent owns this process: when it goes away, so do we. 'disconnect' covers an idle child; a child stuck
// in a synchronous loop never sees it, so a watchdog thread checks the parent and kills this process.
process.on('disconnect', () => process.exit(0));
new Worker(PARENT_WATCHDOG, { eval: true, workerData: { ppid: process.ppid, intervalMs: 1000 } }).unref();
process.send?.({ type: 'ready', analyzers: [...analyzers.keys()] });
