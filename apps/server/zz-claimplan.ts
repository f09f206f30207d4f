import { createDatabase } from './src/database/create-database.ts';
import { SqliteJobQueue } from './src/queue/sqlite-job-queue.ts';
for (const url of ['sqlite::memory:', 'postgres://postgres@127.0.0.1:5432/qbench_tmp']) {
  if (url.startsWith('postgres')) { const pg = (await import('pg')).default; const c = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await c.connect(); await c.query('drop database if exists qbench_tmp'); await c.query('create database qbench_tmp'); await c.end(); }
  const db = await createDatabase(url);
  const now = Date.now();
  const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: `j${i}`, name: 'analyze-sample', payload: '{"analysisId":"x"}', state: i % 10 === 0 ? 'completed' : 'queued', priority: i % 3, attempts: 0, max_attempts: 3, timeout_ms: 1000, run_at: now - i, lease_until: null, lease_owner: null, last_error: null, created_at: 'x', updated_at: 'x' }));
  for (let i = 0; i < rows.length; i += 1000) await db.insertInto('jobs').values(rows.slice(i, i + 1000)).execute();
  const q = new SqliteJobQueue(db, { pollIntervalMs: 50 });
  let done = 0;
  const t = performance.now();
  await q.start({ 'analyze-sample': async () => void done++ }, { concurrency: 4 });
  while (done < 2000) await new Promise((r) => setTimeout(r, 2));
  console.log(url.split(':')[0], 'jobs/s with a 90k backlog:', Math.round(done / ((performance.now() - t) / 1000)));
  await q.close(1000);
  await db.destroy();
  if (url.startsWith('postgres')) { const pg = (await import('pg')).default; const c = new pg.Client('postgres://postgres@127.0.0.1:5432/postgres'); await c.connect(); await c.query('drop database if exists qbench_tmp with (force)'); await c.end(); }
}
