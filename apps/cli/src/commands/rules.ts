import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import type { CheckOptions, CheckReport, RulesetDiff } from '@malpipe/yara-ci';
import type { Database } from '@malpipe/server/database/database';
import type { ObjectStore } from '@malpipe/server/storage/object-store';
import type { RulesetVersion } from '@malpipe/server/rulesets/ruleset-repository';
import { registerRulesGenerate } from './rules-generate.js';
import { registerRulesHunt } from './rules-hunt.js';

interface CheckFlags {
  readonly json?: boolean;
  readonly baseline?: string;
  readonly goodware?: string | false;
  readonly goodwareFiles?: string;
  readonly corpus?: string;
  readonly engine?: string;
  readonly cost?: boolean;
  readonly maxCost?: string;
  readonly previous?: string;
  readonly yaraCli?: boolean;
  readonly updateBaseline?: boolean;
  readonly showAccepted?: boolean;
}

interface DataFlags {
  readonly data?: string;
  readonly json?: boolean;
}

type Repository = typeof import('@malpipe/server/rulesets/ruleset-repository');

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new AppError('VALIDATION_FAILED', `${flag} must be a positive number`);
  return n;
}

async function readReport(file: string): Promise<Pick<CheckReport, 'cost'>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Pick<CheckReport, 'cost'>;
  } catch (error) {
    throw new AppError('MALFORMED_INPUT', `--previous ${file} is not a check report (malpipe rules check --json)`, { cause: error });
  }
}

function checkOptions(flags: CheckFlags, previous: Pick<CheckReport, 'cost'> | null): CheckOptions {
  const engine = flags.engine;
  if (engine !== undefined && engine !== 'auto' && engine !== 'libyara' && engine !== 'yara-x') {
    throw new AppError('VALIDATION_FAILED', '--engine must be auto, libyara or yara-x');
  }
  const maxRatio = positiveNumber(flags.maxCost, '--max-cost');
  const goodwareMaxFiles = positiveNumber(flags.goodwareFiles, '--goodware-files');
  return {
    ...(flags.baseline === undefined ? {} : { baselineFile: flags.baseline }),
    ...(flags.goodware === false ? { goodwareDir: null } : flags.goodware === undefined ? {} : { goodwareDir: flags.goodware }),
    ...(goodwareMaxFiles === undefined ? {} : { goodwareMaxFiles }),
    ...(flags.corpus === undefined ? {} : { corpusDir: flags.corpus }),
    ...(engine === undefined ? {} : { engine }),
    yaraCli: flags.yaraCli !== false,
    cost: { enabled: flags.cost !== false, ...(maxRatio === undefined ? {} : { maxRatio }), previous },
  };
}

function checkFlags(command: Command): Command {
  return command
    .option('--json', 'print the report as JSON')
    .option('--baseline <file>', 'accepted findings (default: PATH/.yara-baseline.json)')
    .option('--goodware <dir>', 'negative-test directory (default: a sample of /usr/bin)')
    .option('--no-goodware', 'skip negative tests')
    .option('--goodware-files <n>', 'files sampled from the goodware directory (default 48)')
    .option('--corpus <dir>', 'samples for positive tests (meta hashes), the engine differential and the cost measurement')
    .option('--engine <engine>', 'engine for tests and cost: auto, libyara or yara-x (default auto)')
    .option('--no-cost', 'skip the per-rule cost measurement')
    .option('--max-cost <ratio>', 'fail rules costing more than this many baseline rules (default 10)')
    .option('--previous <report.json>', 'an earlier --json report: fail on cost regressions against it')
    .option('--no-yara-cli', 'do not use the yara 4.x CLI even when installed');
}

async function printCheck(report: CheckReport, flags: CheckFlags): Promise<void> {
  const { formatCheckReport } = await import('@malpipe/yara-ci');
  process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report, { showAccepted: flags.showAccepted === true }));
}

/** Loads the database and object store only for the commands that need them (like `malpipe token`). */
async function withData<T>(
  flags: DataFlags,
  work: (deps: { db: Database; store: ObjectStore; queueUrl: string }, repo: Repository) => Promise<T>,
): Promise<T> {
  const [{ loadConfig }, { createDatabase }, { createObjectStore }, repo] = await Promise.all([
    import('@malpipe/server/config'),
    import('@malpipe/server/database/create-database'),
    import('@malpipe/server/storage/create-object-store'),
    import('@malpipe/server/rulesets/ruleset-repository'),
  ]);
  const config = loadConfig(flags.data === undefined ? process.env : { ...process.env, MALPIPE_DATA_DIR: flags.data });
  const db = await createDatabase(config.databaseUrl);
  try {
    return await work({ db, store: await createObjectStore(config.storeUrl), queueUrl: config.queueUrl }, repo);
  } finally {
    await db.destroy();
  }
}

function formatVersion(v: RulesetVersion): string {
  const check = v.checkPassed === null ? 'unchecked' : v.checkPassed ? 'check passed' : 'check FAILED';
  const git = v.gitCommit === null ? '' : `  git ${v.gitCommit.slice(0, 12)}${v.gitCommit.endsWith('+dirty') ? '+dirty' : ''}`;
  return `${v.id}  ${v.state.padEnd(7)}  ${v.createdAt}  ${String(v.ruleCount).padStart(5)} rules  ${check}  parent ${v.parentId ?? '-'}${git}`;
}

