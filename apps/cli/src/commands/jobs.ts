import type { Command } from 'commander';
import { JOB_STATES, type Job } from '@malpipe/api-client';
import { AppError } from '@malpipe/core';
import { callApi, createCliClient } from '../cli-config.js';

interface JobsOptions {
  readonly server?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** `malpipe jobs list|retry`: the server's job queue (admin token). */
export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('Inspect and retry queue jobs on a malpipe server (admin)');
  const common = (command: Command): Command =>
    command
      .option('--server <url>', 'server URL (default: $MALPIPE_SERVER or http://127.0.0.1:8787)')
      .option('--token <token>', 'API token (default: $MALPIPE_TOKEN)')
      .option('--json', 'print JSON');

  common(jobs.command('list').description('List jobs'))
    .option('--state <state>', `only jobs in this state (${JOB_STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many jobs', '100')
    .action(async (options: JobsOptions & { state?: string; limit: string }) => {
      const state = options.state;
      if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
        throw new AppError('VALIDATION_FAILED', `--state must be one of ${JOB_STATES.join(', ')}`);
      }
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new AppError('VALIDATION_FAILED', '--limit must be an integer from 1 to 1000');
      const client = createCliClient(options);
      const list = await callApi(() =>
        client.listJobs({
          limit,
          ...(state === undefined ? {} : { state: state as (typeof JOB_STATES)[number] }),
        }),
      );
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      for (const job of list) process.stdout.write(`${formatJob(job)}\n`);
      if (list.length === 0) process.stderr.write('no jobs\n');
    });

  common(jobs.command('retry').description('Put a dead or failed job back in the queue'))
    .argument('<id>', 'job id')
    .action(async (id: string, options: JobsOptions) => {
      const client = createCliClient(options);
      const job = await callApi(() => client.retryJob(id));
      process.stdout.write(
        options.json === true ? `${JSON.stringify(job, null, 2)}\n` : `${formatJob(job)}\n`,
      );
    });
}

function formatJob(job: Job): string {
  const error = job.lastError === null ? '' : `  ${job.lastError.split('\n')[0] ?? ''}`;
  return `${job.id}  ${job.name}  ${job.state.padEnd(9)} attempts ${job.attempts}/${job.maxAttempts}  ${job.updatedAt}${error}`;
}
