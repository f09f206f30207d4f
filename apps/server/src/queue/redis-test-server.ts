import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Where tests find Redis: 127.0.0.1:6379 unless MALPIPE_TEST_REDIS_URL says otherwise. */
export const REDIS_TEST_URL = process.env.MALPIPE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type RedisTestAvailability =
  { readonly available: true; readonly url: string } | { readonly available: false; readonly reason: string };

/**
 * Checks that the shared test Redis answers PING. Unreachable: `{ available: false, reason }` so suites skip
 * visibly, except under `CI=true`, where a missing Redis is a failure, never a skip.
 */
export async function checkRedis(url = REDIS_TEST_URL): Promise<RedisTestAvailability> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // reported through the rejected connect below
  try {
    await client.connect();
    await client.ping();
    return { available: true, url };
  } catch (error) {
    const reason = `Redis unavailable at ${url}: ${(error as Error).message}`;
    if (process.env.CI === 'true')
      throw new Error(`${reason} (CI=true: Redis tests must not skip)`, { cause: error });
    console.warn(`skipping Redis tests: ${reason}`);
    return { available: false, reason };
  } finally {
    client.disconnect();
  }
}

/** A key prefix no other test run uses; tests delete its keys at the end. */
export function uniqueRedisPrefix(): string {
  return `malpipe-test-${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under `prefix:` (SCAN, not KEYS, so a shared Redis is not blocked). */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export interface PrivateRedis {
  readonly url: string;
  /** SIGKILL: Redis dies as a crashed host would; with appendfsync always it loses no acknowledged write. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own, on a free loopback port with an fsync-always append-only file in a temp
 * folder, for tests that crash and restart Redis without disturbing the shared one. Null when redis-server is
 * not installed.
 */
export async function startPrivateRedis(): Promise<PrivateRedis | null> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'malpipe-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ];
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const client = new Redis(url, {
        lazyConnect: true,
        connectTimeout: 500,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`private redis-server on port ${port} did not start`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        client.disconnect();
      }
    }
  };
  const kill9 = async (): Promise<void> => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    kill9,
    start,
    async stop() {
      await kill9();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
