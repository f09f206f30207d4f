import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where tests find PostgreSQL: trust auth on loopback unless MALPIPE_TEST_POSTGRES_URL says otherwise. */
export const POSTGRES_ADMIN_URL = process.env.MALPIPE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const PREFIX = 'malpipe_test_';
/** Older than this, a test database belongs to no running test. */
const STALE_AFTER_SECONDS = 3_600;

export type PostgresTestDatabase =
  | { readonly available: true; readonly url: string; drop(): Promise<void> }
  | { readonly available: false; readonly reason: string };

/**
 * Creates a throwaway database for one test file (`malpipe_test_<epoch s>_<random>`); `drop()` removes it,
 * and databases a killed run left behind for over an hour are dropped on the next call. When the
 * server is unreachable this returns `{ available: false, reason }` so suites can skip visibly, except under
 * `CI=true`, where a missing PostgreSQL is a failure, never a skip.
 */
export async function createPostgresTestDatabase(): Promise<PostgresTestDatabase> {
  // The creation time in the name lets a later run drop databases a killed run left behind.
  const name = `${PREFIX}${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => undefined); // the connect error is the one to report
    const reason = `PostgreSQL unavailable at ${POSTGRES_ADMIN_URL}: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: PostgreSQL tests must not skip)`, { cause: error });
    console.warn(`skipping PostgreSQL tests: ${reason}`);
    return { available: false, reason };
  }
  try {
    await dropStaleDatabases(admin);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
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

async function dropStaleDatabases(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${PREFIX}%`]);
  const cutoff = Date.now() / 1000 - STALE_AFTER_SECONDS;
  for (const { datname } of rows) {
    const created = /^malpipe_test_(\d{10})_[0-9a-f]{8}$/.exec(datname)?.[1];
    if (created === undefined || Number(created) >= cutoff) continue;
    // Another run may be sweeping the same database; its failure to drop is worth a line, not a failed suite.
    await admin.query(`drop database if exists ${datname} with (force)`).catch((error: unknown) => {
      console.warn(`could not drop stale test database ${datname}: ${(error as Error).message}`);
    });
  }
}
