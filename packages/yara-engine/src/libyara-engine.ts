import { createRequire } from 'node:module';
import { AppError } from '@malpipe/core';
import type { ErrorCode } from '@malpipe/core';
import type { YaraRuleMatch } from '@malpipe/analyzers';
import { MAX_REPORTED_MATCHES_PER_STRING } from './yara-x-engine.js';
import type { CompiledRules, YaraEngine, YaraFileScanOutcome, YaraScanOptions, YaraSource } from './yara-engine.js';

/**
 * libyara 4.x through our addon `@malpipe/yara-native` (an optional dependency: it is only built where
 * libyara is installed). One compiled YR_RULES is shared by every concurrent scan; each scan runs on the
 * libuv pool with its own scanner and an enforced timeout (libyara counts whole seconds: rounded up).
 * The shapes below are the slice of the addon this file calls.
 */
export interface NativeDiagnosticShape {
  readonly level: string;
  readonly origin: string;
  readonly line: number;
  readonly message: string;
}

export interface NativeScanOptionsShape {
  readonly timeoutMs?: number;
  readonly maxMatchesPerString?: number;
}

export interface NativeRulesShape {
  readonly ruleCount: number;
  scan(
    data: Uint8Array,
    options?: NativeScanOptionsShape,
  ): Promise<{ readonly matches: readonly YaraRuleMatch[] }>;
  scanFile(
    path: string,
    options?: NativeScanOptionsShape,
  ): Promise<{ readonly matches: readonly YaraRuleMatch[] }>;
  /** Optional so test doubles and older builds of the addon still fit; callers fall back to scanFile. */
  scanFiles?(
    paths: readonly string[],
    options?: NativeScanOptionsShape,
  ): Promise<readonly ({ readonly matches: readonly YaraRuleMatch[] } | { readonly error: unknown })[]>;
  save(): Uint8Array;
  dispose(): void;
}

export interface YaraNativeBinding {
  readonly libyaraVersion: string;
  compile(sources: readonly YaraSource[]): Promise<NativeRulesShape>;
  load(saved: Uint8Array): NativeRulesShape;
}

type LoadState = { readonly binding: YaraNativeBinding } | { readonly error: unknown };
let loadState: LoadState | undefined;

/** Loads the addon once (synchronously: it is a local .node file). Null when it was not built. */
export function loadYaraNative(): YaraNativeBinding | null {
  if (loadState === undefined) {
    try {
      const require = createRequire(import.meta.url);
      loadState = { binding: require('@malpipe/yara-native') as YaraNativeBinding };
    } catch (error) {
      loadState = { error };
    }
  }
  return 'binding' in loadState ? loadState.binding : null;
}

export function isLibyaraAvailable(): boolean {
  return loadYaraNative() !== null;
}

function requireBinding(): YaraNativeBinding {
  const binding = loadYaraNative();
  if (binding !== null) return binding;
  const cause = loadState !== undefined && 'error' in loadState ? loadState.error : undefined;
  throw new AppError(
    'YARA_ENGINE_UNAVAILABLE',
    'the libyara addon (@malpipe/yara-native) is not built here (libyara-dev and pkg-config missing at install?)',
    { cause },
  );
}

const NATIVE_CODES: Readonly<Record<string, ErrorCode>> = {
  TIMEOUT: 'ANALYZER_TIMEOUT',
  FILE_ERROR: 'NOT_FOUND',
  INVALID_RULES: 'MALFORMED_INPUT',
  BUSY: 'QUEUE_FULL',
};

function nativeCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function toEngineError(error: unknown, options?: YaraScanOptions): AppError {
  const code = nativeCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const appCode = (code !== undefined ? NATIVE_CODES[code] : undefined) ?? 'INTERNAL';
  return new AppError(appCode, `libyara: ${message}`, {
    cause: error,
    details: { engine: 'libyara', nativeCode: code, timeoutMs: options?.timeoutMs },
  });
}

