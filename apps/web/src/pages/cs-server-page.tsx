import type { ProbeRecord } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { JsonView } from '../components/json-view.js';
import { useResource } from '../data/use-resource.js';
import { formatBytes, formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { CsTabs } from '../cobaltstrike/cs-tabs.js';
import { ProbeForm } from '../cobaltstrike/probe-form.js';

export function CsServerPage({ id }: { readonly id: string }) {
  const { capabilities } = useSession();
  const probes = useResource<ProbeRecord[]>(`cs-server:${id}`, (api) => api.listTeamServerProbes(id));
  return (
    <div className="page cs-server-page">
      <CsTabs current={null} />
      <p className="small">
        <Link to={paths.csServers()}>← All team servers</Link>
      </p>
      <h2>
        Team server <span className="mono">{id}</span>
      </h2>
      {capabilities.probeServers && <ProbeForm key={id} initialTarget={id} onQueued={() => probes.reload()} />}
      {probes.error !== null && probes.data === null && <ErrorBox error={probes.error} title="Cannot load the probe history" />}
      {probes.data === null ? (
        probes.error === null && <p className="muted">Loading…</p>
      ) : probes.data.length === 0 ? (
        <div className="empty">Never probed.</div>
      ) : (
        <>
          <h3>Probe history</h3>
          <table className="grid">
            <thead>
              <tr>
                <th>When</th>
                <th>URL</th>
                <th>Outcome</th>
                <th className="num">HTTP</th>
                <th>Scheme / arch</th>
                <th>Address</th>
                <th>Config</th>
                <th className="num">Body</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {probes.data.map((p) => (
                <tr key={p.probeId}>
                  <td className="small nowrap" title={formatDate(p.probedAt)}>
                    {formatRelative(p.probedAt)}
                  </td>
                  <td className="mono small nowrap">{p.url}</td>
                  <td>
                    <StateBadge state={p.outcome} />
                  </td>
                  <td className="num">{p.httpStatus ?? '—'}</td>
                  <td className="small">
                    {p.scheme ?? '—'} / {p.arch ?? '—'}
                  </td>
                  <td className="mono small">{p.address ?? '—'}</td>
                  <td className="mono small">
                    {p.configId === null ? '—' : (
                      <Link to={paths.csConfig(p.configId)} title={p.configId}>
                        {shortHash(p.configId, 12)}
                      </Link>
                    )}
                  </td>
                  <td className="num small">{formatBytes(p.bodySize)}</td>
                  <td className="small">
                    {p.error !== null && <div className="error-text">{p.error}</div>}
                    {(p.tls !== null || Object.keys(p.headers).length > 0) && (
                      <details>
                        <summary>TLS and headers</summary>
                        <JsonView value={{ tls: p.tls, headers: p.headers }} />
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
