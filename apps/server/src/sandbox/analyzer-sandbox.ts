import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnalyzerLimits, SampleFacts } from '@malpipe/analyzers';
import { AppError } from '@malpipe/core';
import { isChildMessage, type SandboxInput, type SandboxOutcome, type SandboxRunMessage, type SandboxYaraSpec } from './sandbox-protocol.js';

export interface AnalyzerSandboxOptions {
  /** Maximum number of child processes (one sample's batch of analysers at a time each). */
  readonly size: number;
  /** Per-analyser wall-clock limit; the child is killed and replaced when it passes. */
  readonly timeoutMs: number;
  /** V8 heap limit of each child; the resident set is also watched (buffers live outside the heap). */
  readonly memoryMb: number;
  /** Absolute paths of extra modules exporting `analyzers: Analyzer[]`. For tests only. */
  readonly extraAnalyzerModules?: readonly string[];
  /** When false, the built-in analysers are not loaded in children (tests). Default true. */
  readonly builtinAnalyzers?: boolean;
  readonly yara?: SandboxYaraSpec | null;
}

/** The analysers to run on one sample, in order, in one child (the sample is read once). */
export interface SandboxBatchRequest {
  readonly analyzers: readonly string[];
  readonly input: SandboxInput;
  readonly facts: SampleFacts;
  readonly archivePasswords: readonly string[];
  readonly limits: AnalyzerLimits;
  /** Per analyser; overrides the pool's default. */
  readonly timeoutMs?: number;
}

export interface SandboxRunRequest extends Omit<SandboxBatchRequest, 'analyzers'> {
  readonly analyzer: string;
}

/** A batch waiting for (or running in) a child; `remaining` shrinks as outcomes arrive. */
interface PendingCall {
  readonly request: SandboxBatchRequest;
  readonly timeoutMs: number;
  readonly remaining: { readonly name: string; readonly resolve: (outcome: SandboxOutcome) => void }[];
}

/**
 * The code of outcomes that say nothing about the sample: cut short by `close()`, or a child that never
 * started. Callers retry later rather than store them as the analyser's result.
 */
export const SANDBOX_CLOSED_CODE = 'INTERNAL';

/**
 * Set by the CLI's esbuild build (apps/cli/bin/bundle.js) to the child transpiled to plain JavaScript, which starts
 * without the TypeScript loader; undefined when running from sources (tsx, vitest).
 */
declare const MALPIPE_PREBUILT_SANDBOX_CHILD: string | undefined;
const PREBUILT_CHILD = typeof MALPIPE_PREBUILT_SANDBOX_CHILD === 'string' ? MALPIPE_PREBUILT_SANDBOX_CHILD : null;
const CHILD_ENTRY = fileURLToPath(new URL('./sandbox-child.ts', import.meta.url));
const WATCH_INTERVAL_MS = 200;
/** Loading the analysers (through tsx) takes a second or two; a child that never says ready is killed. */
const STARTUP_TIMEOUT_MS = 60_000;
const STDERR_TAIL = 2048;

/** The tsx loader as an absolute URL, so children start from any working directory. */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

function childCommand(options: AnalyzerSandboxOptions): { entry: string; execArgv: string[] } {
  const heap = `--max-old-space-size=${options.memoryMb}`;
  // Test analysers are TypeScript modules loaded by path: they need the loader anyway.
  if (PREBUILT_CHILD !== null && (options.extraAnalyzerModules ?? []).length === 0) return { entry: PREBUILT_CHILD, execArgv: [heap] };
  return { entry: CHILD_ENTRY, execArgv: ['--import', tsxLoaderUrl(), heap] };
}

/** Resident set size of a process in bytes (Linux /proc), or null when unknown. */
function residentBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] === undefined ? null : Number(match[1]) * 1024;
  } catch {
    // Not Linux, or the process is already gone: the V8 heap limit still applies.
    return null;
  }
}

function closedOutcome(message: string): SandboxOutcome {
  return { status: 'error', code: SANDBOX_CLOSED_CODE, message, durationMs: 0 };
}

/** One long-lived child process. */
class SandboxChild {
  readonly process: ChildProcess;
  readonly ready: Promise<boolean>;
  busy = false;
  exited = false;
  #stderr = '';
  /** The batch in flight: `onResult` takes the next analyser's outcome, `onExit` ends the batch early. */
  #current: { id: number; onResult: (index: number, outcome: SandboxOutcome) => void; onExit: (outcome: SandboxOutcome) => void } | null = null;
  #killReason: { code: 'ANALYZER_TIMEOUT' | 'ANALYZER_CRASHED' | 'INTERNAL'; message: string } | null = null;

