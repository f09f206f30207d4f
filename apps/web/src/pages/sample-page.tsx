import { useState } from 'react';
import type { AnalysisSummary, SampleReport } from '@malpipe/api-client';
import { isActive } from '../analyses/analysis-state.js';
import { useSession } from '../auth/session.js';
import { AnalyzerResultView } from '../analyzer-views/analyzer-result-view.js';
import { StateBadge, TagList, searchLink } from '../components/badges.js';
import { CopyValue } from '../components/copy-value.js';
import { ErrorBox } from '../components/error-box.js';
import { IndicatorTable } from '../components/indicator-table.js';
import { Facts, Section } from '../components/section.js';
import { useResource } from '../data/use-resource.js';
import { durationBetween, formatBytes, formatCount, formatDate, formatDuration, formatRelative, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';

/** Refresh period while an analysis of the sample is queued or running. */
const LIVE_REFRESH_MS = 2000;

function saveBytes(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/zip' }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = fileName;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function DownloadButton({ sha256 }: { readonly sha256: string }) {
  const { api, capabilities, reportError } = useSession();
  const [state, setState] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  if (!capabilities.download) {
    return (
      <span className="muted small" title="Downloads need the analyst or admin role">
        download not allowed for {capabilities.role ?? 'this'} role
      </span>
    );
  }
  const download = (): void => {
    setState({ busy: true, error: null });
    api.downloadSample(sha256).then(
      (bytes) => {
        saveBytes(bytes, `${sha256}.zip`);
        setState({ busy: false, error: null });
      },
      (error: unknown) => setState({ busy: false, error: reportError(error) }),
    );
  };
  return (
    <span className="download">
      <button type="button" className="primary" onClick={download} disabled={state.busy} title="ZIP encrypted with the password “infected”">
        {state.busy ? 'Preparing…' : 'Download (zip, password “infected”)'}
      </button>
      {state.error !== null && <ErrorBox error={state.error} title="Download refused" />}
    </span>
  );
}

function AnalysesTable({ analyses }: { readonly analyses: readonly AnalysisSummary[] }) {
  return (
    <table className="grid">
      <thead>
        <tr>
          <th>Analysis</th>
          <th>State</th>
          <th>Depth</th>
          <th>Created</th>
          <th>Took</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {analyses.map((a) => {
          const took = durationBetween(a.startedAt, a.finishedAt);
          return (
            <tr key={a.id}>
              <td className="mono">
                <Link to={paths.analysis(a.id)}>{shortHash(a.id, 16)}</Link>
                {a.parentId !== null && <span className="muted small"> (child)</span>}
              </td>
              <td>
                <StateBadge state={a.state} />
              </td>
              <td className="num">{a.depth}</td>
              <td className="small" title={formatDate(a.createdAt)}>
                {formatRelative(a.createdAt)}
              </td>
              <td className="small">{took === null ? '—' : formatDuration(took)}</td>
              <td className="small">
                {a.errorCode !== null && <code className="error-code">{a.errorCode}</code>} {a.errorMessage ?? ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Relations({ report }: { readonly report: SampleReport }) {
  const { parents, children } = report.relations;
  if (parents.length === 0 && children.length === 0) return <p className="muted">No parent or child samples.</p>;
  const rows = [...parents.map((r) => ({ ...r, direction: 'parent' as const })), ...children.map((r) => ({ ...r, direction: 'child' as const }))];
  return (
    <table className="grid">
      <thead>
        <tr>
          <th>Relation</th>
          <th>Sample</th>
          <th>Kind</th>
          <th>Analyser</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            <td>{r.direction === 'parent' ? '↑ parent' : '↓ child'}</td>
            <td className="mono">
              <Link to={paths.sample(r.sha256)} title={r.sha256}>
                {shortHash(r.sha256, 16)}
              </Link>
            </td>
            <td>{r.kind}</td>
            <td className="small">{r.analyzer}</td>
            <td className="mono small">{r.detail ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SamplePage({ hash }: { readonly hash: string }) {
  const report = useResource<SampleReport>(`sample:${hash}`, (api) => api.getSample(hash), {
    pollMs: (data) => (data.analyses.some(isActive) ? LIVE_REFRESH_MS : null),
  });
  if (report.error !== null && report.data === null) return <ErrorBox error={report.error} title={`Cannot load sample ${hash}`} />;
  if (report.data === null) return <p className="muted">Loading…</p>;
  const r = report.data;
  const s = r.sample;
  const active = r.analyses.filter(isActive);
  const hashes: [string, string | null][] = [
    ['SHA-256', s.sha256],
    ['MD5', s.md5],
    ['SHA-1', s.sha1],
    ['SHA-512', s.sha512],
    ['ssdeep', s.ssdeep],
    ['TLSH', s.tlsh],
    ['imphash', s.imphash],
  ];
  const errors = r.results.filter((x) => x.status === 'error');
  return (
    <div className="page sample-page">
      <div className="sample-head">
        <div>
          <h2 className="sample-title">{r.names[0] ?? shortHash(s.sha256, 24)}</h2>
          <div className="muted">
            {s.fileType.description} · {formatBytes(s.size)} · last seen {formatRelative(s.lastSeen)}
          </div>
          <div className="sample-tags">
            <TagList tags={r.tags} />
          </div>
        </div>
        <DownloadButton sha256={s.sha256} />
      </div>
      {report.error !== null && <ErrorBox error={report.error} title="Refresh failed (showing the last report)" />}
      {active.length > 0 && (
        <div className="notice live">
          <span className="spinner" aria-hidden="true" /> {active.length} analysis{active.length === 1 ? '' : 'es'} in progress; this page refreshes
          itself.
        </div>
      )}
      {errors.length > 0 && (
        <div className="notice warn-box">
          {errors.length} analyser{errors.length === 1 ? '' : 's'} failed: {errors.map((e) => `${e.analyzer} (${e.errorCode ?? 'error'})`).join(', ')}
        </div>
      )}

      <div className="two-columns">
        <Section title="Hashes">
          <table className="hashes">
            <tbody>
              {hashes.map(([label, value]) => (
                <tr key={label}>
                  <th>{label}</th>
                  <td>{value === null ? <span className="muted">—</span> : <CopyValue value={value} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="File">
          <Facts
            rows={[
              ['Type', <span key="t">{s.fileType.description} <span className="muted mono small">{s.fileType.kind}/{s.fileType.format}</span></span>],
              ['MIME', <span key="m" className="mono">{s.fileType.mime}</span>],
              ['Traits', s.fileType.traits.length === 0 ? undefined : s.fileType.traits.join(', ')],
              ['Size', `${formatBytes(s.size)} (${formatCount(s.size)} bytes)`],
              [
                'Names',
                r.names.length === 0 ? '—' : (
                  <span className="stack">
                    {r.names.map((n) => (
                      <Link key={n} to={searchLink('name', n)} className="mono">
                        {n}
                      </Link>
                    ))}
                  </span>
                ),
              ],
              ['Sources', r.sources.length === 0 ? '—' : r.sources.join(', ')],
              ['First seen', formatDate(s.firstSeen)],
              ['Last seen', formatDate(s.lastSeen)],
            ]}
          />
        </Section>
      </div>

      <Section title="Analyses" meta={`${r.analyses.length}`}>
        {r.analyses.length === 0 ? <p className="muted">No analysis yet.</p> : <AnalysesTable analyses={r.analyses} />}
      </Section>

      <Section title="Relations" meta={`${r.relations.parents.length} parents · ${r.relations.children.length} children`}>
        <Relations report={r} />
      </Section>

      {r.yaraMatches.length > 0 && (
        <Section title="YARA matches" meta={`${r.yaraMatches.length}`}>
          <ul className="yara-list">
            {r.yaraMatches.map((m, i) => (
              <li key={i}>
                <Link to={searchLink('yara', m.rule)} className="mono strong">
                  {m.rule}
                </Link>{' '}
                <span className="muted small">
                  {m.namespace} · ruleset {m.rulesetVersion}
                </span>{' '}
                {m.tags.map((t) => (
                  <span key={t} className="tag">
                    {t}
                  </span>
                ))}
              </li>
            ))}
          </ul>
        </Section>
      )}

      <Section title="Indicators" meta={`${r.indicators.length}`} open={r.indicators.length > 0}>
        <IndicatorTable indicators={r.indicators} />
      </Section>

      <h3 className="results-heading">Analyser results ({r.results.length})</h3>
      {r.results.length === 0 && <p className="muted">No results yet{active.length > 0 ? ': the analysis is running.' : '.'}</p>}
      {r.results.map((result) => (
        <AnalyzerResultView key={`${result.analyzer}:${result.analyzerVersion}:${result.rulesetVersion}`} result={result} report={r} />
      ))}
    </div>
  );
}
