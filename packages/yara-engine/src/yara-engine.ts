import type { YaraRuleMatch } from '@malpipe/analyzers';

export type YaraEngineName = 'libyara' | 'yara-x';

export interface YaraSource {
  /** Namespace the rules are compiled into (file name without extension by default). */
  readonly namespace: string;
  readonly source: string;
  /** For error messages only. */
  readonly origin?: string;
}

export interface YaraScanOptions {
  /** The scan is abandoned (TIMEOUT error) after this many milliseconds. */
  readonly timeoutMs?: number;
}

/** One file of a `scanFiles` batch: its matches, or the error `scanFile` would have thrown. */
export type YaraFileScanOutcome = { readonly matches: readonly YaraRuleMatch[] } | { readonly error: Error };

/**
 * A compiled ruleset. Compile once, scan many times (from many threads where the engine allows it).
 * Matches carry offsets and lengths, never matched bytes: callers slice their own buffer.
 */
export interface CompiledRules {
  readonly engine: YaraEngineName;
  readonly ruleCount: number;
  scan(bytes: Uint8Array, options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]>;
  scanFile(path: string, options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]>;
  /**
   * Many files in one engine call (libyara only: one pool task, one scanner), for retrohunts over many small
   * files where a call per file costs more than the scan. One outcome per path, in order; absent: call scanFile.
   */
  scanFiles?(paths: readonly string[], options?: YaraScanOptions): Promise<readonly YaraFileScanOutcome[]>;
  /** Serialised compiled rules, where the engine supports it (libyara); null otherwise. */
  save(): Promise<Uint8Array | null>;
  dispose(): void;
}

/** The seam both engines implement. Select one with `createYaraEngine`. */
export interface YaraEngine {
  readonly name: YaraEngineName;
  compile(sources: readonly YaraSource[]): Promise<CompiledRules>;
  /** Loads rules produced by `CompiledRules.save()`; throws YARA_ENGINE_UNAVAILABLE if unsupported. */
  load(saved: Uint8Array): Promise<CompiledRules>;
}
