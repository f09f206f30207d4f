import { useState, type FormEvent } from 'react';
import { JOB_STATES, type Job } from '@malpipe/api-client';
import { analysisIdOf } from '../analyses/analysis-state.js';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { useResource } from '../data/use-resource.js';
import { formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link, navigate, useLocation } from '../routing/router.js';
import { paths } from '../routing/routes.js';

const LIVE_REFRESH_MS = 3000;
type JobState = (typeof JOB_STATES)[number];

function isJobState(value: string | null): value is JobState {
  return value !== null && (JOB_STATES as readonly string[]).includes(value);
}

function GoToAnalysis() {
  const [id, setId] = useState('');
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (id.trim() !== '') navigate(paths.analysis(id.trim()));
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label htmlFor="analysis-id">Analysis id</label>
      <input id="analysis-id" type="text" className="mono" value={id} onChange={(event) => setId(event.target.value)} placeholder="from an upload or `malpipe submit`" />
      <button type="submit" disabled={id.trim() === ''}>
        Show status
      </button>
    </form>
  );
}

function JobTable({ state }: { readonly state: JobState | null }) {
  const { api, reportError } = useSession();
  const jobs = useResource<Job[]>(`jobs:${state ?? 'all'}`, (client) => client.listJobs(state === null ? { limit: 200 } : { state, limit: 200 }), {
    pollMs: () => LIVE_REFRESH_MS,
  });
  const [retrying, setRetrying] = useState<string | null>(null);
  const [retryError, setRetryError] = useState<unknown>(null);
  const retry = (id: string): void => {
    setRetrying(id);
    setRetryError(null);
    api.retryJob(id).then(
      () => {
        setRetrying(null);
        jobs.reload();
      },
      (error: unknown) => {
        setRetrying(null);
        setRetryError(reportError(error));
      },
    );
  };
  if (jobs.error !== null && jobs.data === null) return <ErrorBox error={jobs.error} title="Cannot list jobs (admin only)" />;
  if (jobs.data === null) return <p className="muted">Loading…</p>;
  return (
    <>
      {retryError !== null && <ErrorBox error={retryError} title="Retry failed" />}
      {jobs.data.length === 0 ? (
        <p className="muted">No {state ?? ''} jobs.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Job</th>
              <th>Name</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Analysis</th>
              <th>Updated</th>
              <th>Last error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {jobs.data.map((job) => {
              const analysisId = analysisIdOf(job.payload);
              return (
                <tr key={job.id}>
                  <td className="mono small" title={job.id}>
                    {shortHash(job.id, 12)}
                  </td>
                  <td>{job.name}</td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td className="num">
                    {job.attempts}/{job.maxAttempts}
                  </td>
                  <td className="mono small">{analysisId === null ? '—' : <Link to={paths.analysis(analysisId)}>{shortHash(analysisId, 12)}</Link>}</td>
                  <td className="small" title={formatDate(job.updatedAt)}>
                    {formatRelative(job.updatedAt)}
                  </td>
                  <td className="small error-text">{job.lastError ?? ''}</td>
                  <td>
                    {(job.state === 'dead' || job.state === 'failed') && (
                      <button type="button" onClick={() => retry(job.id)} disabled={retrying !== null}>
                        {retrying === job.id ? 'Retrying…' : 'Retry'}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

export function JobsPage() {
  const { capabilities } = useSession();
  const location = useLocation();
  const raw = new URLSearchParams(location.search).get('state');
  const state = isJobState(raw) ? raw : null;
  return (
    <div className="page jobs-page">
      <h2>Analyses and jobs</h2>
      <GoToAnalysis />
      {capabilities.manageJobs ? (
        <>
          <div className="chips">
            <Link to={paths.jobs()} className={state === null ? 'chip active' : 'chip'}>
              all
            </Link>
            {JOB_STATES.map((s) => (
              <Link key={s} to={paths.jobs(s)} className={state === s ? 'chip active' : 'chip'}>
                {s === 'dead' ? 'dead-letter' : s}
              </Link>
            ))}
          </div>
          <JobTable state={state} />
        </>
      ) : (
        <p className="muted">The job queue is visible to admins only; your role is {capabilities.role ?? 'unknown'}.</p>
      )}
    </div>
  );
}
