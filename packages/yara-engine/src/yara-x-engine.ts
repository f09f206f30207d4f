import { AppError } from '@malpipe/core';
import type { YaraRuleMatch, YaraStringMatch } from '@malpipe/analyzers';
import { outlineRules } from './outline-rules.js';
import type { MetaValue, RuleOutline } from './outline-rules.js';
import type { CompiledRules, YaraEngine, YaraScanOptions, YaraSource } from './yara-engine.js';

/**
 * YARA-X through `@litko/yara-x` 0.3.0. Like Kysely with better-sqlite3, this file depends on the minimal
 * shape of the calls it makes (below), not on the package's types.
 *
 * What 0.3.0 lacks and how this engine copes:
 * - no scan timeout: `timeoutMs` is ignored here; time limits are enforced outside, by running analysers in
 *   child processes the pipeline kills;
 * - no save/load of compiled rules: `save()` returns null and `load()` throws YARA_ENGINE_UNAVAILABLE, so each
 *   process compiles;
 * - no namespaces: namespaces without clashing rule names and without global rules share one compiled unit
 *   (the namespace of a match is looked up by rule name); the others get units of their own, scanned in turn;
 * - no rule count and boolean meta reported as "unknown": both come from `outlineRules`.
 */
export interface YaraXMatchShape {
  readonly offset: number;
  readonly length: number;
  readonly identifier: string;
}

export interface YaraXRuleMatchShape {
  readonly ruleIdentifier: string;
  readonly namespace: string;
  readonly meta: object;
  readonly tags: readonly string[];
  readonly matches: readonly YaraXMatchShape[];
}

export interface YaraXRulesShape {
  scanAsync(data: Buffer): Promise<readonly YaraXRuleMatchShape[]>;
  scanFileAsync(path: string): Promise<readonly YaraXRuleMatchShape[]>;
}

export interface YaraXBinding {
  compile(source: string): YaraXRulesShape;
}

/** Per-string cap on reported matches (the engines keep counting internally, so verdicts are unaffected). */
export const MAX_REPORTED_MATCHES_PER_STRING = 100;

interface Segment {
  readonly firstLine: number;
  readonly lineCount: number;
  readonly origin: string;
  readonly namespace: string;
}

interface Unit {
  readonly ruleNamespace: Map<string, string>;
  readonly ruleMeta: Map<string, Readonly<Record<string, MetaValue>>>;
  readonly segments: Segment[];
  readonly texts: string[];
  lineCount: number;
  /** Set for a unit holding one namespace: the namespace of any rule the outline did not see. */
  fallbackNamespace: string | undefined;
}

interface CompiledUnit {
  readonly rules: YaraXRulesShape;
  readonly ruleNamespace: ReadonlyMap<string, string>;
  readonly ruleMeta: ReadonlyMap<string, Readonly<Record<string, MetaValue>>>;
  readonly fallbackNamespace: string | undefined;
}

let bindingPromise: Promise<YaraXBinding> | undefined;

/** Loads `@litko/yara-x` once; YARA_ENGINE_UNAVAILABLE when its native part is missing. */
export function loadYaraXBinding(): Promise<YaraXBinding> {
  bindingPromise ??= import('@litko/yara-x').then(
    (module): YaraXBinding => module,
    (error: unknown) => {
      bindingPromise = undefined;
      throw new AppError('YARA_ENGINE_UNAVAILABLE', 'the YARA-X engine (@litko/yara-x) could not be loaded', {
        cause: error,
      });
    },
  );
  return bindingPromise;
}

function countLines(text: string): number {
  let lines = 1;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) lines += 1;
  return lines;
}

function newUnit(): Unit {
  return {
    ruleNamespace: new Map(),
    ruleMeta: new Map(),
    segments: [],
    texts: [],
    lineCount: 0,
    fallbackNamespace: undefined,
  };
}

/** Groups sources into as few compiled units as namespace semantics allow. */
function planUnits(sources: readonly YaraSource[]): { units: Unit[]; ruleCount: number } {
  const byNamespace = new Map<
    string,
    { source: YaraSource; rules: readonly RuleOutline[]; complete: boolean }[]
  >();
  let ruleCount = 0;
  for (const source of sources) {
    const outline = outlineRules(source.source);
    ruleCount += outline.rules.length;
    const list = byNamespace.get(source.namespace) ?? [];
    list.push({ source, rules: outline.rules, complete: outline.complete });
    byNamespace.set(source.namespace, list);
  }
  const shared = newUnit();
  const units: Unit[] = [shared];
  for (const [namespace, members] of byNamespace) {
    const names = members.flatMap((member) => member.rules.map((rule) => rule.name));
    // A global rule gates only its own namespace, so it cannot share a unit with other namespaces.
    const hasGlobal = members.some((member) => member.rules.some((rule) => rule.isGlobal));
    const clashes = names.some((name) => shared.ruleNamespace.has(name));
    // Where the outline lost its way, rule names are unknown: keep the namespace apart to stay correct.
    const unclear = members.some((member) => !member.complete);
    let unit = shared;
    if (hasGlobal || clashes || unclear) {
      unit = newUnit();
      unit.fallbackNamespace = namespace;
      units.push(unit);
    }
    for (const { source, rules } of members) {
      for (const rule of rules) {
        unit.ruleNamespace.set(rule.name, namespace);
        unit.ruleMeta.set(rule.name, rule.meta);
      }
      const text = source.source.endsWith('\n') ? source.source : `${source.source}\n`;
      const lineCount = countLines(text) - 1;
      unit.segments.push({
        firstLine: unit.lineCount + 1,
        lineCount,
        origin: source.origin ?? namespace,
        namespace,
      });
      unit.texts.push(text);
      unit.lineCount += lineCount;
    }
  }
  return { units: units.filter((unit) => unit.texts.length > 0), ruleCount };
}

