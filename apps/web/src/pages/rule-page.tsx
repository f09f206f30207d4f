import type { RuleHistory } from '@malpipe/api-client';
import { ErrorBox } from '../components/error-box.js';
import { JsonView } from '../components/json-view.js';
import { Section } from '../components/section.js';
import { useResource } from '../data/use-resource.js';
import { formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { readFindings, readRuleTest } from '../rulesets/check-report.js';
import { FindingsTable, TestsTable } from '../rulesets/check-views.js';
import { searchLink } from '../components/badges.js';

function ChecksView({ checks, name }: { readonly checks: NonNullable<RuleHistory['checks']>; readonly name: string }) {
  const findings = readFindings(checks.findings);
  const test = checks.tests === null ? null : readRuleTest(checks.tests);
  return (
    <>
      <p className="small muted">
        From the quality-gate report of version <Link to={paths.ruleset(checks.version)} className="mono">{checks.version}</Link> (the active version when it holds this rule, else the newest version holding it).
      </p>
      <h4>Findings</h4>
      {findings.ok ? <FindingsTable findings={findings.value} showRule={false} /> : <JsonView value={checks.findings} />}
      <h4>Tests</h4>
      {test === null ? (
        <p className="muted">No test results for {name} in that report.</p>
      ) : test.ok ? (
        <TestsTable tests={[test.value]} />
      ) : (
        <JsonView value={checks.tests} />
      )}
    </>
  );
}

export function RulePage({ name }: { readonly name: string }) {
  const history = useResource<RuleHistory>(`rule:${name}`, (api) => api.getRuleHistory(name));
  if (history.error !== null && history.data === null) return <ErrorBox error={history.error} title={`Cannot load rule ${name}`} />;
  if (history.data === null) return <p className="muted">Loading…</p>;
  const h = history.data;
  const samples = new Set(h.matches.map((m) => m.sha256));
  return (
    <div className="page rule-page">
      <p className="small">
        <Link to={paths.rulesets()}>← Ruleset versions</Link>
      </p>
      <h2>
        Rule <span className="mono">{h.name}</span>
      </h2>
      <p className="small">
        <Link to={searchLink('yara', h.name)}>Search samples matched by this rule →</Link>
      </p>
      <Section title="History across versions" meta={`${h.versions.length} content version${h.versions.length === 1 ? '' : 's'}`}>
        {h.versions.length === 0 ? (
          <p className="muted">Not in any stored ruleset version (only historic matches remain).</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Namespace</th>
                <th>Content hash</th>
                <th>First version</th>
                <th>Last version</th>
                <th>First seen</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {h.versions.map((v) => (
                <tr key={`${v.namespace}:${v.ruleHash}`}>
                  <td className="mono">{v.namespace}</td>
                  <td className="mono small" title={v.ruleHash}>
                    {shortHash(v.ruleHash, 16)}
                  </td>
                  <td className="mono small">
                    <Link to={paths.ruleset(v.firstVersion)}>{v.firstVersion}</Link>
                  </td>
                  <td className="mono small">
                    <Link to={paths.ruleset(v.lastVersion)}>{v.lastVersion}</Link>
                  </td>
                  <td className="small" title={formatDate(v.firstSeenAt)}>
                    {formatRelative(v.firstSeenAt)}
                  </td>
                  <td className="small" title={formatDate(v.lastSeenAt)}>
                    {formatRelative(v.lastSeenAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Latest check results" meta={h.checks === null ? 'no report' : `version ${h.checks.version}`}>
        {h.checks === null ? <p className="muted">No version holding this rule has a stored quality-gate report.</p> : <ChecksView checks={h.checks} name={h.name} />}
      </Section>
      <Section title="Matches" meta={`${h.matches.length} match${h.matches.length === 1 ? '' : 'es'} in ${samples.size} sample${samples.size === 1 ? '' : 's'}`}>
        {h.matches.length === 0 ? (
          <p className="muted">No stored sample matched this rule yet.</p>
        ) : (
          <table className="grid">
            <thead>
              <tr>
                <th>Sample</th>
                <th>Ruleset version</th>
                <th>Namespace</th>
              </tr>
            </thead>
            <tbody>
              {h.matches.map((m) => (
                <tr key={`${m.sha256}:${m.rulesetVersion}:${m.namespace}`}>
                  <td className="mono">
                    <Link to={paths.sample(m.sha256)}>{m.sha256}</Link>
                  </td>
                  <td className="mono small">
                    <Link to={paths.ruleset(m.rulesetVersion)}>{m.rulesetVersion}</Link>
                  </td>
                  <td className="mono small">{m.namespace}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </div>
  );
}
