import type { Command } from 'commander';
import { withBackends, type DataOptions } from './import.js';

/**
 * `malpipe export DIR`: writes the configured backends' data (normally the embedded ones) to a portable
 * archive for `malpipe import` (see docs/scale-out.md). Stop the server and workers first.
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Export the database and stored objects to an archive directory (for `malpipe import`)')
    .argument('<dir>', 'archive directory to create (must be empty or absent)')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .action(async (dir: string, options: DataOptions) => {
      const { exportData } = await import('@malpipe/server/data-transfer/export-data');
      await withBackends(options, async (backends) => {
        const manifest = await exportData(backends, dir, {
          onProgress: ({ table, rows }) => process.stderr.write(`exported ${table}: ${rows} rows\n`),
        });
        process.stdout.write(
          `exported ${manifest.tables.reduce((n, t) => n + t.count, 0)} rows and ${manifest.objects.count} objects (${manifest.objects.bytes} bytes) at schema ${manifest.migration} to ${dir}\n`,
        );
      });
    });
}