function compileError(unit: Unit, error: unknown): AppError {
  const raw = error instanceof Error ? error.message : String(error);
  const position = /-->\s*line:(\d+):(\d+)/.exec(raw);
  const headline = /error\[(E\d+)\]:\s*([^\n]*)/.exec(raw);
  const detail = /\n\s*\d+\s*\|[^\n]*\n\s*\|\s*\^+\s*([^\n]*)/.exec(raw);
  const summary =
    [headline?.[2], detail?.[1]].filter(Boolean).join(': ') || raw.split('\n')[0] || 'syntax error';
  if (position?.[1] === undefined) {
    return new AppError('YARA_COMPILE_FAILED', `YARA-X: ${summary}`, {
      cause: error,
      details: { engine: 'yara-x' },
    });
  }
  const unitLine = Number(position[1]);
  const segment =
    unit.segments.find((s) => unitLine >= s.firstLine && unitLine < s.firstLine + s.lineCount) ??
    unit.segments.at(-1);
  const line = segment ? unitLine - segment.firstLine + 1 : unitLine;
  const origin = segment?.origin ?? 'rules';
  return new AppError('YARA_COMPILE_FAILED', `${origin}:${line}: ${summary}`, {
    cause: error,
    details: {
      engine: 'yara-x',
      origin,
      namespace: segment?.namespace,
      line,
      column: Number(position[2]),
      code: headline?.[1],
    },
  });
}

function toMeta(
  reported: object,
  outlined: Readonly<Record<string, MetaValue>> | undefined,
): Record<string, string | number | boolean> {
  const meta: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(reported)) {
    const fromSource = outlined?.[key];
    // 0.3.0 reports boolean meta, and strings that are not plain UTF-8 literals (escapes), as "unknown";
    // the source outline knows the real value.
    if (value === 'unknown' && fromSource !== undefined) meta[key] = fromSource;
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      meta[key] = value;
  }
  return meta;
}

function toMatches(unit: CompiledUnit, found: readonly YaraXRuleMatchShape[]): YaraRuleMatch[] {
  return found.map((match) => {
    const perString = new Map<string, number>();
    const strings: YaraStringMatch[] = [];
    for (const hit of match.matches) {
      const seen = perString.get(hit.identifier) ?? 0;
      if (seen >= MAX_REPORTED_MATCHES_PER_STRING) continue;
      perString.set(hit.identifier, seen + 1);
      strings.push({ identifier: hit.identifier, offset: hit.offset, length: hit.length });
    }
    return {
      rule: match.ruleIdentifier,
      namespace: unit.ruleNamespace.get(match.ruleIdentifier) ?? unit.fallbackNamespace ?? match.namespace,
      tags: [...match.tags],
      meta: toMeta(match.meta, unit.ruleMeta.get(match.ruleIdentifier)),
      strings,
    };
  });
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class YaraXCompiledRules implements CompiledRules {
  readonly engine = 'yara-x' as const;
  #units: readonly CompiledUnit[];

  constructor(
    units: readonly CompiledUnit[],
    readonly ruleCount: number,
  ) {
    this.#units = units;
  }

  async scan(bytes: Uint8Array, _options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]> {
    const data = asBuffer(bytes);
    const results = await Promise.all(
      this.#units.map(async (unit) => toMatches(unit, await unit.rules.scanAsync(data))),
    );
    return results.flat();
  }

  async scanFile(path: string, _options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]> {
    try {
      const results = await Promise.all(
        this.#units.map(async (unit) => toMatches(unit, await unit.rules.scanFileAsync(path))),
      );
      return results.flat();
    } catch (error) {
      throw new AppError('NOT_FOUND', `YARA-X could not scan ${path}`, { cause: error });
    }
  }

  save(): Promise<Uint8Array | null> {
    return Promise.resolve(null);
  }

  dispose(): void {
    this.#units = [];
  }
}

/** The YARA-X engine. Pass a binding to test against a fake shape; by default `@litko/yara-x` is loaded lazily. */
export function createYaraXEngine(binding?: YaraXBinding): YaraEngine {
  return {
    name: 'yara-x',
    async compile(sources: readonly YaraSource[]): Promise<CompiledRules> {
      const yarax = binding ?? (await loadYaraXBinding());
      const { units, ruleCount } = planUnits(sources);
      const compiled = units.map((unit): CompiledUnit => {
        try {
          return {
            rules: yarax.compile(unit.texts.join('')),
            ruleNamespace: unit.ruleNamespace,
            ruleMeta: unit.ruleMeta,
            fallbackNamespace: unit.fallbackNamespace,
          };
        } catch (error) {
          throw compileError(unit, error);
        }
      });
      return new YaraXCompiledRules(compiled, ruleCount);
    },
    load(): Promise<CompiledRules> {
      return Promise.reject(
        new AppError(
          'YARA_ENGINE_UNAVAILABLE',
          '@litko/yara-x 0.3.0 cannot load saved rules: compile the sources',
        ),
      );
    },
  };
}