  constructor(options: AnalyzerSandboxOptions, onExit: (child: SandboxChild) => void) {
    const args = [JSON.stringify({ extraAnalyzerModules: options.extraAnalyzerModules ?? [], builtinAnalyzers: options.builtinAnalyzers ?? true })];
    const { entry, execArgv } = childCommand(options);
    this.process = fork(entry, args, {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.process.stderr?.setEncoding('utf8');
    this.process.stderr?.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-STDERR_TAIL);
    });
    this.ready = new Promise((resolveReady) => {
      const startTimer = setTimeout(() => this.process.kill('SIGKILL'), STARTUP_TIMEOUT_MS);
      this.process.on('message', (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.type === 'ready') {
          clearTimeout(startTimer);
          resolveReady(true);
        } else if (this.#current !== null && message.id === this.#current.id && this.#killReason === null) {
          // After a kill, a late answer is ignored: the exit blames the analyser the kill was for, not the next one.
          this.#current.onResult(message.index, message.outcome);
        }
      });
      this.process.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        this.exited = true;
        resolveReady(false);
        if (this.#current !== null) {
          const reason = this.#killReason ?? {
            code: 'ANALYZER_CRASHED' as const,
            message: `analyser process died (${signal ?? `exit code ${code}`})${this.#stderrHint()}`,
          };
          this.#current.onExit({ status: 'error', code: reason.code, message: reason.message, durationMs: 0 });
        }
        onExit(this);
      });
      this.process.on('error', () => {
        // 'exit' follows (or the fork failed, and kill() below makes sure of it).
        this.process.kill('SIGKILL');
      });
    });
  }

  #stderrHint(): string {
    const line = this.#stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .find((l) => /heap out of memory|Error|error/.test(l));
    return line === undefined ? '' : `: ${line.slice(0, 300)}`;
  }

  /**
   * Runs a batch; resolves when every analyser of the message has answered or the child died. Each outcome
   * goes to the first entry of `call.remaining`, which is removed; on a death the analyser running then gets
   * the error and the rest stay in `call.remaining` for another child. Each analyser has its own time limit.
   */
  run(message: SandboxRunMessage, call: PendingCall, memoryLimitBytes: number): Promise<void> {
    if (this.exited) {
      call.remaining.shift()?.resolve({ status: 'error', code: 'ANALYZER_CRASHED', message: `analyser process died${this.#stderrHint()}`, durationMs: 0 });
      return Promise.resolve();
    }
    return new Promise((resolveRun) => {
      let started = performance.now();
      const current = (): string => call.remaining[0]?.name ?? '?';
      const arm = (): NodeJS.Timeout =>
        setTimeout(() => this.#kill('ANALYZER_TIMEOUT', `analyser ${current()} timed out after ${call.timeoutMs} ms`), call.timeoutMs);
      let timer = arm();
      const watch = setInterval(() => {
        const rss = this.process.pid === undefined ? null : residentBytes(this.process.pid);
        if (rss !== null && rss > memoryLimitBytes) {
          this.#kill('ANALYZER_CRASHED', `analyser ${current()} exceeded the memory limit (${Math.round(rss / 1048576)} MB resident)`);
        }
      }, WATCH_INTERVAL_MS);
      let answered = 0;
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(watch);
        this.#current = null;
        resolveRun();
      };
      this.#current = {
        id: message.id,
        onResult: (index, outcome) => {
          // Answers come in order; anything else is not from this batch.
          if (index !== answered) return;
          answered++;
          clearTimeout(timer);
          call.remaining.shift()?.resolve(outcome);
          if (answered >= message.analyzers.length || call.remaining.length === 0) {
            finish();
          } else {
            started = performance.now();
            timer = arm();
          }
        },
        onExit: (outcome) => {
          call.remaining.shift()?.resolve({ ...outcome, durationMs: Math.round(performance.now() - started) });
          finish();
        },
      };
      this.process.send(message, (error) => {
        if (error) this.#kill('ANALYZER_CRASHED', `could not reach the analyser process: ${error.message}`);
      });
    });
  }

  #kill(code: 'ANALYZER_TIMEOUT' | 'ANALYZER_CRASHED' | 'INTERNAL', message: string): void {
    this.#killReason ??= { code, message };
    this.process.kill('SIGKILL');
  }

  /** Kills the child; a call in flight ends as SANDBOX_CLOSED_CODE, which callers must not store as a result. */
  terminate(): void {
    if (!this.exited) this.#kill(SANDBOX_CLOSED_CODE, 'the analyser sandbox closed');
  }
}

/**
 * Runs analysers in a pool of long-lived child processes, so a parser that loops, crashes or eats memory on
 * hostile input costs one call, not the worker: the call ends as ANALYZER_TIMEOUT or ANALYZER_CRASHED, the
 * child is replaced, and queued calls carry on. At most `size` children; calls beyond that wait their turn.
 */
export class AnalyzerSandbox {
  readonly #options: AnalyzerSandboxOptions;
  readonly #children = new Set<SandboxChild>();
  readonly #waiting: PendingCall[] = [];
  #yara: SandboxYaraSpec | null;
  #nextId = 1;
  #closed = false;

  constructor(options: AnalyzerSandboxOptions) {
    if (options.size < 1) throw new AppError('CONFIG_INVALID', 'sandbox size must be at least 1');
    this.#options = options;
    this.#yara = options.yara ?? null;
  }

