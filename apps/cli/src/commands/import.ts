import type { Command } from 'commander';
import type { Backends } from '@malpipe/server/data-transfer/export-data';

export interface DataOptions {
  readonly data?: string;
}

/**
 * `malpipe import DIR`: loads an archive from `malpipe export` into the configured backends, e.g. with
 * MALPIPE_DATABASE_URL=postgres://... and MALPIPE_STORE_URL=s3://... set. Safe to re-run after a failure.
 */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Import an archive from `malpipe export` into the configured database and object store')
    .argument('<dir>', 'archive directory written by `malpipe export`')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .action(async (dir: string, options: DataOptions) => {
      const { importData } = await import('@malpipe/server/data-transfer/import-data');
      await withBackends(options, async (backends) => {
        const report = await importData(backends, dir, {
          onProgress: ({ table, rows, inserted }) =>
            process.stderr.write(`imported ${table}: ${inserted} of ${rows} rows new\n`),
        });
        const inserted = report.tables.reduce((n, t) => n + t.inserted, 0);
        const rows = report.tables.reduce((n, t) => n + t.rows, 0);
        process.stdout.write(
          `imported ${inserted} of ${rows} rows and ${report.objects.written} of ${report.objects.count} objects (the rest were already there); ` +
            'analyses left queued or running are re-queued when `malpipe serve` or `malpipe worker` starts\n',
        );
      });
    });
}

/** Opens the configured database (migrated to the latest schema) and object store for export and import. */
export async function withBackends(
  options: DataOptions,
  work: (backends: Backends) => Promise<void>,
): Promise<void> {
  // Loaded lazily: the database stack costs start-up time the client commands should not pay.
  const [{ loadConfig }, { createDatabase }, { createObjectStore }] = await Promise.all([
    import('@malpipe/server/config'),
    import('@malpipe/server/database/create-database'),
    import('@malpipe/server/storage/create-object-store'),
  ]);
  const config = loadConfig(
    options.data === undefined ? process.env : { ...process.env, MALPIPE_DATA_DIR: options.data },
  );
  const db = await createDatabase(config.databaseUrl);
  try {
    await work({ db, store: await createObjectStore(config.storeUrl) });
  } finally {
    await db.destroy();
  }
}
