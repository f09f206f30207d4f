import { z } from 'zod';

/**
 * The slice of the YARA quality gate's report (`malpipe-yara-check/1`, packages/yara-ci check-ruleset.ts) that
 * the ruleset and rule pages show. The API passes the report through as stored at import, so it is read here
 * defensively: a report that does not fit is shown as raw JSON with the reason.
 */

export const SEVERITIES = ['error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const CheckFindingSchema = z.object({
  id: z.string(),
  severity: z.enum(SEVERITIES),
  category: z.string().default(''),
  rule: z.string().nullable().default(null),
  file: z.string().default(''),
  line: z.number().int().default(0),
  message: z.string(),
  status: z.enum(['open', 'suppressed', 'baselined']).default('open'),
});
export type CheckFinding = z.infer<typeof CheckFindingSchema>;

export const RuleTestSchema = z.object({
  rule: z.string(),
  positives: z
    .array(z.object({ reference: z.string(), file: z.string().nullable(), matched: z.boolean().nullable() }))
    .default([]),
  goodwareMatches: z.array(z.string()).default([]),
  corpusMatches: z.number().default(0),
});
export type RuleTest = z.infer<typeof RuleTestSchema>;

const CheckReportSchema = z.object({
  schema: z.literal('malpipe-yara-check/1'),
  passed: z.boolean(),
  createdAt: z.string(),
  summary: z.object({
    error: z.number(),
    warning: z.number(),
    info: z.number(),
    suppressed: z.number().default(0),
    baselined: z.number().default(0),
  }),
  findings: z.array(CheckFindingSchema),
  tests: z.array(RuleTestSchema).default([]),
  engines: z.object({ available: z.array(z.string()), primary: z.string() }).optional(),
});
export type CheckReport = z.infer<typeof CheckReportSchema>;

export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function read<T>(schema: z.ZodType<T>, raw: unknown): Read<T> {
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, reason: z.prettifyError(parsed.error) };
}

export function readCheckReport(raw: unknown): Read<CheckReport> {
  const report = read(CheckReportSchema, raw);
  return report.ok ? { ok: true, value: { ...report.value, findings: sortFindings(report.value.findings) } } : report;
}

export function readFindings(raw: readonly unknown[]): Read<CheckFinding[]> {
  const findings = read(z.array(CheckFindingSchema), raw);
  return findings.ok ? { ok: true, value: sortFindings(findings.value) } : findings;
}

export function readRuleTest(raw: unknown): Read<RuleTest> {
  return read(RuleTestSchema, raw);
}

/** Open findings first, then by severity (error, warning, info), file and line. */
export function sortFindings(findings: readonly CheckFinding[]): CheckFinding[] {
  const rank = (f: CheckFinding): number => (f.status === 'open' ? 0 : 10) + SEVERITIES.indexOf(f.severity);
  return [...findings].sort((a, b) => rank(a) - rank(b) || a.file.localeCompare(b.file) || a.line - b.line);
}

export type TestOutcome = 'passed' | 'failed' | 'untested';

/**
 * A rule's test verdict: failed when a positive sample was not matched or a goodware file was; untested when no
 * positive sample could be checked (none declared, or none found: `matched` null).
 */
export function testOutcome(test: RuleTest): TestOutcome {
  if (test.goodwareMatches.length > 0 || test.positives.some((p) => p.matched === false)) return 'failed';
  return test.positives.some((p) => p.matched === true) ? 'passed' : 'untested';
}
