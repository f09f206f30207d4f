import type { TrackedHash } from './tracked-hashes.js';


/** Pure helpers for the popup's rendering (kept apart from the DOM code so they can be unit-tested). */

/** `0123456789…abcdef` for long digests; MD5s fit as they are. */
export function shortHash(hash: string): string {
  return hash.length <= 32 ? hash : `${hash.slice(0, 12)}…${hash.slice(-12)}`;
}

/** What the state column says: the request state, refined by the analysis state once the sample is stored. */
export function describeTracked(item: TrackedHash): string {
  const parts: string[] = [item.state];
  if (item.analysisState !== null) parts.push(`analysis ${item.analysisState}`);
  return parts.join(', ');
}

/** The dashboard page of a sample, served by the same malpipe server. */
export function samplePageUrl(serverUrl: string, hash: string): string {
  return `${serverUrl}/samples/${encodeURIComponent(hash)}`;
}

/** The dashboard page for the item: by SHA-256 once the server knows the sample, else by the submitted hash. */
export function trackedLink(item: TrackedHash): string {
  return samplePageUrl(item.serverUrl, item.sha256 ?? item.hash);
}
