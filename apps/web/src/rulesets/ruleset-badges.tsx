import type { Severity, TestOutcome } from './check-report.js';

/** The quality gate's verdict on a version: passed, failed, or not checked (imported without a report). */
export function CheckBadge({ passed }: { readonly passed: boolean | null }) {
  if (passed === null) return <span className="badge state-skipped">not checked</span>;
  return passed ? <span className="badge state-ok">passed</span> : <span className="badge state-failed">failed</span>;
}

export function SeverityBadge({ severity }: { readonly severity: Severity }) {
  return <span className={`badge severity-${severity}`}>{severity}</span>;
}

export function OutcomeBadge({ outcome }: { readonly outcome: TestOutcome }) {
  const state = outcome === 'passed' ? 'ok' : outcome === 'failed' ? 'failed' : 'skipped';
  return <span className={`badge state-${state}`}>{outcome}</span>;
}
