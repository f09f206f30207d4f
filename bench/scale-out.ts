/**
 * Scale-out benchmark: the same N small distinct samples, submitted through the HTTP API (8 in flight) until
 * all are analysed, on
 *  - the embedded stack: one `malpipe serve` on SQLite, a local object store and the SQLite queue;
 *  - the scaled-out stack: one `malpipe serve --role api` and 1, 2, 4 `malpipe worker` processes on
 *    PostgreSQL (a throwaway database per run), S3 (s3rver in this process, a fresh bucket per run) and BullMQ
 *    (a private redis-server without persistence).
 * Every process keeps the default 2 analyses at a time, so 1 worker analyses as many at once as `serve`.
 * Reported: samples/s, the embedded/scaled wall-time ratio, and CPU seconds per 1,000 samples of the malpipe
 * processes (with their sandbox children), of this process (the HTTP client), of s3rver (a child process of its
 * own, so the emulator's cost is not mistaken for malpipe's), of redis-server and of the PostgreSQL backends
 * serving the run's database.
 * Run: `node apps/cli/bin/run-ts.js bench/scale-out.ts [--samples 2000] [--workers 1,2,4] [--skip-embedded]
 *      [--file-store] [--sqlite-db]` (a shared local folder instead of S3, a shared SQLite file instead of
 *      PostgreSQL: to tell which service the distributed overhead comes from).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createApiClient } from '@malpipe/api-client';
import { createPostgresTestDatabase } from '../apps/server/src/database/postgres-test-database.js';
import { S3_TEST_CREDENTIALS, startS3TestServer } from '../apps/server/src/storage/s3-test-server.js';
import { mapLimit, startMalpipe, testAdminToken, waitUntil, type MalpipeProcess } from '../apps/server/test/scale-out-harness.js';
import { startBenchRedis, type BenchRedis } from './queue-depth.js';

export interface ScaleOutBenchOptions {
  /** Distinct small samples per run. Default 2,000. */
  readonly samples?: number;
  /** Worker process counts for the scaled-out runs. Default [1, 2, 4]. */
  readonly workers?: readonly number[];
  readonly skipEmbedded?: boolean;
  /** Scaled-out runs keep objects in a local folder all processes share instead of S3: isolates s3rver's cost. */
  readonly fileStore?: boolean;
  /** Scaled-out runs share one SQLite file instead of PostgreSQL: isolates PostgreSQL's cost. */
  readonly sqliteDb?: boolean;
  /** Longest wait for one run's analyses. Default 10 min. */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface ScaleOutFigure {
  /** `embedded` or `N workers`. */
  readonly stack: string;
  readonly samples: number;
  readonly failed: number;
  /** First submission to the last analysis finished. */
  readonly ms: number;
  readonly submitMs: number;
  readonly samplesPerSecond: number;
  /** CPU seconds per 1,000 samples: malpipe processes and their children, this process, redis-server. */
  readonly malpipeCpuS: number;
  /** Of which the API process (`serve` itself when embedded). */
  readonly apiCpuS: number;
  readonly benchCpuS: number;
  /** The S3 emulator (0 when the run keeps objects in a local folder). */
  readonly s3CpuS: number;
  readonly redisCpuS: number;
  /** PostgreSQL backends serving the malpipe processes (0 when the run has no PostgreSQL). */
  readonly postgresCpuS: number;
}

export interface ScaleOutBenchResult {
  readonly figures: readonly ScaleOutFigure[];
}

const CLK_TCK = 100;
const SUBMIT_CONCURRENCY = 8;

/** utime+stime of a process and of its waited-for children, in seconds (Linux /proc). */
async function ownCpu(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the parenthesised command name; utime is field 14 of the whole line, i.e. index 11 here.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / CLK_TCK;
}

/** CPU seconds of a process tree: live descendants plus whatever exited children were reaped into. */
async function treeCpu(pid: number): Promise<number> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  let children: number[] = [];
  for (const task of tasks) {
    const list = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    children = children.concat(list.split(/\s+/).filter((s) => s !== '').map(Number));
  }
  let total = await ownCpu(pid);
  for (const child of children) total += await treeCpu(child);
  return total;
}

function benchCpu(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function makeSamples(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(`sample ${i} ${randomBytes(16).toString('hex')} http://host-${i}.example-c2.top/p 10.${i % 250}.1.2\n${'x'.repeat(512)}`),
  );
}

