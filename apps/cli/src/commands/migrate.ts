import type { Command } from 'commander';

interface MigrateOptions {
  readonly data?: string;
}

/**
 * `malpipe migrate`: applies pending schema migrations to the configured database (MALPIPE_DATABASE_URL) and
 * prints them. `serve` and `worker` migrate on start too; this lets an operator do it as a separate step.
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations to the configured database')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .action(async (options: MigrateOptions) => {
      // Loaded lazily: the database stack costs start-up time the client commands should not pay.
      const [{ loadConfig }, { createDatabase, migrateToLatest }] = await Promise.all([
        import('@malpipe/server/config'),
        import('@malpipe/server/database/create-database'),
      ]);
      const config = loadConfig(
        options.data === undefined ? process.env : { ...process.env, MALPIPE_DATA_DIR: options.data },
      );
      const db = await createDatabase(config.databaseUrl, { migrate: false });
      try {
        const results = await migrateToLatest(db);
        for (const result of results)
          process.stdout.write(
            `${result.status === 'Success' ? 'applied' : result.status} ${result.migrationName}\n`,
          );
        if (results.length === 0) process.stderr.write('database schema already up to date\n');
      } finally {
        await db.destroy();
      }
    });
}
