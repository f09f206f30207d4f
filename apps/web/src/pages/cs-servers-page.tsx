import type { TeamServerSummary } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { useResource } from '../data/use-resource.js';
import { formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { CsTabs } from '../cobaltstrike/cs-tabs.js';
import { ProbeForm } from '../cobaltstrike/probe-form.js';

const SERVER_PAGE_SIZE = 500;
/** Refresh while a probe is queued, so its outcome appears without a reload. */
const QUEUED_REFRESH_MS = 4000;

export function CsServersPage() {
  const { capabilities } = useSession();
  const servers = useResource<TeamServerSummary[]>('cs-servers', (api) => api.listTeamServers({ limit: SERVER_PAGE_SIZE }), {
    pollMs: (list) => (list.some((s) => s.lastOutcome === 'queued') ? QUEUED_REFRESH_MS : null),
  });
  return (
    <div className="page cs-servers-page">
      <h2>Cobalt Strike</h2>
      <CsTabs current="servers" />
      {capabilities.probeServers && <ProbeForm onQueued={() => servers.reload()} />}
      {servers.error !== null && servers.data === null && <ErrorBox error={servers.error} title="Cannot list team servers" />}
      {servers.data === null ? (
        servers.error === null && <p className="muted">Loading…</p>
      ) : servers.data.length === 0 ? (
        <div className="empty">No team server known yet: they are recorded when a probe runs or a decoded config names one.</div>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Server</th>
              <th>Address</th>
              <th>Last outcome</th>
              <th>Last probed</th>
              <th className="num">Probes</th>
              <th>Configs served</th>
              <th>First seen</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {servers.data.map((s) => (
              <tr key={s.id}>
                <td className="mono">
                  <Link to={paths.csServer(s.id)} title="probe history">
                    {s.id}
                  </Link>
                </td>
                <td className="mono small">{s.address ?? '—'}</td>
                <td>{s.lastOutcome === null ? <span className="muted">never probed</span> : <StateBadge state={s.lastOutcome} />}</td>
                <td className="small" title={formatDate(s.lastProbedAt)}>
                  {s.lastProbedAt === null ? '—' : formatRelative(s.lastProbedAt)}
                </td>
                <td className="num">{s.probeCount}</td>
                <td className="mono small">
                  {s.configIds.length === 0
                    ? '—'
                    : s.configIds.map((id, i) => (
                        <span key={id}>
                          {i > 0 && ', '}
                          <Link to={paths.csConfig(id)} title={id}>
                            {shortHash(id, 12)}
                          </Link>
                        </span>
                      ))}
                </td>
                <td className="small" title={formatDate(s.firstSeen)}>
                  {formatRelative(s.firstSeen)}
                </td>
                <td className="small" title={formatDate(s.lastSeen)}>
                  {s.lastSeen === null ? '—' : formatRelative(s.lastSeen)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