function formatDiff(diff: RulesetDiff): string {
  const lines = [
    ...diff.added.map((r) => `+ ${r.namespace}:${r.name}`),
    ...diff.removed.map((r) => `- ${r.namespace}:${r.name}`),
    ...diff.changed.map((r) => `~ ${r.namespace}:${r.name} (${r.from} -> ${r.to})`),
    `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `malpipe rules`: the YARA quality gate (`check`, usable as a CI step: exit 1 on any open error) and
 * versioned rulesets on the local data directory (`import`, `versions`, `diff`, `deploy`, `rollback`);
 * `generate` and `hunt` come from rules-generate.ts and rules-hunt.ts.
 */
export function registerRules(program: Command): void {
  const rules = program.command('rules').description('YARA rules: quality gate, versioned rulesets, deploy and rollback');

  checkFlags(rules.command('check').description('Lint, compile (YARA-X, libyara, yara 4.x), test and measure a rules directory'))
    .argument('[path]', 'rules directory', '.')
    .option('--update-baseline', 'accept every current open finding into the baseline file')
    .option('--show-accepted', 'also list suppressed and baselined findings')
    .action(async (dir: string, flags: CheckFlags) => {
      const { checkRuleset, writeBaseline, BASELINE_FILE } = await import('@malpipe/yara-ci');
      const previous = flags.previous === undefined ? null : await readReport(flags.previous);
      const report = await checkRuleset(dir, checkOptions(flags, previous));
      if (flags.updateBaseline === true) {
        const file = flags.baseline ?? `${report.ruleset.dir}/${BASELINE_FILE}`;
        await writeBaseline(file, report.findings.filter((f) => f.status !== 'suppressed'));
        process.stderr.write(`wrote ${file}\n`);
      }
      await printCheck(report, flags);
      if (!report.passed && flags.updateBaseline !== true) process.exitCode = 1;
    });

  checkFlags(rules.command('import').description('Check a rules directory (or git work tree) and store it as a new immutable version'))
    .argument('<dir>', 'rules directory')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .option('--no-check', 'import without running the quality gate')
    .option('--allow-failing', 'import even when the quality gate fails')
    .action(async (dir: string, flags: CheckFlags & DataFlags & { check?: boolean; allowFailing?: boolean }) => {
      await withData(flags, async (deps, repo) => {
        let report: CheckReport | null = null;
        if (flags.check !== false) {
          const { checkRuleset, formatCheckReport } = await import('@malpipe/yara-ci');
          // Cost regressions are judged against the active (else newest) version's report.
          const reference = (await repo.getActiveRulesetVersion(deps.db)) ?? (await repo.listRulesetVersions(deps.db, 1))[0]?.id ?? null;
          const previous = reference === null ? null : ((await repo.getCheckReport(deps.db, reference)) as Pick<CheckReport, 'cost'> | null);
          report = await checkRuleset(dir, checkOptions(flags, previous));
          if (!report.passed) {
            process.stderr.write(formatCheckReport(report));
            if (flags.allowFailing !== true) throw new AppError('VALIDATION_FAILED', 'the quality gate failed; fix the rules or pass --allow-failing');
          }
        }
        const { version, created } = await repo.importRuleset(deps, dir, { checkReport: report });
        const parentDiff = version.parentId === null ? null : await repo.diffRulesets(deps.db, version.parentId, version.id);
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify({ created, version, diff: parentDiff }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${formatVersion(version)}\n`);
        process.stderr.write(created ? `imported version ${version.id}\n` : `version ${version.id} already exists (same content)\n`);
        if (created && parentDiff !== null) process.stdout.write(formatDiff(parentDiff));
      });
    });

  rules
    .command('versions')
    .description('List ruleset versions, newest first')
    .option('--data <dir>', 'data directory')
    .option('--json', 'print JSON')
    .action(async (flags: DataFlags) => {
      await withData(flags, async ({ db }, repo) => {
        const versions = await repo.listRulesetVersions(db, 1000);
        if (flags.json === true) process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`);
        else for (const v of versions) process.stdout.write(`${formatVersion(v)}\n`);
        if (versions.length === 0) process.stderr.write('no ruleset versions: import one with `malpipe rules import DIR`\n');
      });
    });

  rules
    .command('diff')
    .description('Rules added, removed and changed from version A to version B')
    .argument('<a>', 'older version')
    .argument('<b>', 'newer version')
    .option('--data <dir>', 'data directory')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, flags: DataFlags) => {
      await withData(flags, async ({ db }, repo) => {
        const diff = await repo.diffRulesets(db, a, b);
        process.stdout.write(flags.json === true ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
      });
    });

  rules
    .command('deploy')
    .description('Make VERSION the active ruleset (running workers reload it within seconds)')
    .argument('<version>', 'ruleset version')
    .option('--data <dir>', 'data directory')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: DataFlags) => {
      await withData(flags, async ({ db, queueUrl }, repo) => {
        // Every deploy queues a retrohunt of the store in the same transaction, so new rules meet old samples.
        const [{ createJobQueue }, { retrohuntOnDeploy }] = await Promise.all([
          import('@malpipe/server/queue/create-job-queue'),
          import('@malpipe/server/hunting/retrohunt-job'),
        ]);
        const queue = await createJobQueue(queueUrl, db);
        try {
          const version = await repo.deployRuleset({ db, onDeployed: retrohuntOnDeploy(queue) }, id, 'cli');
          process.stdout.write(flags.json === true ? `${JSON.stringify(version, null, 2)}\n` : `${formatVersion(version)}\n`);
        } finally {
          await queue.close(0);
        }
      });
    });

  rules
    .command('rollback')
    .description('Return to the version deployed before the active one')
    .option('--data <dir>', 'data directory')
    .option('--json', 'print JSON')
    .action(async (flags: DataFlags) => {
      await withData(flags, async ({ db }, repo) => {
        const version = await repo.rollbackRuleset({ db });
        process.stdout.write(flags.json === true ? `${JSON.stringify(version, null, 2)}\n` : `${formatVersion(version)}\n`);
      });
    });

  registerRulesGenerate(rules);
  registerRulesHunt(rules);
}
