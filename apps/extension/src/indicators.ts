import { extractIocs } from '@malpipe/analyzers/ioc/extract-iocs';
import { SUBMITTABLE_HASH_TYPES, type SubmittableHashType } from '@malpipe/api-client';
import { MAX_SELECTION_CHARS, MAX_SELECTION_INDICATORS } from './selection-limits.js';

/** A digest the server can look up (MD5, SHA-1, SHA-256), lower-case. */
export interface SelectedHash {
  readonly hash: string;
  readonly type: SubmittableHashType;
}

/** Anything else found in the selection: shown in the popup, never submitted. */
export interface SelectedIndicator {
  readonly type: string;
  readonly value: string;
  /** e.g. `reserved` (example.com, loopback) or `private` (RFC 1918). */
  readonly flags: readonly string[];
}

export interface Selection {
  readonly hashes: readonly SelectedHash[];
  readonly indicators: readonly SelectedIndicator[];
}


const SUBMITTABLE: ReadonlySet<string> = new Set(SUBMITTABLE_HASH_TYPES);

function isSubmittable(type: string): type is SubmittableHashType {
  return SUBMITTABLE.has(type);
}

/**
 * Splits a text selection into the digests to submit and the other indicators (URLs, domains, IPs, e-mail
 * addresses, SHA-512 digests the server cannot look up). The text is refanged first (`hxxp://evil[.]com`),
 * values are normalised and deduplicated in order of appearance; GUIDs, git object names and empty-input
 * digests are not hashes (the rules of `extractIocs` in @malpipe/analyzers).
 */
export function extractSelection(text: string): Selection {
  const found = extractIocs(text.slice(0, MAX_SELECTION_CHARS), { maxIndicators: MAX_SELECTION_INDICATORS });
  const hashes: SelectedHash[] = [];
  const indicators: SelectedIndicator[] = [];
  for (const indicator of found) {
    if (isSubmittable(indicator.type)) hashes.push({ hash: indicator.value, type: indicator.type });
    else indicators.push({ type: indicator.type, value: indicator.value, flags: [...(indicator.flags ?? [])] });
  }
  return { hashes, indicators };
}
