import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Where tests find Redis: 127.0.0.1:6379 unless MALPIPE_TEST_REDIS_URL says otherwise. */
export const REDIS_TEST_URL = process.env.MALPIPE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type RedisTestAvailability = { readonly available: true; readonly url: string } | { readonly available: false; readonly reason: string };

/**
 * Checks that the shared test Redis answers PING. Unreachable: `{ available: false, reason }` so suites skip
 * visibly, except under `CI=true`, where a missing Redis is a failure, never a skip.
 */
export async function checkRedis(url = REDIS_TEST_URL): Promise<RedisTestAvailability> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // reported through the rejected connect below
  try {
    await client.connect();
    await client.ping();
    return { available: true, url };
  } catch (error) {
    const reason = `Redis unavailable at ${url}: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: Redis tests must not skip)`, { cause: error });
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