interface Stack {
  readonly apiUrl: string;
  readonly processes: readonly MalpipeProcess[];
  /** Analyses in a final state (completed, failed). */
  finished(): Promise<{ done: number; failed: number }>;
  /** Pids of the PostgreSQL backends serving the malpipe processes. */
  postgresBackends?(): Promise<number[]>;
}

/** CPU seconds of each pid, to subtract a later reading from. */
async function cpuByPid(pids: readonly number[]): Promise<Map<number, number>> {
  return new Map(await Promise.all(pids.map(async (pid) => [pid, await ownCpu(pid)] as const)));
}

/** Submits every sample through `stack`'s API and waits until all are analysed; measures time and CPU. */
async function measure(
  stackName: string,
  stack: Stack,
  token: string,
  samples: readonly Buffer[],
  services: { readonly redis: BenchRedis | null; readonly s3: ChildS3Server | null },
  timeoutMs: number,
): Promise<ScaleOutFigure> {
  const { redis, s3 } = services;
  const client = createApiClient({ baseUrl: stack.apiUrl, token });
  const cpuBefore = await Promise.all(stack.processes.map((p) => treeCpu(p.pid)));
  const benchBefore = benchCpu();
  const redisBefore = redis === null ? 0 : await ownCpu(redis.pid);
  const s3Before = s3 === null ? 0 : await ownCpu(s3.pid);
  const postgresBefore = await cpuByPid((await stack.postgresBackends?.()) ?? []);
  const started = performance.now();
  await mapLimit(samples, SUBMIT_CONCURRENCY, (data, i) => client.submitSamples([{ name: `s${i}.txt`, data }]));
  const submitMs = performance.now() - started;
  let last = { done: 0, failed: 0 };
  await waitUntil(
    `${samples.length} analyses on ${stackName}`,
    async () => {
      last = await stack.finished();
      return last.done >= samples.length;
    },
    timeoutMs,
    50,
  );
  const ms = performance.now() - started;
  const cpuAfter = await Promise.all(stack.processes.map((p) => treeCpu(p.pid)));
  // A backend opened during the run counts from zero; one closed during the run is missed (pools keep theirs).
  const postgresAfter = await cpuByPid((await stack.postgresBackends?.()) ?? []);
  const postgresCpu = [...postgresAfter].reduce((sum, [pid, cpu]) => sum + cpu - (postgresBefore.get(pid) ?? 0), 0);
  const perK = 1000 / samples.length;
  return {
    stack: stackName,
    samples: samples.length,
    failed: last.failed,
    ms,
    submitMs,
    samplesPerSecond: (samples.length / ms) * 1000,
    malpipeCpuS: cpuAfter.reduce((sum, cpu, i) => sum + cpu - (cpuBefore[i] ?? 0), 0) * perK,
    apiCpuS: ((cpuAfter[0] ?? 0) - (cpuBefore[0] ?? 0)) * perK,
    benchCpuS: (benchCpu() - benchBefore) * perK,
    s3CpuS: s3 === null ? 0 : ((await ownCpu(s3.pid)) - s3Before) * perK,
    redisCpuS: redis === null ? 0 : ((await ownCpu(redis.pid)) - redisBefore) * perK,
    postgresCpuS: postgresCpu * perK,
  };
}

const FINISHED_SQL = "select count(*) as done, count(*) filter (where state = 'failed') as failed from analyses where state in ('completed', 'failed')";

async function runEmbedded(samples: readonly Buffer[], timeoutMs: number): Promise<ScaleOutFigure> {
  const dir = await mkdtemp(join(tmpdir(), 'malpipe-bench-embedded-'));
  const token = testAdminToken();
  const processes: MalpipeProcess[] = [];
  let db: BetterSqlite3.Database | null = null;
  try {
    const { process: serve, match } = await startMalpipe(
      'embedded',
      ['serve', '--port', '0'],
      {
        MALPIPE_DATABASE_URL: `sqlite:${join(dir, 'malpipe.db')}`,
        MALPIPE_STORE_URL: `file:${join(dir, 'objects')}`,
        MALPIPE_QUEUE_URL: 'sqlite:',
        MALPIPE_ADMIN_TOKEN: token,
        MALPIPE_RATE_LIMIT_PER_MINUTE: '1000000',
        MALPIPE_LOG_LEVEL: 'warn',
      },
      /serving on (http:\/\/\S+)/,
    );
    processes.push(serve);
    const sqlite = new BetterSqlite3(join(dir, 'malpipe.db'), { readonly: true });
    db = sqlite;
    const query = sqlite.prepare(FINISHED_SQL);
    return await measure('embedded (serve, SQLite)', {
      apiUrl: match[1] ?? '',
      processes,
      finished: async () => query.get() as { done: number; failed: number },
    }, token, samples, { redis: null, s3: null }, timeoutMs);
  } finally {
    db?.close();
    await Promise.all(processes.map((p) => p.stop(10_000)));
    await rm(dir, { recursive: true, force: true });
  }
}

