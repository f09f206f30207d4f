import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnalyzerLimits, SampleFacts } from '@malpipe/analyzers';
import { AppError } from '@malpipe/core';
import { isChildMessage, type SandboxInput, type SandboxOutcome, type SandboxRunMessage, type SandboxYaraSpec } from './sandbox-protocol.js';

export interface AnalyzerSandboxOptions {
  /** Maximum number of child processes (one analyser call at a time each). */
  readonly size: number;
  /** Per-call wall-clock limit; the child is killed and replaced when it passes. */
  readonly timeoutMs: number;
  /** V8 heap limit of each child; the resident set is also watched (buffers live outside the heap). */
  readonly memoryMb: number;
  /** Absolute paths of extra modules exporting `analyzers: Analyzer[]`. For tests only. */
  readonly extraAnalyzerModules?: readonly string[];
  /** When false, the built-in analysers are not loaded in children (tests). Default true. */
  readonly builtinAnalyzers?: boolean;
  readonly yara?: SandboxYaraSpec | null;
}

export interface SandboxRunRequest {
  readonly analyzer: string;
  readonly input: SandboxInput;
  readonly facts: SampleFacts;
  readonly archivePasswords: readonly string[];
  readonly limits: AnalyzerLimits;
  /** Overrides the pool's default. */
  readonly timeoutMs?: number;
}

interface PendingCall {
  readonly message: SandboxRunMessage;
  readonly timeoutMs: number;
  readonly resolve: (outcome: SandboxOutcome) => void;
}

/**
 * The code of outcomes that say nothing about the sample: cut short by `close()`, or a child that never
 * started. Callers retry later rather than store them as the analyser's result.
 */
export const SANDBOX_CLOSED_CODE = 'INTERNAL';

const CHILD_ENTRY = fileURLToPath(new URL('./sandbox-child.ts', import.meta.url));
const WATCH_INTERVAL_MS = 200;
/** Loading the analysers (through tsx) takes a second or two; a child that never says ready is killed. */
const STARTUP_TIMEOUT_MS = 60_000;
const STDERR_TAIL = 2048;

/** The tsx loader as an absolute URL, so children start from any working directory. */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
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

function pathOf(input: SandboxInput | undefined): string | null {
  return input !== undefined && 'path' in input ? input.path : null;
}

/** One long-lived child process. */
class SandboxChild {
  readonly process: ChildProcess;
  readonly ready: Promise<boolean>;
  busy = false;
  exited = false;
  /** Path of the sample this child read last (it keeps those bytes for a moment: see sandbox-child.ts). */
  lastPath: string | null = null;
  #stderr = '';
  #current: { id: number; done: (outcome: SandboxOutcome) => void } | null = null;
  #killReason: { code: 'ANALYZER_TIMEOUT' | 'ANALYZER_CRASHED' | 'INTERNAL'; message: string } | null = null;

  constructor(options: AnalyzerSandboxOptions, onExit: (child: SandboxChild) => void) {
    const args = [JSON.stringify({ extraAnalyzerModules: options.extraAnalyzerModules ?? [], builtinAnalyzers: options.builtinAnalyzers ?? true })];
    this.process = fork(CHILD_ENTRY, args, {
      execArgv: ['--import', tsxLoaderUrl(), `--max-old-space-size=${options.memoryMb}`],
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
        } else if (this.#current !== null && message.id === this.#current.id) {
          const { done } = this.#current;
          this.#current = null;
          done(message.outcome);
        }
      });
      this.process.on('exit', (code, signal) => {
        clearTimeout(startTimer);
        this.exited = true;
        resolveReady(false);
        if (this.#current !== null) {
          const { done } = this.#current;
          this.#current = null;
          const reason = this.#killReason ?? {
            code: 'ANALYZER_CRASHED' as const,
            message: `analyser process died (${signal ?? `exit code ${code}`})${this.#stderrHint()}`,
          };
          done({ status: 'error', code: reason.code, message: reason.message, durationMs: 0 });
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

  /** Runs one call; resolves with the outcome, never rejects. */
  run(message: SandboxRunMessage, timeoutMs: number, memoryLimitBytes: number): Promise<SandboxOutcome> {
    const started = performance.now();
    if (this.exited) {
      return Promise.resolve({ status: 'error', code: 'ANALYZER_CRASHED', message: `analyser process died${this.#stderrHint()}`, durationMs: 0 });
    }
    return new Promise((resolveRun) => {
      const timer = setTimeout(() => this.#kill('ANALYZER_TIMEOUT', `analyser ${message.analyzer} timed out after ${timeoutMs} ms`), timeoutMs);
      const watch = setInterval(() => {
        const rss = this.process.pid === undefined ? null : residentBytes(this.process.pid);
        if (rss !== null && rss > memoryLimitBytes) {
          this.#kill('ANALYZER_CRASHED', `analyser ${message.analyzer} exceeded the memory limit (${Math.round(rss / 1048576)} MB resident)`);
        }
      }, WATCH_INTERVAL_MS);
      this.#current = {
        id: message.id,
        done: (outcome) => {
          clearTimeout(timer);
          clearInterval(watch);
          const durationMs = Math.round(performance.now() - started);
          resolveRun(outcome.status === 'error' && outcome.durationMs === 0 ? { ...outcome, durationMs } : outcome);
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

  run(request: SandboxRunRequest): Promise<SandboxOutcome> {
    if (this.#closed) return Promise.reject(new AppError('INTERNAL', 'the analyser sandbox is closed'));
    const timeoutMs = request.timeoutMs ?? this.#options.timeoutMs;
    const message: SandboxRunMessage = {
      type: 'run',
      id: this.#nextId++,
      analyzer: request.analyzer,
      input: request.input,
      facts: request.facts,
      archivePasswords: request.archivePasswords,
      limits: request.limits,
      yara: this.#yara,
      timeoutMs,
    };
    return new Promise((resolveRun) => {
      this.#waiting.push({ message, timeoutMs, resolve: resolveRun });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#waiting.length > 0 && !this.#closed) {
      const idle = [...this.#children].filter((c) => !c.busy && !c.exited);
      // Prefer the child that just read this sample: the analysers of one sample then share one read.
      const path = pathOf(this.#waiting[0]?.message.input);
      let child = (path === null ? undefined : idle.find((c) => c.lastPath === path)) ?? idle[0];
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
    child.lastPath = pathOf(call.message.input);
    const ready = await child.ready;
    const outcome: SandboxOutcome = ready
      ? await child.run(call.message, call.timeoutMs, (this.#options.memoryMb + 512) * 1024 * 1024)
      : // Infrastructure, not the sample: callers retry rather than store it (see SANDBOX_CLOSED_CODE).
        { status: 'error', code: SANDBOX_CLOSED_CODE, message: this.#closed ? 'the analyser sandbox closed' : 'the analyser process failed to start', durationMs: 0 };
    child.busy = false;
    call.resolve(outcome);
    this.#pump();
  }

  /** Kills every child; calls still waiting resolve as errors. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#waiting.splice(0)) {
      call.resolve({ status: 'error', code: SANDBOX_CLOSED_CODE, message: 'the analyser sandbox closed', durationMs: 0 });
    }
    const exits = [...this.#children].map(
      (child) => new Promise<void>((resolveExit) => (child.exited ? resolveExit() : child.process.once('exit', () => resolveExit()))),
    );
    for (const child of this.#children) child.terminate();
    await Promise.all(exits);
  }
}
