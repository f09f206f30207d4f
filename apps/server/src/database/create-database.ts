import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  type DatabaseConnection,
  type Driver,
  type MigrationResult,
  type PostgresCursor,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  type SqliteDatabase,
  type SqliteStatement,
  type TransactionSettings,
} from 'kysely';
import { AppError } from '@malpipe/core';
import type { Database } from './database.js';
import type { MigrationDialect } from './migrations/migration-dialect.js';
import { StaticMigrationProvider } from './migrations/static-migration-provider.js';
import type { Schema } from './schema.js';

export interface CreateDatabaseOptions {
  /** Run pending migrations before returning (default true). */
  readonly migrate?: boolean;
  /** SQLite: how long a writer waits for another process's lock before SQLITE_BUSY (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** PostgreSQL: connections in the pool (default 10). */
  readonly poolSize?: number;
}

/**
 * Opens the metadata database named by `url` and brings its schema up to date.
 *
 * - `sqlite:<path>` (relative paths resolve from the working directory; the folder is created) or
 *   `sqlite::memory:`. One connection in WAL mode with `busy_timeout`, `foreign_keys=ON` and
 *   `synchronous=NORMAL`; transactions start with `BEGIN IMMEDIATE` so two processes never deadlock on a
 *   read-to-write lock upgrade.
 * - `postgres://user@host:port/db` (or `postgresql://`): a `pg` pool; int8 columns come back as numbers.
 *
 * Throws CONFIG_INVALID for an unknown scheme, DATABASE_FAILED when opening or migrating fails.
 *
 * @example
 * const db = await createDatabase('sqlite:./malpipe-data/malpipe.db');
 * await db.selectFrom('samples').selectAll().execute();
 * await db.destroy();
 */
export async function createDatabase(url: string, options: CreateDatabaseOptions = {}): Promise<Database> {
  const db = url.startsWith('sqlite:')
    ? openSqlite(url.slice('sqlite:'.length), options)
    : /^postgres(ql)?:\/\//.test(url)
      ? await openPostgres(url, options)
      : null;
  if (db === null) {
    throw new AppError('CONFIG_INVALID', `unsupported database URL scheme in "${redactUrl(url)}" (expected sqlite: or postgres://)`);
  }
  if (options.migrate ?? true) {
    try {
      await migrateWithRetry(db);
    } catch (error) {
      await db.destroy();
      throw error;
    }
  }
  return db;
}

/**
 * Kysely takes an advisory lock for Postgres migrations but none for SQLite, so two processes opening a new
 * file together can both see a migration as pending; the loser's transaction fails ("table already exists")
 * and rolls back whole. Re-reading the migration table then finds it applied, so a few retries settle it.
 */
async function migrateWithRetry(db: Database): Promise<void> {
  const attempts = dialectOf(db) === 'sqlite' ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateToLatest(db);
      return;
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 50 * attempt + Math.floor(Math.random() * 50)));
    }
  }
}

/** Applies every pending migration; throws DATABASE_FAILED naming the migration that failed. */
export async function migrateToLatest(db: Database): Promise<readonly MigrationResult[]> {
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider(dialectOf(db)) });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    const message = error instanceof Error ? error.message : String(error);
    throw new AppError('DATABASE_FAILED', `migration ${failed} failed: ${message}`, { cause: error, retryable: false });
  }
  return results;
}

/** Which SQL dialect a Database (or transaction) speaks; the only dialect switch outside migrations. */
export function dialectOf(db: Kysely<Schema>): MigrationDialect {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  throw new AppError('CONFIG_INVALID', 'unsupported database dialect (expected SQLite or PostgreSQL)');
}

function openSqlite(location: string, options: CreateDatabaseOptions): Database {
  const path = location.startsWith('//') ? location.slice(2) : location;
  if (path === '') throw new AppError('CONFIG_INVALID', 'sqlite: URL needs a file path or :memory:');
  const memory = path === ':memory:';
  let native: BetterSqlite3.Database;
  try {
    const file = memory ? ':memory:' : resolve(path);
    if (!memory) mkdirSync(dirname(file), { recursive: true });
    native = new BetterSqlite3(file);
    if (!memory) native.pragma('journal_mode = WAL');
    native.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    native.pragma('foreign_keys = ON');
    native.pragma('synchronous = NORMAL');
  } catch (error) {
    throw new AppError('DATABASE_FAILED', `cannot open SQLite database ${path}: ${(error as Error).message}`, { cause: error });
  }
  return new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(native) }) });
}

