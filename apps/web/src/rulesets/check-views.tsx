import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { testOutcome, type CheckFinding, type RuleTest } from './check-report.js';
import { OutcomeBadge, SeverityBadge } from './ruleset-badges.js';

/** Quality-gate findings: severity, check, rule (linked), file:line, message; suppressed ones dimmed. */
export function FindingsTable({ findings, showRule = true }: { readonly findings: readonly CheckFinding[]; readonly showRule?: boolean }) {
  if (findings.length === 0) return <p className="muted">No findings.</p>;
  return (
    <table className="grid">
      <thead>
        <tr>
          <th>Severity</th>
          <th>Check</th>
          {showRule && <th>Rule</th>}
          <th>File</th>
          <th className="num">Line</th>
          <th>Message</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {findings.map((f, i) => (
          <tr key={i} className={f.status === 'open' ? undefined : 'row-muted'}>
            <td>
              <SeverityBadge severity={f.severity} />
            </td>
            <td className="mono small" title={f.category}>
              {f.id}
            </td>
            {showRule && <td className="mono">{f.rule === null ? '—' : <Link to={paths.rule(f.rule)}>{f.rule}</Link>}</td>}
            <td className="mono small">{f.file}</td>
            <td className="num mono">{f.line}</td>
            <td>{f.message}</td>
            <td className="small">{f.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Positive and goodware test results per rule. */
export function TestsTable({ tests }: { readonly tests: readonly RuleTest[] }) {
  if (tests.length === 0) return <p className="muted">No rule tests recorded (no tests.json next to the rules).</p>;
  return (
    <table className="grid">
      <thead>
        <tr>
          <th>Rule</th>
          <th>Result</th>
          <th>Positive samples</th>
          <th>Goodware matches</th>
          <th className="num">Corpus matches</th>
        </tr>
      </thead>
      <tbody>
        {tests.map((t) => {
          const matched = t.positives.filter((p) => p.matched === true).length;
          const missed = t.positives.filter((p) => p.matched === false);
          return (
            <tr key={t.rule}>
              <td className="mono">
                <Link to={paths.rule(t.rule)}>{t.rule}</Link>
              </td>
              <td>
                <OutcomeBadge outcome={testOutcome(t)} />
              </td>
              <td className="small">
                {t.positives.length === 0 ? '—' : `${matched}/${t.positives.length} matched`}
                {missed.length > 0 && <div className="error-text mono">missed: {missed.map((p) => p.file ?? p.reference).join(', ')}</div>}
              </td>
              <td className={t.goodwareMatches.length > 0 ? 'error-text small mono' : 'small'}>{t.goodwareMatches.length === 0 ? 'none' : t.goodwareMatches.join(', ')}</td>
              <td className="num">{t.corpusMatches}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
