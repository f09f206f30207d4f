import type { AnalysisStatus } from '@malpipe/api-client';
import { isLive } from '../analyses/analysis-state.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { Facts, Section } from '../components/section.js';
import { useResource } from '../data/use-resource.js';
import { durationBetween, formatDate, formatDuration, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';

const LIVE_REFRESH_MS = 1500;

export function AnalysisPage({ id }: { readonly id: string }) {
  const status = useResource<AnalysisStatus>(`analysis:${id}`, (api) => api.getAnalysis(id), {
    pollMs: (a) => (isLive(a) ? LIVE_REFRESH_MS : null),
  });
  if (status.error !== null && status.data === null) return <ErrorBox error={status.error} title={`Cannot load analysis ${id}`} />;
  if (status.data === null) return <p className="muted">Loading…</p>;
  const a = status.data;
  const took = durationBetween(a.startedAt, a.finishedAt);
  return (
    <div className="page analysis-page">
      <h2>
        Analysis <span className="mono">{a.id}</span> <StateBadge state={a.state} />
      </h2>
      {isLive(a) && (
        <div className="notice live">
          <span className="spinner" aria-hidden="true" /> In progress; refreshing every {LIVE_REFRESH_MS / 1000} s.
        </div>
      )}
      {status.error !== null && <ErrorBox error={status.error} title="Refresh failed" />}
      {a.errorCode !== null && (
        <div className="error-box">
          <strong>Analysis failed</strong> <code className="error-code">{a.errorCode}</code>
          <div className="error-message">{a.errorMessage}</div>
        </div>
      )}
      <Facts
        rows={[
          ['Sample', <Link key="s" to={paths.sample(a.sha256)} className="mono">{a.sha256}</Link>],
          ['Root analysis', a.rootId === a.id ? 'this one' : <Link key="r" to={paths.analysis(a.rootId)} className="mono">{a.rootId}</Link>],
          ['Parent analysis', a.parentId === null ? '—' : <Link key="p" to={paths.analysis(a.parentId)} className="mono">{a.parentId}</Link>],
          ['Depth', String(a.depth)],
          ['Created', formatDate(a.createdAt)],
          ['Started', formatDate(a.startedAt)],
          ['Finished', formatDate(a.finishedAt)],
          ['Took', took === null ? '—' : formatDuration(took)],
        ]}
      />
      <Section title="Analyser results" meta={`${a.results.length}`}>
        {a.results.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Analyser</th>
                <th>Version</th>
                <th>Status</th>
                <th>Took</th>
                <th>Warnings</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {a.results.map((r) => (
                <tr key={r.analyzer}>
                  <td>{r.analyzer}</td>
                  <td className="small">{r.analyzerVersion}</td>
                  <td>
                    <StateBadge state={r.status} />
                  </td>
                  <td className="small">{formatDuration(r.durationMs)}</td>
                  <td className="small">{r.warnings.length === 0 ? '' : r.warnings.length}</td>
                  <td className="small">
                    {r.errorCode !== null && <code className="error-code">{r.errorCode}</code>} {r.errorMessage ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="small">
          <Link to={paths.sample(a.sha256)}>Full report on the sample page →</Link>
        </p>
      </Section>
      <Section title="Child analyses" meta={`${a.children.length}`} open={a.children.length > 0}>
        {a.children.length === 0 ? (
          <p className="muted">No children (nothing extracted).</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Analysis</th>
                <th>Sample</th>
                <th>State</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {a.children.map((c) => (
                <tr key={c.id}>
                  <td className="mono">
                    <Link to={paths.analysis(c.id)}>{shortHash(c.id, 16)}</Link>
                  </td>
                  <td className="mono">
                    <Link to={paths.sample(c.sha256)}>{shortHash(c.sha256, 16)}</Link>
                  </td>
                  <td>
                    <StateBadge state={c.state} />
                  </td>
                  <td className="small">{c.errorMessage ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </div>
  );
}
