import type { JobState } from '@malpipe/core';
import type { JobName } from './jobs.js';

/** Upper bounds (seconds) of the job duration histogram: analyses take from milliseconds to many minutes. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;

interface Histogram {
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * This process's job counters and durations (where handlers run, i.e. worker roles), plus the queue depth read
 * from the shared backend at scrape time. Prometheus derives jobs/s with `rate(malpipe_jobs_completed_total[1m])`.
 */
export class JobMetrics {
  readonly #completed = new Map<JobName, number>();
  readonly #failed = new Map<JobName, number>();
  readonly #durations = new Map<JobName, Histogram>();
  readonly #rejected = new Map<JobName, number>();

  /** Records one finished attempt. */
  observe(name: JobName, seconds: number, ok: boolean): void {
    const counter = ok ? this.#completed : this.#failed;
    counter.set(name, (counter.get(name) ?? 0) + 1);
    let histogram = this.#durations.get(name);
    if (histogram === undefined) {
      histogram = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(name, histogram);
    }
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.buckets[i] = (histogram.buckets[i] ?? 0) + 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
  }

  /** Records a submission refused by back-pressure (QUEUE_FULL). */
  rejected(name: JobName): void {
    this.#rejected.set(name, (this.#rejected.get(name) ?? 0) + 1);
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(
    depth: Readonly<Record<JobName, Readonly<Record<JobState, number>>>> | null,
    extra: { readonly backend: string; readonly role: string },
  ): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('malpipe_info', 'gauge', 'Static facts about this process.');
    lines.push(`malpipe_info{queue_backend="${label(extra.backend)}",role="${label(extra.role)}"} 1`);
    family(
      'malpipe_queue_jobs',
      'gauge',
      'Jobs in the shared queue by job type and state (read at scrape time).',
    );
    family('malpipe_queue_up', 'gauge', 'Whether the queue backend answered the depth query.');
    lines.push(`malpipe_queue_up ${depth === null ? 0 : 1}`);
    if (depth !== null) {
      for (const [name, states] of Object.entries(depth)) {
        for (const [state, count] of Object.entries(states))
          lines.push(`malpipe_queue_jobs{type="${label(name)}",state="${label(state)}"} ${count}`);
      }
    }
    family('malpipe_jobs_completed_total', 'counter', 'Job attempts this process completed.');
    for (const [name, count] of this.#completed)
      lines.push(`malpipe_jobs_completed_total{type="${label(name)}"} ${count}`);
    family('malpipe_jobs_failed_total', 'counter', 'Job attempts this process failed (retried or dead).');
    for (const [name, count] of this.#failed)
      lines.push(`malpipe_jobs_failed_total{type="${label(name)}"} ${count}`);
    family('malpipe_jobs_rejected_total', 'counter', 'Submissions refused with QUEUE_FULL by this process.');
    for (const [name, count] of this.#rejected)
      lines.push(`malpipe_jobs_rejected_total{type="${label(name)}"} ${count}`);
    family('malpipe_job_duration_seconds', 'histogram', 'Duration of job attempts in this process.');
    for (const [name, histogram] of this.#durations) {
      const type = label(name);
      DURATION_BUCKETS.forEach((bound, i) =>
        lines.push(
          `malpipe_job_duration_seconds_bucket{type="${type}",le="${bound}"} ${histogram.buckets[i] ?? 0}`,
        ),
      );
      lines.push(`malpipe_job_duration_seconds_bucket{type="${type}",le="+Inf"} ${histogram.count}`);
      lines.push(`malpipe_job_duration_seconds_sum{type="${type}"} ${histogram.sum}`);
      lines.push(`malpipe_job_duration_seconds_count{type="${type}"} ${histogram.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