/** s3rver in a child process of this bench (see `--s3-server` below), so its CPU is measured on its own. */
interface ChildS3Server {
  readonly pid: number;
  readonly endpoint: string;
  createBucket(): Promise<string>;
  url(bucket: string, prefix: string): string;
  stop(): Promise<void>;
}

async function startChildS3Server(): Promise<ChildS3Server> {
  const runTs = fileURLToPath(new URL('../apps/cli/bin/run-ts.js', import.meta.url));
  const child = spawn(process.execPath, [runTs, fileURLToPath(import.meta.url), '--s3-server'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver child exited with ${code}`)));
    if (child.stdout === null) throw new Error('s3rver child has no stdout');
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const endpoint = (JSON.parse(line) as { endpoint: string }).endpoint;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_TEST_CREDENTIALS });
  return {
    pid: child.pid ?? 0,
    endpoint,
    async createBucket() {
      const bucket = `malpipe-bench-${randomBytes(5).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    url: (bucket, prefix) => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true&region=us-east-1`,
    async stop() {
      client.destroy();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin?.end(); // the child stops s3rver and exits when its stdin closes
      await exited;
      process.removeListener('exit', killOnExit);
    },
  };
}

/** The `--s3-server` child: runs s3rver, prints its endpoint, stops when stdin closes. */
async function serveS3(): Promise<void> {
  const s3 = await startS3TestServer();
  process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint })}\n`);
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('end', () => resolve()));
  await s3.stop();
}

interface ScaledSetup {
  readonly s3: ChildS3Server | null;
  readonly redis: BenchRedis;
  /** A SQLite file all processes share instead of PostgreSQL: isolates PostgreSQL's cost. */
  readonly sqliteDb: boolean;
  readonly timeoutMs: number;
}

async function runScaled(workers: number, samples: readonly Buffer[], setup: ScaledSetup): Promise<ScaleOutFigure> {
  const postgres = setup.sqliteDb ? null : await createPostgresTestDatabase();
  if (postgres !== null && !postgres.available) throw new Error(postgres.reason);
  // Objects and the SQLite file, when the run uses them instead of S3 and PostgreSQL.
  const local = await mkdtemp(join(tmpdir(), 'malpipe-bench-scaled-'));
  const token = testAdminToken();
  const processes: MalpipeProcess[] = [];
  const pool = postgres === null ? null : new pg.Pool({ connectionString: postgres.url, max: 1 });
  let sqlite: BetterSqlite3.Database | null = null;
  try {
    const env = {
      MALPIPE_DATABASE_URL: postgres === null ? `sqlite:${join(local, 'malpipe.db')}` : postgres.url,
      MALPIPE_STORE_URL: setup.s3 === null ? `file:${join(local, 'objects')}` : setup.s3.url(await setup.s3.createBucket(), 'malpipe'),
      MALPIPE_QUEUE_URL: `${setup.redis.url}?prefix=bench-${randomBytes(4).toString('hex')}`,
      AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
      MALPIPE_ADMIN_TOKEN: token,
      MALPIPE_RATE_LIMIT_PER_MINUTE: '1000000',
      MALPIPE_LOG_LEVEL: 'warn',
    };
    // The API first: it migrates the database the workers then open.
    const { process: api, match } = await startMalpipe('api', ['serve', '--role', 'api', '--port', '0'], env, /serving on (http:\/\/\S+)/);
    processes.push(api);
    const started = await Promise.all(
      Array.from({ length: workers }, async (_, i) => (await startMalpipe(`worker${i}`, ['worker', '--health-port', '0'], env, /worker running/)).process),
    );
    processes.push(...started);
    let finished: () => Promise<{ done: number; failed: number }>;
    let postgresBackends: (() => Promise<number[]>) | undefined;
    if (pool !== null) {
      finished = async () => {
        const row = (await pool.query<{ done: string; failed: string }>(FINISHED_SQL)).rows[0];
        return { done: Number(row?.done ?? 0), failed: Number(row?.failed ?? 0) };
      };
      postgresBackends = async () =>
        (await pool.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')).rows.map((r) => r.pid);
    } else {
      const db = new BetterSqlite3(join(local, 'malpipe.db'), { readonly: true });
      sqlite = db;
      const query = db.prepare(FINISHED_SQL);
      finished = async () => query.get() as { done: number; failed: number };
    }
    const name = `${workers} worker${workers === 1 ? '' : 's'} (${postgres === null ? 'SQLite file' : 'PostgreSQL'}, ${setup.s3 === null ? 'local folder' : 'S3'}, BullMQ)`;
    return await measure(
      name,
      { apiUrl: match[1] ?? '', processes, finished, ...(postgresBackends === undefined ? {} : { postgresBackends }) },
      token,
      samples,
      { redis: setup.redis, s3: setup.s3 },
      setup.timeoutMs,
    );
  } finally {
    sqlite?.close();
    await Promise.all(processes.map((p) => p.stop(10_000)));
    await pool?.end();
    await postgres?.drop();
    await rm(local, { recursive: true, force: true });
  }
}

export async function runScaleOutBench(options: ScaleOutBenchOptions = {}): Promise<ScaleOutBenchResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const samples = makeSamples(options.samples ?? 2_000);
  const timeoutMs = options.timeoutMs ?? 600_000;
  const figures: ScaleOutFigure[] = [];
  const report = (f: ScaleOutFigure): void => {
    figures.push(f);
    log(`${f.stack}: ${f.samples} samples in ${(f.ms / 1000).toFixed(1)} s (submitted in ${(f.submitMs / 1000).toFixed(1)} s), ${f.samplesPerSecond.toFixed(1)}/s, ${f.failed} failed`);
  };
  if (options.skipEmbedded !== true) report(await runEmbedded(samples, timeoutMs));
  const s3 = options.fileStore === true ? null : await startChildS3Server();
  const redis = await startBenchRedis();
  try {
    const setup: ScaledSetup = { s3, redis, sqliteDb: options.sqliteDb === true, timeoutMs };
    for (const workers of options.workers ?? [1, 2, 4]) report(await runScaled(workers, samples, setup));
  } finally {
    await redis.stop();
    await s3?.stop();
  }
  const embedded = figures.find((f) => f.stack.startsWith('embedded'));
  log('| stack | samples/s | wall s | submit s | wall vs embedded | malpipe CPU s/1k | of which API | bench CPU s/1k | s3rver CPU s/1k | redis CPU s/1k | postgres CPU s/1k |');
  log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const f of figures)
    log(
      `| ${f.stack} | ${f.samplesPerSecond.toFixed(1)} | ${(f.ms / 1000).toFixed(1)} | ${(f.submitMs / 1000).toFixed(1)} | ` +
        `${embedded === undefined ? 'n/a' : `${(f.ms / embedded.ms).toFixed(2)}x`} | ${f.malpipeCpuS.toFixed(1)} | ${f.apiCpuS.toFixed(1)} | ` +
        `${f.benchCpuS.toFixed(1)} | ${f.s3CpuS.toFixed(1)} | ${f.redisCpuS.toFixed(1)} | ${f.postgresCpuS.toFixed(1)} |`,
    );
  const one = figures.find((f) => f.stack.startsWith('1 worker'));
  if (embedded !== undefined && one !== undefined)
    log(`distributed overhead at one worker: ${(one.ms / embedded.ms).toFixed(2)}x the embedded wall time (goal < 1.3x)`);
  return { figures };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--s3-server')) {
  await serveS3();
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const samples = flag('--samples');
  const workers = flag('--workers');
  await runScaleOutBench({
    ...(samples === undefined ? {} : { samples: Number(samples) }),
    ...(workers === undefined ? {} : { workers: workers.split(',').map(Number) }),
    skipEmbedded: args.includes('--skip-embedded'),
    fileStore: args.includes('--file-store'),
    sqliteDb: args.includes('--sqlite-db'),
  });
}