  /** Switches the ruleset; children reload it on their next call. */
  setYara(spec: SandboxYaraSpec | null): void {
    this.#yara = spec;
  }

  /** Number of live child processes (for tests and metrics). */
  get processCount(): number {
    return this.#children.size;
  }

  /** Process ids of the live children (for tests and metrics). */
  get pids(): readonly number[] {
    return [...this.#children].flatMap((child) => (child.process.pid === undefined ? [] : [child.process.pid]));
  }

  /**
   * Starts the children now rather than at the first call: loading the analysers takes a second or two,
   * which then overlaps with the caller's own start-up (ingesting the first samples).
   */
  warm(): void {
    while (!this.#closed && this.#children.size < this.#options.size) this.#addChild();
  }

  /**
   * Runs the analysers of one sample in one child, in order: one promise per analyser, resolved as soon as
   * that analyser is done; never rejected. A hang or crash fails the analyser running at the time only; the
   * ones after it run in another child.
   */
  runAll(request: SandboxBatchRequest): Promise<SandboxOutcome>[] {
    const outcomes: Promise<SandboxOutcome>[] = [];
    const remaining = request.analyzers.map((name) => {
      let resolve: (outcome: SandboxOutcome) => void = () => undefined;
      outcomes.push(new Promise<SandboxOutcome>((r) => (resolve = r)));
      return { name, resolve };
    });
    if (this.#closed) {
      for (const entry of remaining) entry.resolve(closedOutcome('the analyser sandbox closed'));
    } else if (remaining.length > 0) {
      // Nothing else to do: the sample's analysers spread over the idle children (each group reads the sample
      // once), so one sample alone still uses every core. Under load each sample keeps to one child.
      const idle = [...this.#children].filter((c) => !c.busy && !c.exited).length + (this.#options.size - this.#children.size);
      const groups = this.#waiting.length === 0 ? Math.max(1, Math.min(idle, remaining.length)) : 1;
      for (let group = 0; group < groups; group++) {
        const part = remaining.filter((_, index) => index % groups === group);
        this.#waiting.push({ request, timeoutMs: request.timeoutMs ?? this.#options.timeoutMs, remaining: part });
      }
      this.#pump();
    }
    return outcomes;
  }

  /** One analyser: `runAll` with a single name. */
  run(request: SandboxRunRequest): Promise<SandboxOutcome> {
    if (this.#closed) return Promise.reject(new AppError('INTERNAL', 'the analyser sandbox is closed'));
    const { analyzer, ...rest } = request;
    return this.runAll({ ...rest, analyzers: [analyzer] })[0] as Promise<SandboxOutcome>;
  }

  #pump(): void {
    while (this.#waiting.length > 0 && !this.#closed) {
      let child = [...this.#children].find((c) => !c.busy && !c.exited);
      if (child === undefined) {
        if (this.#children.size >= this.#options.size) return;
        child = this.#addChild();
      }
      const call = this.#waiting.shift();
      if (call === undefined) return;
      void this.#dispatch(child, call);
    }
  }

  #addChild(): SandboxChild {
    const child = new SandboxChild(this.#options, (gone) => {
      this.#children.delete(gone);
      this.#pump();
    });
    this.#children.add(child);
    return child;
  }

  async #dispatch(child: SandboxChild, call: PendingCall): Promise<void> {
    child.busy = true;
    const ready = await child.ready;
    if (ready) {
      const { request } = call;
      const message: SandboxRunMessage = {
        type: 'run',
        id: this.#nextId++,
        analyzers: call.remaining.map((entry) => entry.name),
        input: request.input,
        facts: request.facts,
        archivePasswords: request.archivePasswords,
        limits: request.limits,
        yara: this.#yara,
        timeoutMs: call.timeoutMs,
      };
      await child.run(message, call, (this.#options.memoryMb + 512) * 1024 * 1024);
    } else {
      // Infrastructure, not the sample: callers retry rather than store it (see SANDBOX_CLOSED_CODE).
      const reason = this.#closed ? 'the analyser sandbox closed' : 'the analyser process failed to start';
      for (const entry of call.remaining.splice(0)) entry.resolve(closedOutcome(reason));
    }
    child.busy = false;
    if (call.remaining.length > 0) {
      // The child died under an analyser: the ones after it run next, in another child.
      if (this.#closed) for (const entry of call.remaining.splice(0)) entry.resolve(closedOutcome('the analyser sandbox closed'));
      else this.#waiting.unshift(call);
    }
    this.#pump();
  }

  /** Kills every child; calls still waiting resolve as errors. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#waiting.splice(0)) {
      for (const entry of call.remaining.splice(0)) entry.resolve(closedOutcome('the analyser sandbox closed'));
    }
    const exits = [...this.#children].map(
      (child) => new Promise<void>((resolveExit) => (child.exited ? resolveExit() : child.process.once('exit', () => resolveExit()))),
    );
    for (const child of this.#children) child.terminate();
    await Promise.all(exits);
  }
}