/** Distinct SQL texts whose prepared statements are kept (`in (...)` lists of varying length make more). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query anew, and preparing cost as much as running the small queries of the
 * pipeline. Statements are reused by SQL text (least recently used dropped first). Safe because Kysely runs
 * one query at a time on its single SQLite connection, a streamed query holding it until the end.
 */
function withStatementCache(native: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      native.close();
    },
    prepare: (sql) => {
      const cached = cache.get(sql);
      if (cached !== undefined) {
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = native.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      return statement;
    },
  };
}

/**
 * Kysely's SQLite driver opens transactions with a deferred BEGIN. In WAL mode a deferred transaction that
 * reads, then writes after another process committed, fails with SQLITE_BUSY at once (busy_timeout does not
 * help); BEGIN IMMEDIATE takes the write lock up front and waits politely instead.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new ImmediateTransactionDriver(super.createDriver());
  }
}

class ImmediateTransactionDriver implements Driver {
  readonly #inner: Driver;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    return this.#inner.acquireConnection();
  }
  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(connection);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(connection);
  }
  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
  savepoint: Driver['savepoint'] = (connection, name, compile) => this.#inner.savepoint!(connection, name, compile);
  rollbackToSavepoint: Driver['rollbackToSavepoint'] = (connection, name, compile) =>
    this.#inner.rollbackToSavepoint!(connection, name, compile);
  releaseSavepoint: Driver['releaseSavepoint'] = (connection, name, compile) => this.#inner.releaseSavepoint!(connection, name, compile);
}

const PG_INT8_OID = 20;

async function openPostgres(url: string, options: CreateDatabaseOptions): Promise<Database> {
  // Loaded only when configured: the embedded (SQLite) path starts without the driver.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // int8 (sizes, epoch ms, bigserial ids, count(*)) as numbers, as schema.ts declares; all stay < 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === PG_INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports the failure.
  pool.on('error', () => undefined);
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool: new PreparingPool(pool) }) });
}

/** Distinct statements prepared by name; later new ones run unnamed (each connection keeps what it prepared). */
const MAX_PREPARED_STATEMENTS = 500;
/** `in (...)` lists and multi-row inserts of varying length would each make a one-off statement. */
const MAX_PREPARED_PARAMETERS = 16;
/** `select *` / `returning *` plans break ("cached plan must not change result type") when a migration adds a column. */
const STAR_PROJECTION = /\b(?:select|returning)\s+\*|\.\*/i;

/**
 * Runs the small parameterised statements of the pipeline as named prepared statements: PostgreSQL parses and plans
 * each once per connection instead of on every call, which took about a third of its CPU per statement (and a
 * quarter of the round trip) for the pipeline's short queries.
 */
class PreparingPool implements PostgresPool {
  readonly #pool: pg.Pool;
  /** One wrapper per pg client: Kysely keys its connections by the client object. */
  readonly #clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  readonly #names = new Map<string, string>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.#pool.connect();
    let wrapped = this.#clients.get(client);
    if (wrapped === undefined) {
      wrapped = this.#wrap(client);
      this.#clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.#pool.end();
  }

  #wrap(client: pg.PoolClient): PostgresPoolClient {
    const nameOf = (text: string, parameters: readonly unknown[]): string | undefined => {
      if (parameters.length === 0 || parameters.length > MAX_PREPARED_PARAMETERS || STAR_PROJECTION.test(text)) return undefined;
      let name = this.#names.get(text);
      if (name === undefined && this.#names.size < MAX_PREPARED_STATEMENTS) {
        name = `malpipe_${this.#names.size}`;
        this.#names.set(text, name);
      }
      return name;
    };
    function query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(input: string | PostgresCursor<R>, parameters?: readonly unknown[]): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      if (typeof input !== 'string') return client.query(input as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
      const values = [...(parameters ?? [])];
      const name = nameOf(input, values);
      return (name === undefined ? client.query(input, values) : client.query({ name, text: input, values })) as unknown as Promise<PostgresQueryResult<R>>;
    }
    return { query, release: (destroy?: boolean) => client.release(destroy) };
  }
}

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new AppError('DATABASE_FAILED', `int8 value ${value} exceeds the safe integer range`);
  return n;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
