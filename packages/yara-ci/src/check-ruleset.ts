import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createYaraEngine, loadRulesetFromDirectory, type YaraEnginePreference } from '@malpipe/yara-engine';
import {
  checkWithYaraCli,
  checkWithYaraX,
  scanWithEngine,
  scanWithYaraCli,
  yaraCliVersion,
  type EngineId,
  type MatchTable,
} from './engine-checks.js';
import { lintRuleset, type Finding, type LintPolicy, type Severity } from './lint-rules.js';
import { measureRuleCosts, type CostReport } from './measure-cost.js';
import { parseRules, ruleHash, type ParsedSource } from './parse-rules.js';
import { DEFAULT_GOODWARE_DIR, TESTS_MANIFEST, indexHashes, positiveSpecs, readManifest, sampleFiles } from './rule-tests.js';
import { BASELINE_FILE, isBaselined, isSuppressedInline, readBaseline } from './suppressions.js';

export type FindingStatus = 'open' | 'suppressed' | 'baselined';

export interface ReportFinding extends Finding {
  readonly status: FindingStatus;
}

export interface RuleTestResult {
  readonly rule: string;
  readonly positives: readonly { reference: string; file: string | null; matched: boolean | null }[];
  readonly goodwareMatches: readonly string[];
  readonly corpusMatches: number;
}

/** The quality gate's result; stored with each ruleset version and printed by `malpipe rules check --json`. */
export interface CheckReport {
  readonly schema: 'malpipe-yara-check/1';
  readonly passed: boolean;
  readonly createdAt: string;
  readonly durationMs: number;
  readonly ruleset: {
    readonly dir: string;
    /** Same content version as the pipeline computes (`createRuleset`). */
    readonly version: string;
    readonly files: readonly string[];
    readonly rules: readonly { name: string; namespace: string; file: string; line: number; hash: string }[];
  };
  readonly engines: { readonly available: readonly EngineId[]; readonly yaraCli: string | null; readonly primary: string };
  readonly summary: Readonly<Record<Severity, number>> & { readonly suppressed: number; readonly baselined: number };
  readonly findings: readonly ReportFinding[];
  readonly tests: readonly RuleTestResult[];
  readonly goodware: { readonly dir: string; readonly files: number };
  readonly cost: CostReport | null;
}

export interface CheckOptions {
  /** Default `<dir>/.yara-baseline.json` when it exists. */
  readonly baselineFile?: string;
  /** Negative test files; default a bounded sample of /usr/bin. Null skips negative tests. */
  readonly goodwareDir?: string | null;
  readonly goodwareMaxFiles?: number;
  /** Samples for positive tests, the differential and the cost measurement. */
  readonly corpusDir?: string;
  /** Engine for tests and cost; default `auto` (the pipeline's choice). */
  readonly engine?: YaraEnginePreference;
  /** Use the `yara` CLI when installed (default true). */
  readonly yaraCli?: boolean;
  readonly cost?: {
    readonly enabled?: boolean;
    /** Rules costing more than this many baselines fail (default 10: ordinary rules measure 1-4x, slow ones 40x+). */
    readonly maxRatio?: number;
    readonly iterations?: number;
    readonly maxCorpusBytes?: number;
    /** A previous report: a rule whose ratio grew 1.5x (and above 2 baselines) fails as a regression. */
    readonly previous?: Pick<CheckReport, 'cost'> | null;
  };
  readonly policy?: LintPolicy;
}

const GOODWARE_MAX_FILE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_COST_RATIO = 10;

function sortFindings(a: Finding, b: Finding): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.id.localeCompare(b.id);
}

