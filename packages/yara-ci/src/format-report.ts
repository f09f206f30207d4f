import type { CheckReport } from './check-ruleset.js';

/** The readable report: findings grouped by file, then tests, cost and a verdict line. */
export function formatCheckReport(report: CheckReport, options: { showAccepted?: boolean } = {}): string {
  const lines: string[] = [];
  const { ruleset, summary } = report;
  lines.push(`ruleset ${ruleset.dir} (version ${ruleset.version}): ${ruleset.files.length} file(s), ${ruleset.rules.length} rule(s)`);
  lines.push(`engines: ${report.engines.available.join(', ') || 'none'} (primary ${report.engines.primary}${report.engines.yaraCli === null ? '; yara CLI not installed' : `; yara ${report.engines.yaraCli}`})`);
  const shown = report.findings.filter((f) => options.showAccepted === true || f.status === 'open');
  let file: string | null = null;
  for (const f of shown) {
    if (f.file !== file) {
      file = f.file;
      lines.push('', file);
    }
    const status = f.status === 'open' ? '' : ` [${f.status}]`;
    lines.push(`  ${String(f.line).padStart(4)}  ${f.severity.padEnd(7)} ${f.id.padEnd(22)} ${f.rule ?? '-'}: ${f.message}${status}`);
  }
  const tested = report.tests.filter((t) => t.positives.length > 0);
  if (tested.length > 0) {
    const ok = tested.filter((t) => t.positives.every((p) => p.matched === true)).length;
    lines.push('', `positive tests: ${ok}/${tested.length} rule(s) match all their samples`);
  }
  lines.push(`negative tests: ${report.goodware.files} goodware file(s) from ${report.goodware.dir || '(none)'}, ${report.tests.filter((t) => t.goodwareMatches.length > 0).length} rule(s) matched`);
  if (report.cost !== null) {
    const { cost } = report;
    const top = [...cost.rules].filter((r) => r.ratio !== null).sort((a, b) => (b.ratio ?? 0) - (a.ratio ?? 0)).slice(0, 5);
    lines.push(`cost (${cost.engine}, ${cost.corpusFiles} files, ${(cost.corpusBytes / 1048576).toFixed(1)} MiB, baseline ${cost.baselineMs.toFixed(2)} ms, noise ${(cost.noise * 100).toFixed(0)} %): ${top.length === 0 ? 'no rule measured' : top.map((r) => `${r.rule} ${(r.ratio ?? 0).toFixed(1)}x`).join(', ')}`);
  }
  lines.push('', `${report.passed ? 'PASSED' : 'FAILED'}: ${summary.error} error(s), ${summary.warning} warning(s), ${summary.info} info, ${summary.suppressed} suppressed, ${summary.baselined} baselined (${report.durationMs} ms)`);
  return `${lines.join('\n')}\n`;
}
