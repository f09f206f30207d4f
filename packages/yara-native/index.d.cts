/** A rule that matched, as libyara reports it. Offsets and lengths only, never matched bytes. */
export interface NativeRuleMatch {
  readonly rule: string;
  readonly namespace: string;
  readonly tags: string[];
  readonly meta: Record<string, string | number | boolean>;
  readonly strings: { identifier: string; offset: number; length: number }[];
}

export interface NativeScanResult {
  readonly matches: NativeRuleMatch[];
  /** True when string matches were cut at maxMatchesPerString / maxTotalMatches (or libyara's own cap). */
  readonly truncated: boolean;
}

export type NativeFileScanResult = NativeScanResult | { readonly error: NativeError };

export interface NativeScanOptions {
  /** 0 or absent: no limit. libyara counts whole seconds: rounded up. Rejects with code TIMEOUT. */
  readonly timeoutMs?: number;
  /** Default 100. */
  readonly maxMatchesPerString?: number;
  /** Default 100000. */
  readonly maxTotalMatches?: number;
}

export interface NativeDiagnostic {
  readonly level: 'error' | 'warning';
  readonly origin: string;
  readonly line: number;
  readonly message: string;
}

/** Errors carry `code`: COMPILE_FAILED (with `diagnostics`), TIMEOUT, FILE_ERROR, INVALID_RULES, BUSY, DISPOSED, YARA_ERROR. */
export interface NativeError extends Error {
  readonly code: string;
  readonly yaraError?: number;
  readonly diagnostics?: NativeDiagnostic[];
}

/** One compiled YR_RULES, shared by every scan (each scan runs on the libuv pool with its own scanner). */
export interface NativeRules {
  readonly ruleCount: number;
  readonly warnings?: NativeDiagnostic[];
  scan(data: Uint8Array, options?: NativeScanOptions): Promise<NativeScanResult>;
  scanFile(path: string, options?: NativeScanOptions): Promise<NativeScanResult>;
  /**
   * Scans the files one after another in one pool task with one scanner (at most 100,000 paths): for many
   * small files. Resolves with one entry per path, in order; a file that fails carries `error` instead.
   */
  scanFiles(paths: readonly string[], options?: NativeScanOptions): Promise<NativeFileScanResult[]>;
  /** yr_rules_save_stream into a Buffer. */
  save(): Buffer;
  /** Releases the rules once scans in flight have finished. Further calls reject with DISPOSED. */
  dispose(): void;
}

export interface NativeSource {
  readonly namespace: string;
  readonly source: string;
  readonly origin?: string;
}

export function compile(sources: readonly NativeSource[]): Promise<NativeRules>;
/** Loads what save() produced (same libyara version). Only load rules this project saved. */
export function load(saved: Uint8Array): NativeRules;
export const libyaraVersion: string;
