import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where tests find PostgreSQL: trust auth on loopback unless MALPIPE_TEST_POSTGRES_URL says otherwise. */
export const POSTGRES_ADMIN_URL = process.env.MALPIPE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type PostgresTestDatabase =
  | { readonly available: true; readonly url: string; drop(): Promise<void> }
  | { readonly available: false; readonly reason: string };

/**
 * Creates a throwaway database for one test file (`malpipe_test_<random>`); `drop()` removes it. When the
 * server is unreachable this returns `{ available: false, reason }` so suites can skip visibly, except under
 * `CI=true`, where a missing PostgreSQL is a failure, never a skip.
 */
export async function createPostgresTestDatabase(): Promise<PostgresTestDatabase> {
  const name = `malpipe_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await admin.connect();
    await admin.query(`create database ${name}`);
  } catch (error) {
    await admin.end().catch(() => undefined); // the connect error is the one to report
    const reason = `PostgreSQL unavailable at ${POSTGRES_ADMIN_URL}: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: PostgreSQL tests must not skip)`, { cause: error });
    console.warn(`skipping PostgreSQL tests: ${reason}`);
    return { available: false, reason };
  }
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    available: true,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
