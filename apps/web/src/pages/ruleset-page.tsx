import type { RulesetDetail } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { JsonView } from '../components/json-view.js';
import { Facts, Section } from '../components/section.js';
import { useAction } from '../data/use-action.js';
import { useResource } from '../data/use-resource.js';
import { formatBytes, formatDate, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { readCheckReport } from '../rulesets/check-report.js';
import { FindingsTable, TestsTable } from '../rulesets/check-views.js';
import { CheckBadge } from '../rulesets/ruleset-badges.js';

function RuleLink({ name, namespace }: { readonly name: string; readonly namespace: string }) {
  return (
    <>
      <span className="muted">{namespace}:</span>
      <Link to={paths.rule(name)}>{name}</Link>
    </>
  );
}

function DiffView({ diff }: { readonly diff: NonNullable<RulesetDetail['diff']> }) {
  const nothing = diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
  if (nothing) return <p className="muted">Same rules as the parent ({diff.unchanged} unchanged).</p>;
  return (
    <div className="diff">
      <p className="small muted">
        {diff.added.length} added, {diff.removed.length} removed, {diff.changed.length} changed, {diff.unchanged} unchanged.
      </p>
      <table className="grid">
        <thead>
          <tr>
            <th>Change</th>
            <th>Rule</th>
            <th>Content hash</th>
          </tr>
        </thead>
        <tbody>
          {diff.added.map((r) => (
            <tr key={`a:${r.namespace}:${r.name}`} className="diff-added">
              <td>+ added</td>
              <td className="mono">
                <RuleLink name={r.name} namespace={r.namespace} />
              </td>
              <td className="mono small">{shortHash(r.hash, 16)}</td>
            </tr>
          ))}
          {diff.removed.map((r) => (
            <tr key={`r:${r.namespace}:${r.name}`} className="diff-removed">
              <td>− removed</td>
              <td className="mono">
                <RuleLink name={r.name} namespace={r.namespace} />
              </td>
              <td className="mono small">{shortHash(r.hash, 16)}</td>
            </tr>
          ))}
          {diff.changed.map((r) => (
            <tr key={`c:${r.namespace}:${r.name}`} className="diff-changed">
              <td>~ changed</td>
              <td className="mono">
                <RuleLink name={r.name} namespace={r.namespace} />
              </td>
              <td className="mono small">
                {shortHash(r.from, 16)} → {shortHash(r.to, 16)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CheckReportView({ raw }: { readonly raw: RulesetDetail['checkReport'] }) {
  if (raw === null) return <p className="muted">No quality-gate report was stored with this version (imported with --no-check).</p>;
  const read = readCheckReport(raw);
  if (!read.ok) {
    return (
      <>
        <p className="warn small">This report's shape is not the one the dashboard knows ({read.reason}); raw JSON below.</p>
        <JsonView value={raw} />
      </>
    );
  }
  const report = read.value;
  const s = report.summary;
  return (
    <>
      <p>
        <CheckBadge passed={report.passed} /> {s.error} error{s.error === 1 ? '' : 's'}, {s.warning} warning{s.warning === 1 ? '' : 's'}, {s.info} info
        {s.suppressed + s.baselined > 0 && <span className="muted"> ({s.suppressed} suppressed, {s.baselined} baselined)</span>}
        <span className="muted small"> · checked {formatDate(report.createdAt)}{report.engines === undefined ? '' : ` with ${report.engines.available.join(', ')}`}</span>
      </p>
      <h4>Findings</h4>
      <FindingsTable findings={report.findings} />
      <h4>Rule tests</h4>
      <TestsTable tests={report.tests} />
    </>
  );
}

export function RulesetPage({ version }: { readonly version: string }) {
  const { capabilities } = useSession();
  const detail = useResource<RulesetDetail>(`ruleset:${version}`, (api) => api.getRuleset(version));
  const active = useResource(`rulesets-active`, async (api) => (await api.listRulesets()).active);
  const deploy = useAction((api) => api.deployRuleset(version), () => {
    detail.reload();
    active.reload();
  });

  if (detail.error !== null && detail.data === null) return <ErrorBox error={detail.error} title={`Cannot load ruleset ${version}`} />;
  if (detail.data === null) return <p className="muted">Loading…</p>;
  const v = detail.data;
  const isActive = active.data === v.id;

  return (
    <div className="page ruleset-page">
      <p className="small">
        <Link to={paths.rulesets()}>← All versions</Link>
      </p>
      <div className="page-head">
        <h2>
          Ruleset <span className="mono">{v.id}</span> {isActive && <span className="active-mark">● active</span>}
        </h2>
        {capabilities.deployRulesets && !isActive && (
          <button
            type="button"
            disabled={deploy.pending}
            onClick={() => {
              const gate = v.checkPassed === false ? ' Its quality gate FAILED.' : '';
              if (window.confirm(`Deploy ruleset ${v.id}?${gate} Workers reload it for new analyses.`)) deploy.run();
            }}
          >
            {deploy.pending ? 'Deploying…' : 'Deploy this version'}
          </button>
        )}
      </div>
      {deploy.result !== null && <div className="notice live">Deployed: workers load this version for the next analyses.</div>}
      {deploy.error !== null && <ErrorBox error={deploy.error} title="Deploy failed" />}
      <Facts
        rows={[
          ['State', <StateBadge key="s" state={v.state} />],
          ['Created', formatDate(v.createdAt)],
          ['Activated', v.activatedAt === null ? '—' : formatDate(v.activatedAt)],
          ['Parent', v.parentId === null ? 'none (first version)' : <Link key="p" to={paths.ruleset(v.parentId)} className="mono">{v.parentId}</Link>],
          ['Source', v.sourcePath ?? '—'],
          ['Git commit', v.gitCommit === null ? '—' : <span className="mono">{v.gitCommit}</span>],
          ['Rules', `${v.ruleCount} in ${v.fileCount} file${v.fileCount === 1 ? '' : 's'}`],
          ['Quality gate', <CheckBadge key="c" passed={v.checkPassed} />],
        ]}
      />
      <Section title="Changes against the parent" meta={v.diff === null ? 'first version' : `${v.diff.added.length} added · ${v.diff.removed.length} removed · ${v.diff.changed.length} changed`}>
        {v.diff === null ? <p className="muted">The first version: every rule is new.</p> : <DiffView diff={v.diff} />}
      </Section>
      <Section title="Quality-gate report" meta="findings with severity, rule and line; rule tests">
        <CheckReportView raw={v.checkReport} />
      </Section>
      <Section title="Files" meta={`${v.files.length}`} open={false}>
        <table className="grid">
          <thead>
            <tr>
              <th>Path</th>
              <th>Namespace</th>
              <th className="num">Size</th>
              <th>SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {v.files.map((f) => (
              <tr key={f.path}>
                <td className="mono">{f.path}</td>
                <td className="mono">{f.namespace}</td>
                <td className="num">{formatBytes(f.size)}</td>
                <td className="mono small">{f.sha256}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Rules" meta={`${v.rules.length}`} open={false}>
        <ul className="columns mono">
          {v.rules.map((r) => (
            <li key={`${r.namespace}:${r.name}`}>
              <RuleLink name={r.name} namespace={r.namespace} />
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}
