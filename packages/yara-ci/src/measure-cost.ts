import { performance } from 'node:perf_hooks';
import type { CompiledRules, YaraEngine } from '@malpipe/yara-engine';
import type { ParsedRule, ParsedSource } from './parse-rules.js';

/**
 * Per-rule cost, panopticon's method scaled down: scan an in-memory corpus with each rule alone and with a
 * calibrated baseline rule (one good 8-byte atom, i.e. the cheapest useful rule), and report the ratio. The
 * baseline is measured before and after the rules; their spread is the noise of this machine right now.
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
  /** Relative spread of the two baseline measurements. */
  readonly noise: number;
  readonly rules: readonly RuleCost[];
}

async function timeScan(rules: CompiledRules, corpus: readonly Uint8Array[], iterations: number, stopAboveMs: number): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < iterations; i += 1) {
    const start = performance.now();
    for (const bytes of corpus) await rules.scan(bytes, { timeoutMs: 60_000 });
    best = Math.min(best, performance.now() - start);
    // A rule far above the limit is not measured again: repeating only refines how slow it is.
    if (best > stopAboveMs) break;
  }
  return best;
}

async function measureSource(engine: YaraEngine, source: string, corpus: readonly Uint8Array[], iterations: number, stopAboveMs = Number.POSITIVE_INFINITY): Promise<number | null> {
  const rules = await engine.compile([{ namespace: 'cost', source }]).catch(() => null);
  if (rules === null) return null;
  try {
    return await timeScan(rules, corpus, iterations, stopAboveMs);
  } finally {
    rules.dispose();
  }
}

/** The rule's own text with its file's imports, compiled alone (rules that call other rules get null). */
function standalone(source: ParsedSource, rule: ParsedRule): string {
  return `${source.imports.map((i) => `import "${i.module}"`).join('\n')}\n${rule.text.replace(/^\s*(private|global)\s+/, '').replace(/^\s*(private|global)\s+/, '')}\n`;
}

export async function measureRuleCosts(
  engine: YaraEngine,
  sources: readonly ParsedSource[],
  corpus: readonly Uint8Array[],
  options: { iterations?: number; stopAboveRatio?: number } = {},
): Promise<CostReport> {
  const iterations = options.iterations ?? 3;
  // One unmeasured pass warms caches and lazy engine set-up.
  await measureSource(engine, BASELINE_RULE, corpus, 1);
  const before = (await measureSource(engine, BASELINE_RULE, corpus, iterations)) ?? 0;
  const rules: RuleCost[] = [];
  for (const source of sources) {
    for (const rule of source.rules) {
      const ms = await measureSource(engine, standalone(source, rule), corpus, iterations, before * (options.stopAboveRatio ?? 20));
      rules.push({ rule: rule.name, file: source.file, ms, ratio: null });
    }
  }
  const after = (await measureSource(engine, BASELINE_RULE, corpus, iterations)) ?? 0;
  const baselineMs = Math.max(Math.min(before, after), 0.001);
  const noise = Math.abs(before - after) / baselineMs;
  return {
    engine: engine.name,
    corpusFiles: corpus.length,
    corpusBytes: corpus.reduce((n, b) => n + b.byteLength, 0),
    iterations,
    baselineMs,
    noise,
    rules: rules.map((r) => ({ ...r, ratio: r.ms === null ? null : r.ms / baselineMs })),
  };
}
