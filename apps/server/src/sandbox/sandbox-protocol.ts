import type { AnalyzerLimits, AnalyzerOutput, SampleFacts } from '@malpipe/analyzers';
import type { ErrorCode } from '@malpipe/core';

/**
 * The messages between the sandbox pool and its child processes (IPC with `serialization: 'advanced'`, so
 * Uint8Arrays cross as bytes). Everything else is plain JSON.
 */

/** How a child obtains the active YARA ruleset; it (re)loads only when `version` changes. */
export interface SandboxYaraSpec {
  readonly version: string;
  readonly engine: 'libyara' | 'yara-x';
  /** libyara: rules compiled once by the parent and saved here. */
  readonly compiledPath: string | null;
  /** YARA-X: the child compiles the rule files of this directory itself. */
  readonly rulesDir: string;
}

/** A local file path (preferred: no copy over IPC) or the bytes themselves. */
export type SandboxInput = { readonly path: string } | { readonly bytes: Uint8Array };

export interface SandboxRunMessage {
  readonly type: 'run';
  readonly id: number;
  readonly analyzer: string;
  readonly input: SandboxInput;
  readonly facts: SampleFacts;
  readonly archivePasswords: readonly string[];
  readonly limits: AnalyzerLimits;
  readonly yara: SandboxYaraSpec | null;
  /** Passed to the YARA scan so a slow rule gives up before the process is killed. */
  readonly timeoutMs: number;
}

export type SandboxOutcome =
  | { readonly status: 'ok'; readonly output: AnalyzerOutput; readonly durationMs: number }
  | { readonly status: 'error'; readonly code: ErrorCode; readonly message: string; readonly durationMs: number };

export type ChildMessage =
  | { readonly type: 'ready'; readonly analyzers: readonly string[] }
  | { readonly type: 'result'; readonly id: number; readonly outcome: SandboxOutcome };

export function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'result';
}
