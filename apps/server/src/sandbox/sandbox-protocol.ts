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

/**
 * One sample, several analysers: the child runs them one after another in this order and answers each with its
 * own `result` message, so the parent times each analyser separately and a crash costs only the one running.
 */
export interface SandboxRunMessage {
  readonly type: 'run';
  readonly id: number;
  readonly analyzers: readonly string[];
  readonly input: SandboxInput;
  readonly facts: SampleFacts;
  readonly archivePasswords: readonly string[];
  readonly limits: AnalyzerLimits;
  readonly yara: SandboxYaraSpec | null;
  /** Per analyser; passed to the YARA scan so a slow rule gives up before the process is killed. */
  readonly timeoutMs: number;
}

export type SandboxOutcome =
  | { readonly status: 'ok'; readonly output: AnalyzerOutput; readonly durationMs: number }
  | { readonly status: 'error'; readonly code: ErrorCode; readonly message: string; readonly durationMs: number };

export type ChildMessage =
  | { readonly type: 'ready'; readonly analyzers: readonly string[] }
  | { readonly type: 'result'; readonly id: number; /** Position in the message's `analyzers`. */ readonly index: number; readonly outcome: SandboxOutcome };

export function isChildMessage(value: unknown): value is ChildMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'result';
}