/** Runs every check over the rules in `dir` and returns the report (it throws only for unreadable input). */
export async function checkRuleset(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const started = performance.now();
  const root = await realpath(dir);
  const ruleset = await loadRulesetFromDirectory(root);
  const sources = ruleset.sources.map((s) => {
    const origin = s.origin ?? `${s.namespace}.yar`;
    return { parsed: parseRules(s.source, origin, s.namespace), text: s.source, absolutePath: path.join(root, origin) };
  });
  const parsed: ParsedSource[] = sources.map((s) => s.parsed);
  const allRules = parsed.flatMap((p) => p.rules);
  const findings: Finding[] = lintRuleset(parsed, options.policy);

  findings.push(...(await checkWithYaraX(sources)));
  const yaraCli = options.yaraCli === false ? null : await yaraCliVersion();
  if (yaraCli !== null) findings.push(...(await checkWithYaraCli(sources)));

  // Files to scan: corpus, positives, goodware.
  const corpusFiles = options.corpusDir === undefined
    ? []
    : await sampleFiles(options.corpusDir, { maxFiles: 2000, maxFileBytes: 64 * 1024 * 1024, maxTotalBytes: 512 * 1024 * 1024 });
  const manifestFile = path.join(root, TESTS_MANIFEST);
  const manifest = await readManifest(manifestFile);
  const manifestFiles = Object.values(manifest).flat().filter((ref) => !/^[0-9a-f]{32,64}$/i.test(ref)).map((ref) => path.resolve(root, ref));
  // Files named in the manifest also answer hash lookups, so a sample listed once serves meta `hash` too.
  const index = await indexHashes([...corpusFiles, ...manifestFiles.filter((f) => existsSync(f))]);
  const specs = positiveSpecs(allRules, manifest, root, index);
  const goodwareDir = options.goodwareDir === undefined ? DEFAULT_GOODWARE_DIR : options.goodwareDir;
  const goodwareFiles = goodwareDir === null
    ? []
    : await sampleFiles(goodwareDir, { maxFiles: options.goodwareMaxFiles ?? 48, maxFileBytes: GOODWARE_MAX_FILE_BYTES, maxTotalBytes: 96 * 1024 * 1024 }, goodwareDir !== DEFAULT_GOODWARE_DIR);
  const positiveFiles = specs.flatMap((s) => (s.file === null ? [] : [s.file]));
  const scanned = [...new Set([...corpusFiles, ...manifestFiles, ...positiveFiles, ...goodwareFiles])];
  for (const file of manifestFiles) {
    if (!(await stat(file).then((s) => s.isFile(), () => false))) {
      findings.push({ id: 'positive-sample-missing', severity: 'error', category: 'test', rule: null, file: TESTS_MANIFEST, line: 1, message: `${path.relative(root, file)} does not exist` });
    }
  }

  // Files that do not compile are reported above; the rest are still scanned and tested.
  const broken = new Set(findings.filter((f) => f.id === 'compile-error').map((f) => f.file));
  const compilable = sources.filter((s) => !broken.has(s.parsed.file));
  const tables = new Map<EngineId, MatchTable>();
  for (const engine of ['yara-x', 'libyara'] as const) {
    const table = await scanWithEngine(engine, compilable.map((s) => ({ namespace: s.parsed.namespace, source: s.text, origin: s.parsed.file })), scanned);
    if (table instanceof Map) tables.set(engine, table);
    else if (table !== null) {
      const file = compilable.find((s) => table.error.startsWith(`${s.parsed.file}:`))?.parsed.file ?? compilable[0]?.parsed.file ?? '';
      findings.push({ id: 'compile-error', severity: 'error', category: 'syntax', rule: null, file, line: Number(/^[^:]+:(\d+):/.exec(table.error)?.[1] ?? '1'), message: `${engine}: ${table.error}` });
    }
  }
  if (yaraCli !== null && compilable.length > 0) {
    const table = await scanWithYaraCli(compilable.map((s) => ({ namespace: s.parsed.namespace, absolutePath: s.absolutePath })), scanned);
    if (table !== null) tables.set('yara-cli', table);
  }
  const primaryEngine = await createYaraEngine(options.engine ?? 'auto').catch(() => createYaraEngine('yara-x'));
  const primary = tables.get(primaryEngine.name) ?? tables.get('yara-x') ?? new Map<string, Set<string>>();

  // Differential: any rule whose matches differ between engines on any scanned file.
  const engines = [...tables.keys()];
  for (const rule of allRules) {
    if (rule.isPrivate || engines.length < 2) continue;
    const differing = scanned.filter((file) => new Set(engines.map((e) => tables.get(e)?.get(rule.name)?.has(file) ?? false)).size > 1);
    if (differing.length > 0) {
      const who = engines.map((e) => `${e}: ${tables.get(e)?.get(rule.name)?.size ?? 0} file(s)`).join(', ');
      findings.push({ id: 'engine-disagreement', severity: 'warning', category: 'engine', rule: rule.name, file: rule.file, line: rule.line, message: `engines disagree on ${differing.slice(0, 3).map((f) => path.basename(f)).join(', ')}${differing.length > 3 ? ` (+${differing.length - 3})` : ''} (${who})` });
    }
  }

  const goodwareSet = new Set(goodwareFiles);
  const corpusSet = new Set(corpusFiles);
  const tests: RuleTestResult[] = [];
  for (const rule of allRules) {
    const matched = primary.get(rule.name) ?? new Set<string>();
    const positives = specs.filter((s) => s.rule === rule.name).map((s) => ({ reference: s.reference, file: s.file, matched: s.file === null ? null : matched.has(s.file) }));
    for (const p of positives) {
      if (p.matched === false) {
        findings.push({ id: 'positive-test-failed', severity: 'error', category: 'test', rule: rule.name, file: rule.file, line: rule.line, message: `does not match its positive ${p.reference}` });
      } else if (p.matched === null) {
        findings.push({ id: 'positive-sample-missing', severity: 'info', category: 'test', rule: rule.name, file: rule.file, line: rule.line, message: `positive ${p.reference} is not in the corpus: untested` });
      }
    }
    const positiveSet = new Set(positives.flatMap((p) => (p.file === null ? [] : [p.file])));
    const goodwareMatches = [...matched].filter((f) => goodwareSet.has(f) && !positiveSet.has(f));
    if (goodwareMatches.length > 0 && !rule.isPrivate) {
      findings.push({ id: 'goodware-match', severity: 'error', category: 'test', rule: rule.name, file: rule.file, line: rule.line, message: `matches goodware: ${goodwareMatches.slice(0, 3).join(', ')}${goodwareMatches.length > 3 ? ` (+${goodwareMatches.length - 3})` : ''}` });
    }
    tests.push({ rule: rule.name, positives, goodwareMatches, corpusMatches: [...matched].filter((f) => corpusSet.has(f)).length });
  }

  let cost: CostReport | null = null;
  if (options.cost?.enabled !== false) {
    const maxCorpusBytes = options.cost?.maxCorpusBytes ?? 8 * 1024 * 1024;
    const corpus: Uint8Array[] = [];
    let total = 0;
    for (const file of corpusFiles.length > 0 ? corpusFiles : goodwareFiles) {
      if (total >= maxCorpusBytes) break;
      const bytes = await readFile(file);
      const slice = bytes.subarray(0, maxCorpusBytes - total);
      corpus.push(slice);
      total += slice.byteLength;
    }
    if (corpus.length > 0) {
      const maxRatio = options.cost?.maxRatio ?? DEFAULT_MAX_COST_RATIO;
      cost = await measureRuleCosts(primaryEngine, parsed, corpus, { iterations: options.cost?.iterations ?? 3, confirmAboveRatio: maxRatio });
      const previous = options.cost?.previous?.cost;
      for (const measured of cost.rules) {
        const rule = allRules.find((r) => r.name === measured.rule && r.file === measured.file);
        if (rule === undefined || measured.ratio === null) continue;
        if (measured.ratio > maxRatio) {
          findings.push({ id: 'slow-rule', severity: 'error', category: 'performance', rule: rule.name, file: rule.file, line: rule.line, message: `costs ${measured.ratio.toFixed(1)}x the baseline rule (limit ${maxRatio}x) on ${cost.corpusFiles} files` });
        }
        const before = previous?.engine === cost.engine ? previous.rules.find((r) => r.rule === measured.rule)?.ratio : undefined;
        if (before !== undefined && before !== null && measured.ratio > before * 1.5 && measured.ratio > 2) {
          findings.push({ id: 'cost-regression', severity: 'error', category: 'performance', rule: rule.name, file: rule.file, line: rule.line, message: `cost rose from ${before.toFixed(1)}x to ${measured.ratio.toFixed(1)}x the baseline` });
        }
      }
    }
  }

  const baseline = await readBaseline(options.baselineFile ?? path.join(root, BASELINE_FILE));
  const reportFindings: ReportFinding[] = findings.sort(sortFindings).map((f) => ({
    ...f,
    status: isSuppressedInline(f, parsed) ? 'suppressed' : isBaselined(f, baseline) ? 'baselined' : 'open',
  }));
  const open = reportFindings.filter((f) => f.status === 'open');
  const summary = {
    error: open.filter((f) => f.severity === 'error').length,
    warning: open.filter((f) => f.severity === 'warning').length,
    info: open.filter((f) => f.severity === 'info').length,
    suppressed: reportFindings.filter((f) => f.status === 'suppressed').length,
    baselined: reportFindings.filter((f) => f.status === 'baselined').length,
  };
  return {
    schema: 'malpipe-yara-check/1',
    passed: summary.error === 0,
    createdAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    ruleset: {
      dir: root,
      version: ruleset.version,
      files: sources.map((s) => s.parsed.file),
      rules: allRules.map((r) => ({ name: r.name, namespace: r.namespace, file: r.file, line: r.line, hash: ruleHash(r) })),
    },
    engines: { available: engines, yaraCli, primary: primaryEngine.name },
    summary,
    findings: reportFindings,
    tests,
    goodware: { dir: goodwareDir ?? '', files: goodwareFiles.length },
    cost,
  };
}
