import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '@malpipe/core';
import type { Finding } from './lint-rules.js';
import type { ParsedSource } from './parse-rules.js';

/**
 * Two ways to accept a finding: an inline `// malpipe:ignore <id>[,<id>...]` comment on the finding's line,
 * the rule's line, or the line above either; and a baseline file (`.yara-baseline.json`) of reviewed
 * findings matched by rule and id (yaraQA's `-b`), so CI is strict without re-litigating old decisions.
 */
export const BASELINE_FILE = '.yara-baseline.json';

const BaselineSchema = z.object({
  version: z.literal(1).default(1),
  accepted: z.array(
    z.object({
      id: z.string().min(1),
      rule: z.string().nullable(),
      file: z.string().optional(),
      reason: z.string().optional(),
    }),
  ),
});
export type Baseline = z.infer<typeof BaselineSchema>;

const IGNORE = /malpipe:ignore\s+([A-Za-z0-9_\-/]+(?:\s*,\s*[A-Za-z0-9_\-/]+)*)/;

function idsOnLine(lines: readonly string[], line: number): string[] {
  const text = lines[line - 1];
  const match = text === undefined ? null : IGNORE.exec(text);
  return match?.[1]?.split(',').map((s) => s.trim()) ?? [];
}

export function isSuppressedInline(finding: Finding, sources: readonly ParsedSource[]): boolean {
  const source = sources.find((s) => s.file === finding.file);
  if (source === undefined) return false;
  const rule = finding.rule === null ? undefined : source.rules.find((r) => r.name === finding.rule);
  const lines = [finding.line, finding.line - 1, ...(rule === undefined ? [] : [rule.line, rule.line - 1])];
  return lines.some((line) => line >= 1 && idsOnLine(source.lines, line).some((id) => id === finding.id || id === 'all'));
}

export function isBaselined(finding: Finding, baseline: Baseline | null): boolean {
  return (
    baseline?.accepted.some(
      (entry) => entry.id === finding.id && entry.rule === finding.rule && (entry.file === undefined || entry.file === finding.file),
    ) ?? false
  );
}

/** Reads a baseline; null when `file` does not exist; MALFORMED_INPUT when it is not a baseline. */
export async function readBaseline(file: string): Promise<Baseline | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    return BaselineSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new AppError('MALFORMED_INPUT', `${file} is not a YARA baseline ({ "accepted": [{ "id", "rule" }] })`, { cause: error });
  }
}

/** Writes every given finding as accepted (the `--update-baseline` workflow). */
export async function writeBaseline(file: string, findings: readonly Finding[]): Promise<void> {
  const accepted = findings.map((f) => ({ id: f.id, rule: f.rule, file: f.file }));
  await writeFile(file, `${JSON.stringify({ version: 1, accepted }, null, 2)}\n`);
}
