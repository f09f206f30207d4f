import { stat } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import type { RulesetResolver } from '@malpipe/server/hunting/retrohunt-job';
import { DEFAULT_RULES_DIR, loadRulesetFromDirectory, type Ruleset } from '@malpipe/yara-engine';

interface HuntOptions {
  readonly ruleset?: string;
  readonly data?: string;
  readonly concurrency?: string;
  readonly json?: boolean;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/**
 * `--ruleset DIR` loads that directory; `--ruleset VERSION` a version stored by `malpipe rules import` (or the
 * active rules directory's version); nothing: the active rules directory.
 */
export async function resolveHuntRuleset(value: string | undefined, activeRulesDir: string, stored: RulesetResolver): Promise<Ruleset> {
  if (value !== undefined && (await isDirectory(value))) return loadRulesetFromDirectory(value);
  if (value !== undefined) {
    const found = await stored(value);
    if (found !== null) return found;
  }
  const active = await loadRulesetFromDirectory(activeRulesDir);
  if (value === undefined || value === active.version) return active;
  throw new AppError('NOT_FOUND', `--ruleset ${value} is neither a directory, a stored ruleset version nor the active one (${active.version})`);
}

/** `malpipe rules hunt`, registered under the `rules` command by rules.ts. */
export function registerRulesHunt(rules: Command): void {
  rules
    .command('hunt')
    .description('Local retrohunt: run a ruleset over every stored sample and record the matches')
    .option('--ruleset <dir|version>', 'rules directory or ruleset version (default: the active ruleset)')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .option('--concurrency <n>', 'samples scanned at once (default: min(4, cores))')
    .option('--json', 'print the summary as JSON')
    .action(async (options: HuntOptions) => {
      const { loadConfig } = await import('@malpipe/server/config');
      const { createPlatform } = await import('@malpipe/server/compose');
      const { runRetrohunt } = await import('@malpipe/server/hunting/run-retrohunt');
      const { storedRulesetResolver } = await import('@malpipe/server/hunting/retrohunt-job');
      const config = loadConfig({ MALPIPE_LOG_LEVEL: 'warn', ...process.env, ...(options.data === undefined ? {} : { MALPIPE_DATA_DIR: options.data }) });
      const platform = await createPlatform(config, { logToStderr: true, yara: false });
      const bar = process.stderr.isTTY && options.json !== true
        ? new SingleBar({ stream: process.stderr, format: 'hunting [{bar}] {value}/{total} samples | {matched} matched | {eta_formatted} left', hideCursor: true }, Presets.shades_classic)
        : null;
      try {
        const ruleset = await resolveHuntRuleset(options.ruleset, config.yara.rulesDir ?? DEFAULT_RULES_DIR, storedRulesetResolver(platform));
        let started = false;
        const summary = await runRetrohunt(platform, ruleset, {
          ...(options.concurrency === undefined ? {} : { concurrency: Number(options.concurrency) }),
          engine: config.yara.engine,
          onProgress: (p) => {
            if (!started) bar?.start(p.total, 0, { matched: 0 });
            started = true;
            bar?.update(p.scanned, { matched: p.matched });
          },
        });
        bar?.stop();
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        } else {
          for (const hit of summary.hits) process.stdout.write(`${hit.sha256}  ${hit.rules.join(' ')}\n`);
          process.stderr.write(
            `malpipe: ruleset ${summary.rulesetVersion} (${summary.engine}): ${summary.matched} of ${summary.scanned} samples matched, ` +
              `${(summary.bytes / 1e6).toFixed(1)} MB in ${summary.durationMs} ms, ${summary.errors.length} errors\n`,
          );
        }
        if (summary.errors.length > 0) process.exitCode = 1;
      } finally {
        bar?.stop();
        await platform.close();
      }
    });
}
