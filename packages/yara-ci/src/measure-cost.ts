import { performance } from 'node:perf_hooks';
import type { CompiledRules, YaraEngine } from '@malpipe/yara-engine';
import type { ParsedRule, ParsedSource } from './parse-rules.js';

/**
 * Per-rule cost, panopticon's method scaled down: scan an in-memory corpus with each rule alone and with a
 * calibrated baseline rule (one good 8-byte atom, i.e. the cheapest useful rule), and report the ratio. The
 * baseline is re-measured next to every rule; the spread of those measurements is this machine's noise.
 */
export const BASELINE_RULE = 'rule Malpipe_Cost_Baseline { strings: $a = { 6D 61 6C 70 69 70 65 21 } condition: $a }';

export interface RuleCost {
  readonly rule: string;
  readonly file: string;
  /** Best-of-N milliseconds to scan the corpus once; null when the rule cannot be compiled alone. */
  readonly ms: number | null;
  /** ms / baseline ms. */
  readonly ratio: number | null;
}

export interface CostReport {
  readonly engine: string;
  readonly corpusFiles: number;
  readonly corpusBytes: number;
  readonly iterations: number;
  readonly baselineMs: number;
  /** Relative spread of the baselines measured next to each rule (load from elsewhere on this machine). */
  readonly noise: number;
  readonly rules: readonly RuleCost[];
}

async function timeOnce(rules: CompiledRules, corpus: readonly Uint8Array[]): Promise<number> {
  const start = performance.now();
  for (const bytes of corpus) await rules.scan(bytes, { timeoutMs: 60_000 });
  return performance.now() - start;
}

/**
 * Alternates baseline and rule passes and keeps the best of each: on a shared machine load comes and goes,
 * and a baseline measured next to the rule sees the same load. Stops early once the rule is far too slow.
 */
async function alternate(
  baseline: CompiledRules,
  rules: CompiledRules,
  corpus: readonly Uint8Array[],
  iterations: number,
  stopAboveRatio: number,
): Promise<{ ruleMs: number; baselineMs: number }> {
  let ruleMs = Number.POSITIVE_INFINITY;
  let baselineMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < iterations; i += 1) {
    baselineMs = Math.min(baselineMs, await timeOnce(baseline, corpus));
    ruleMs = Math.min(ruleMs, await timeOnce(rules, corpus));
    if (ruleMs > baselineMs * stopAboveRatio) break;
  }
  return { ruleMs, baselineMs: Math.max(baselineMs, 0.001) };
}

/** The rule's own text with its file's imports, compiled alone (rules that call other rules get null). */
function standalone(source: ParsedSource, rule: ParsedRule): string {
  return `${source.imports.map((i) => `import "${i.module}"`).join('\n')}\n${rule.text.replace(/^\s*((private|global)\s+)+/, '')}\n`;
}

export interface MeasureOptions {
  readonly iterations?: number;
  /** A rule measured above this ratio is measured again, twice as long, before it is reported (default 10). */
  readonly confirmAboveRatio?: number;
}

export async function measureRuleCosts(
  engine: YaraEngine,
  sources: readonly ParsedSource[],
  corpus: readonly Uint8Array[],
  options: MeasureOptions = {},
): Promise<CostReport> {
  const iterations = options.iterations ?? 3;
  const confirmAbove = options.confirmAboveRatio ?? 10;
  const baseline = await engine.compile([{ namespace: 'cost', source: BASELINE_RULE }]);
  const baselines: number[] = [];
  const rules: RuleCost[] = [];
  try {
    // One unmeasured pass warms caches and lazy engine set-up.
    await timeOnce(baseline, corpus);
    for (const source of sources) {
      for (const rule of source.rules) {
        const compiled = await engine.compile([{ namespace: 'cost', source: standalone(source, rule) }]).catch(() => null);
        if (compiled === null) {
          rules.push({ rule: rule.name, file: source.file, ms: null, ratio: null });
          continue;
        }
        try {
          let measured = await alternate(baseline, compiled, corpus, iterations, confirmAbove * 2);
          const ratio = measured.ruleMs / measured.baselineMs;
          if (ratio > confirmAbove && ratio < confirmAbove * 2) {
            // Near the limit: a burst of load from elsewhere must not fail a rule, so look again.
            const again = await alternate(baseline, compiled, corpus, iterations * 2, Number.POSITIVE_INFINITY);
            if (again.ruleMs / again.baselineMs < ratio) measured = again;
          }
          baselines.push(measured.baselineMs);
          rules.push({ rule: rule.name, file: source.file, ms: measured.ruleMs, ratio: measured.ruleMs / measured.baselineMs });
        } finally {
          compiled.dispose();
        }
      }
    }
    if (baselines.length === 0) baselines.push(await timeOnce(baseline, corpus));
  } finally {
    baseline.dispose();
  }
  const baselineMs = Math.min(...baselines);
  return {
    engine: engine.name,
    corpusFiles: corpus.length,
    corpusBytes: corpus.reduce((n, b) => n + b.byteLength, 0),
    iterations,
    baselineMs,
    noise: (Math.max(...baselines) - baselineMs) / baselineMs,
    rules,
  };
}
