import type { ConfigDetail } from '@malpipe/api-client';
import { BeaconConfigView } from '../analyzer-views/cobaltstrike-view.js';
import { BeaconConfigSchema } from '../analyzer-views/result-schemas.js';
import { StateBadge } from '../components/badges.js';
import { CopyValue } from '../components/copy-value.js';
import { ErrorBox } from '../components/error-box.js';
import { JsonView } from '../components/json-view.js';
import { Facts, Section } from '../components/section.js';
import { useResource } from '../data/use-resource.js';
import { formatDate, formatRelative } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { configSearchToUrl, EMPTY_CONFIG_FILTERS, type ConfigFilterField } from '../cobaltstrike/config-filters.js';
import { CsTabs } from '../cobaltstrike/cs-tabs.js';

const searchFor = (field: ConfigFilterField, value: string): string =>
  paths.csConfigs(configSearchToUrl({ filters: { ...EMPTY_CONFIG_FILTERS, [field]: value }, cursor: null }));

function Settings({ native }: { readonly native: ConfigDetail['native'] }) {
  const parsed = BeaconConfigSchema.safeParse(native);
  if (!parsed.success) {
    return (
      <>
        <p className="warn small">The stored configuration does not have the shape the dashboard knows; raw JSON below.</p>
        <JsonView value={native} />
      </>
    );
  }
  return <BeaconConfigView config={parsed.data} title="Decoded configuration" settingsOpen />;
}

export function CsConfigPage({ id }: { readonly id: string }) {
  const detail = useResource<ConfigDetail>(`cs-config:${id}`, (api) => api.getCobaltStrikeConfig(id));
  if (detail.error !== null && detail.data === null) return <ErrorBox error={detail.error} title="Cannot load this beacon config" />;
  if (detail.data === null) return <p className="muted">Loading…</p>;
  const c = detail.data;
  return (
    <div className="page cs-config-page">
      <CsTabs current={null} />
      <h2>
        Beacon config <span className="mono small">{c.id}</span>
      </h2>
      <Facts
        rows={[
          ['Watermark', c.watermark === null ? '—' : <Link key="w" to={searchFor('watermark', String(c.watermark))}>{c.watermark} (other configs)</Link>],
          [
            'C2 hosts',
            c.c2Hosts.length === 0 ? '—' : (
              <span key="c2" className="mono">
                {c.c2Hosts.map((host, i) => (
                  <span key={host}>
                    {i > 0 && ', '}
                    <Link to={searchFor('c2', host)}>{host}</Link>
                  </span>
                ))}
              </span>
            ),
          ],
          ['Public key MD5', c.publicKeyMd5 === null ? '—' : <Link key="pk" to={searchFor('publicKeyMd5', c.publicKeyMd5)} className="mono">{c.publicKeyMd5}</Link>],
          ['Version', c.version === null ? '—' : <Link key="v" to={searchFor('version', c.version)}>{c.version}</Link>],
          ['Architecture', c.architecture ?? '—'],
          ['Trial build', c.trial ? 'yes' : 'no'],
          ['First seen', formatDate(c.firstSeen)],
          ['Last seen', formatDate(c.lastSeen)],
          ['Config id', <CopyValue key="id" value={c.id} />],
        ]}
      />
      <Section title="Samples" meta={`${c.samples.length}`}>
        {c.samples.length === 0 ? (
          <p className="muted">Not decoded from any stored sample (seen only on team servers).</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Sample</th>
                <th>Analyser</th>
                <th>First seen</th>
              </tr>
            </thead>
            <tbody>
              {c.samples.map((s) => (
                <tr key={`${s.sha256}:${s.analyzer}`}>
                  <td className="mono">
                    <Link to={paths.sample(s.sha256)}>{s.sha256}</Link>
                  </td>
                  <td className="mono small">{s.analyzer}</td>
                  <td className="small" title={formatDate(s.firstSeen)}>
                    {formatRelative(s.firstSeen)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Team servers" meta={`${c.servers.length}`}>
        {c.servers.length === 0 ? (
          <p className="muted">No probed team server has served this config.</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Server</th>
                <th>Scheme</th>
                <th>Address</th>
                <th>Served this config</th>
                <th>Last probe</th>
                <th className="num">Probes</th>
              </tr>
            </thead>
            <tbody>
              {c.servers.map((s) => (
                <tr key={`${s.id}:${s.scheme}`}>
                  <td className="mono">
                    <Link to={paths.csServer(s.id)}>{s.id}</Link>
                  </td>
                  <td>{s.scheme}</td>
                  <td className="mono small">{s.address ?? '—'}</td>
                  <td className="small">
                    {formatDate(s.configFirstSeen)} – {formatDate(s.configLastSeen)}
                  </td>
                  <td className="small">
                    {s.lastOutcome === null ? '—' : <StateBadge state={s.lastOutcome} />} <span title={formatDate(s.lastProbedAt)}>{formatRelative(s.lastProbedAt)}</span>
                  </td>
                  <td className="num">{s.probeCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Settings" meta="native view">
        <Settings native={c.native} />
      </Section>
      <Section title="JPCERT view" meta="JSON, as JPCERT/CC's parser prints it" open={false}>
        {c.jpcert === null ? <p className="muted">None stored.</p> : <JsonView value={c.jpcert} />}
      </Section>
    </div>
  );
}
