import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const MALPIPE = join(REPO, 'apps/cli/bin/malpipe.js');

export interface MalpipeProcess {
  readonly role: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last lines of stdout and stderr, for failure messages. */
  tail(): string;
  /** SIGKILL to the whole process group: the server and its sandbox children, as a machine dying would. */
  kill9(): void;
  /** SIGTERM, then SIGKILL to the group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: Promise<number | null>;
}

/** A fresh admin token secret (MALPIPE_ADMIN_TOKEN) for a test's API process. */
export function testAdminToken(): string {
  return `mp_test_${randomBytes(18).toString('hex')}`;
}

/**
 * Starts `malpipe <args>` as a real process in its own process group and resolves once a stderr line matches
 * `ready` (returning the match). Each process gets its own data directory (compiled rules, temp files).
 */
export async function startMalpipe(
  role: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<{ process: MalpipeProcess; match: RegExpMatchArray }> {
  const dataDir = mkdtempSync(join(tmpdir(), `malpipe-${role}-`));
  const child = spawn(process.execPath, [MALPIPE, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env, MALPIPE_DATA_DIR: dataDir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(
      ...chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  void exited.then(() => rmSync(dataDir, { recursive: true, force: true }));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start malpipe ${role}`);
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const proc: MalpipeProcess = {
    role,
    child,
    pid,
    tail: () => lines.slice(-40).join('\n'),
    kill9: () => killGroup('SIGKILL'),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup('SIGKILL'); // sandbox children that outlived their parent
    },
    exited,
  };
  const match = await new Promise<RegExpMatchArray>((resolveReady, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      proc.kill9();
      reject(new Error(`malpipe ${role} not ready within ${timeoutMs} ms:\n${proc.tail()}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      keep(chunk);
      buffer += chunk.toString('utf8');
      const found = buffer.match(ready);
      if (found !== null) {
        clearTimeout(timer);
        buffer = '';
        resolveReady(found);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`malpipe ${role} exited with ${code} before it was ready:\n${proc.tail()}`));
    });
  });
  return { process: proc, match };
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T, index);
      }
    }),
  );
  return results;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil(
  what: string,
  predicate: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
