import { describe, expect, it } from 'vitest';
import { readCheckReport, readFindings, sortFindings, testOutcome, type CheckFinding } from './check-report.js';

const finding = (over: Partial<CheckFinding>): CheckFinding => ({
  id: 'x',
  severity: 'warning',
  category: 'style',
  rule: 'r',
  file: 'a.yar',
  line: 1,
  message: 'm',
  status: 'open',
  ...over,
});

const REPORT = {
  schema: 'malpipe-yara-check/1',
  passed: false,
  createdAt: '2026-11-27T10:00:00.000Z',
  durationMs: 12,
  summary: { error: 1, warning: 1, info: 0, suppressed: 1, baselined: 0 },
  findings: [
    { id: 'slow-regex', severity: 'warning', category: 'performance', rule: 'B', file: 'b.yar', line: 9, message: 'slow', status: 'open' },
    { id: 'dup', severity: 'error', category: 'logic', rule: 'A', file: 'a.yar', line: 3, message: 'dup', status: 'suppressed' },
    { id: 'parse-error', severity: 'error', category: 'syntax', rule: null, file: 'c.yar', line: 1, message: 'bad', status: 'open' },
  ],
  tests: [{ rule: 'A', positives: [{ reference: 'abc', file: 'samples/a', matched: true }], goodwareMatches: [], corpusMatches: 2 }],
  cost: null,
};

describe('readCheckReport', () => {
  it('reads a stored report and orders open errors first', () => {
    const read = readCheckReport(REPORT);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.value.findings.map((f) => f.id)).toEqual(['parse-error', 'slow-regex', 'dup']);
    expect(read.value.tests[0]?.corpusMatches).toBe(2);
  });
  it('gives the reason when the report does not fit', () => {
    const read = readCheckReport({ ...REPORT, schema: 'other/2' });
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.reason).toContain('schema');
    expect(readCheckReport(null).ok).toBe(false);
  });
  it('reads a rule history\'s findings', () => {
    const read = readFindings(REPORT.findings.slice(0, 1));
    expect(read.ok && read.value[0]?.line).toBe(9);
    expect(readFindings([{ severity: 'fatal' }]).ok).toBe(false);
  });
});

describe('sortFindings', () => {
  it('sorts by status, severity, file and line', () => {
    const sorted = sortFindings([
      finding({ id: '1', severity: 'info' }),
      finding({ id: '2', severity: 'error', line: 7 }),
      finding({ id: '3', severity: 'error', line: 2 }),
      finding({ id: '4', severity: 'error', status: 'baselined' }),
    ]);
    expect(sorted.map((f) => f.id)).toEqual(['3', '2', '1', '4']);
  });
});

describe('testOutcome', () => {
  const base = { rule: 'r', goodwareMatches: [], corpusMatches: 0 };
  it.each([
    [[{ reference: 'a', file: 'f', matched: true }], [], 'passed'],
    [[{ reference: 'a', file: 'f', matched: true }, { reference: 'b', file: 'g', matched: false }], [], 'failed'],
    [[{ reference: 'a', file: 'f', matched: true }], ['goodware/notepad.exe'], 'failed'],
    [[{ reference: 'a', file: null, matched: null }], [], 'untested'],
    [[], [], 'untested'],
  ] as const)('%j goodware %j -> %s', (positives, goodwareMatches, outcome) => {
    expect(testOutcome({ ...base, positives: [...positives], goodwareMatches: [...goodwareMatches] })).toBe(outcome);
  });
});