function toCompileError(error: unknown): AppError {
  if (nativeCode(error) !== 'COMPILE_FAILED') return toEngineError(error);
  const raw =
    typeof error === 'object' && error !== null && 'diagnostics' in error && Array.isArray(error.diagnostics)
      ? (error.diagnostics as NativeDiagnosticShape[])
      : [];
  const errors = raw.filter((d) => d.level === 'error');
  const first = errors[0];
  const message = first
    ? `${first.origin || 'rules'}:${first.line}: ${first.message}`
    : 'YARA compilation failed';
  return new AppError('YARA_COMPILE_FAILED', message, {
    cause: error,
    details: {
      engine: 'libyara',
      origin: first?.origin,
      line: first?.line,
      errors: errors.slice(0, 20).map((d) => ({ origin: d.origin, line: d.line, message: d.message })),
    },
  });
}

function nativeOptions(options?: YaraScanOptions): NativeScanOptionsShape {
  return { timeoutMs: options?.timeoutMs ?? 0, maxMatchesPerString: MAX_REPORTED_MATCHES_PER_STRING };
}

class LibyaraCompiledRules implements CompiledRules {
  readonly engine = 'libyara' as const;
  readonly #native: NativeRulesShape;

  constructor(native: NativeRulesShape) {
    this.#native = native;
  }

  get ruleCount(): number {
    return this.#native.ruleCount;
  }

  async scan(bytes: Uint8Array, options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]> {
    try {
      return (await this.#native.scan(bytes, nativeOptions(options))).matches;
    } catch (error) {
      throw toEngineError(error, options);
    }
  }

  async scanFile(path: string, options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]> {
    try {
      return (await this.#native.scanFile(path, nativeOptions(options))).matches;
    } catch (error) {
      throw toEngineError(error, options);
    }
  }

  async scanFiles(paths: readonly string[], options?: YaraScanOptions): Promise<readonly YaraFileScanOutcome[]> {
    const native = this.#native;
    if (native.scanFiles === undefined) {
      const outcomes: YaraFileScanOutcome[] = [];
      for (const path of paths) {
        try {
          outcomes.push({ matches: await this.scanFile(path, options) });
        } catch (error) {
          outcomes.push({ error: error instanceof Error ? error : toEngineError(error, options) });
        }
      }
      return outcomes;
    }
    let results: Awaited<ReturnType<NonNullable<NativeRulesShape['scanFiles']>>>;
    try {
      results = await native.scanFiles(paths, nativeOptions(options));
    } catch (error) {
      throw toEngineError(error, options);
    }
    // Most files match nothing: pass the addon's entries through rather than copying each.
    return results.map((r) => ('error' in r ? { error: toEngineError(r.error, options) } : r));
  }

  save(): Promise<Uint8Array | null> {
    try {
      return Promise.resolve(this.#native.save());
    } catch (error) {
      return Promise.reject(toEngineError(error));
    }
  }

  dispose(): void {
    this.#native.dispose();
  }
}

/** The libyara engine. The addon is loaded on first use; YARA_ENGINE_UNAVAILABLE when it is absent. */
export function createLibyaraEngine(binding?: YaraNativeBinding): YaraEngine {
  return {
    name: 'libyara',
    async compile(sources: readonly YaraSource[]): Promise<CompiledRules> {
      const native = binding ?? requireBinding();
      try {
        return new LibyaraCompiledRules(
          await native.compile(
            sources.map((s) => ({ namespace: s.namespace, source: s.source, origin: s.origin })),
          ),
        );
      } catch (error) {
        throw toCompileError(error);
      }
    },
    load(saved: Uint8Array): Promise<CompiledRules> {
      try {
        return Promise.resolve(new LibyaraCompiledRules((binding ?? requireBinding()).load(saved)));
      } catch (error) {
        return Promise.reject(error instanceof AppError ? error : toEngineError(error));
      }
    },
  };
}
