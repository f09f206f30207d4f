import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** A free TCP port on loopback (closed again before it is handed out). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface MalpipeServer {
  readonly url: string;
  readonly adminToken: string;
  stop(): Promise<void>;
}

/**
 * A real `malpipe serve` (API role only, embedded SQLite and file store in a temp dir) on a free loopback
 * port, as an analyst would run it; stopped with SIGTERM.
 */
export async function startMalpipeServer(): Promise<MalpipeServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'malpipe-ext-server-'));
  const port = await freePort();
  const adminToken = randomBytes(20).toString('hex');
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/bin/malpipe.js'), 'serve'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      MALPIPE_DATA_DIR: dataDir,
      MALPIPE_HOST: '127.0.0.1',
      MALPIPE_PORT: String(port),
      MALPIPE_ADMIN_TOKEN: adminToken,
      MALPIPE_ROLES: 'api',
      MALPIPE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`malpipe serve exited with ${child.exitCode}:\n${output.join('')}`);
    }
    try {
      const response = await fetch(`${url}/api/v1/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`malpipe serve did not answer on ${url} within 30 s:\n${output.join('')}`);
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  return { url, adminToken, stop };
}
