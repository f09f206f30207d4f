import type { FileType, Indicator, RelationKind } from '@malpipe/core';

/**
 * What is known about a sample before an analyser runs. Built by the pipeline from the sample row and the
 * identification step; analysers must not assume anything else about where the bytes came from.
 */
export interface SampleFacts {
  readonly sha256: string;
  readonly size: number;
  readonly fileType: FileType;
  readonly fileNames: readonly string[];
  /** 0 for a submitted sample, parent depth + 1 for a child. Bounded by `limits.maxDepth`. */
  readonly depth: number;
}

/** Bounds every analyser must respect. The runner also enforces time and memory from outside. */
export interface AnalyzerLimits {
  readonly maxDepth: number;
  readonly maxChildren: number;
  readonly maxChildBytes: number;
  readonly maxTotalExtractedBytes: number;
  /** Maximum expansion ratio of any compressed member (zip bomb guard). */
  readonly maxCompressionRatio: number;
  readonly maxStrings: number;
  readonly maxIndicators: number;
}

export const DEFAULT_LIMITS: AnalyzerLimits = Object.freeze({
  maxDepth: 5,
  maxChildren: 1000,
  maxChildBytes: 256 * 1024 * 1024,
  maxTotalExtractedBytes: 1024 * 1024 * 1024,
  maxCompressionRatio: 200,
  maxStrings: 20_000,
  maxIndicators: 5_000,
});

/** One compiled YARA ruleset, as analysers see it (see @malpipe/yara-engine). */
export interface YaraScanner {
  readonly engine: string;
  readonly rulesetVersion: string;
  scan(bytes: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<readonly YaraRuleMatch[]>;
}

export interface YaraStringMatch {
  readonly identifier: string;
  readonly offset: number;
  readonly length: number;
}

export interface YaraRuleMatch {
  readonly rule: string;
  readonly namespace: string;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string | number | boolean>>;
  readonly strings: readonly YaraStringMatch[];
}

/** Resources an analyser may use. Everything here is injected; nothing is looked up globally. */
export interface AnalyzerContext {
  readonly limits: AnalyzerLimits;
  /** Passwords to try on encrypted archives, in order. Defaults to ["infected"]. */
  readonly archivePasswords: readonly string[];
  /** Present when a YARA ruleset is active. */
  readonly yara?: YaraScanner;
}

/** A file found inside the sample; the pipeline stores it and analyses it as a sample of its own. */
export interface ChildSample {
  readonly bytes: Uint8Array;
  readonly name: string | null;
  readonly relation: RelationKind;
  /** Path inside the archive, offset, codec... */
  readonly detail: string | null;
}

export interface AnalyzerOutput<TResult = unknown> {
  /** JSON-serialisable result; stored as the analyser's result for this sample. */
  readonly result: TResult;
  readonly indicators?: readonly Indicator[];
  readonly tags?: readonly string[];
  readonly children?: readonly ChildSample[];
  /** Non-fatal problems (a malformed section, a wrong password...): the result is still valid. */
  readonly warnings?: readonly string[];
}

/**
 * An analyser: a pure function over bytes and facts. It never does I/O, never logs and never throws on
 * hostile input: malformed input is a normal result (with warnings), not an exception. It throws only an
 * AppError for inputs it must refuse outright (e.g. a zip bomb), which the pipeline stores as an error result.
 *
 * `version` is part of the result cache key (sha256, name, version, ruleset version): bump it whenever the
 * output for the same input changes. `usesRuleset` says whether the ruleset version is part of that key.
 */
export interface Analyzer<TResult = unknown> {
  readonly name: string;
  readonly version: string;
  readonly usesRuleset?: boolean;
  /**
   * Its output depends on the archive passwords tried: a request with passwords other than the platform's
   * defaults is cached under its own key, so resubmitting with the right password opens the archive.
   */
  readonly usesArchivePasswords?: boolean;
  /** Cheap filter on facts: only analysers that accept a sample run on it. */
  accepts(facts: SampleFacts): boolean;
  analyze(bytes: Uint8Array, facts: SampleFacts, context: AnalyzerContext): Promise<AnalyzerOutput<TResult>>;
}
