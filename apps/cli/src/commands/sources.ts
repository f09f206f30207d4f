import type { Command } from 'commander';
import { toAppError } from '@malpipe/core';

interface SourceCheck {
  readonly source: string;
  readonly status: 'ok' | 'failed' | 'not-configured';
  readonly detail: string;
}

/**
 * `malpipe sources test`: one cheap authenticated request per configured source (VirusTotal: the EICAR report;
 * MalwareBazaar: a one-sample tag query), through the same shared rate limit the workers use.
 */
export function registerSources(program: Command): void {
  const sources = program.command('sources').description('Sample sources (VirusTotal, MalwareBazaar)');
  sources
    .command('test')
    .description('Check that each configured source answers with the configured API key')
    .option('--json', 'print JSON')
    .action(async (options: { readonly json?: boolean }) => {
      // Loaded on use, so other commands (and --help) start without the server modules.
      const { loadConfig } = await import('@malpipe/server/config');
      const { createDatabase } = await import('@malpipe/server/database/create-database');
      const { createHashSources } = await import('@malpipe/server/fetcher/create-sources');
      const config = loadConfig({ MALPIPE_LOG_LEVEL: 'warn', ...process.env });
      const db = await createDatabase(config.databaseUrl);
      const checks: SourceCheck[] = [];
      try {
        const configured = createHashSources(config.sources, db, {
          maxDownloadBytes: config.http.uploadLimitBytes,
        });
        for (const name of config.sources.order) {
          const source = configured.find((s) => s.name === name);
          if (source === undefined) {
            checks.push({
              source: name,
              status: 'not-configured',
              detail: `no API key (set ${name === 'virustotal' ? 'MALPIPE_VT_API_KEY' : 'MALPIPE_MB_API_KEY'})`,
            });
            continue;
          }
          try {
            checks.push({
              source: name,
              status: 'ok',
              detail: await source.test(AbortSignal.timeout(30_000)),
            });
          } catch (error) {
            const appError = toAppError(error, 'UPSTREAM_FAILED');
            checks.push({ source: name, status: 'failed', detail: `${appError.code}: ${appError.message}` });
          }
        }
      } finally {
        await db.destroy();
      }
      if (options.json === true) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else
        for (const c of checks)
          process.stdout.write(`${c.source.padEnd(14)} ${c.status.padEnd(14)} ${c.detail}\n`);
      if (checks.some((c) => c.status === 'failed') || checks.every((c) => c.status !== 'ok'))
        process.exitCode = 1;
    });
}
