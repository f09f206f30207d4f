import { z } from 'zod';
import { HASH_REQUEST_STATES, SUBMITTABLE_HASH_TYPES, type HashEntry } from '@malpipe/api-client';
import type { StorageArea } from './storage-area.js';
import type { TrackedState } from './tracked-state.js';

/**
 * What the popup lists. Submitted hashes live in `storage.local` (they survive a browser restart and are not
 * secret); what the last selection contained besides hashes lives in `storage.session` (in memory only).
 */

export const TRACKED_KEY = 'tracked';
export const LAST_SELECTION_KEY = 'lastSelection';
/** Oldest entries are dropped past this. */
export const MAX_TRACKED = 200;

const TRACKED_STATES = [...HASH_REQUEST_STATES, 'error'] as const satisfies readonly TrackedState[];

const TrackedHashSchema = z.object({
  hash: z.string(),
  type: z.enum(SUBMITTABLE_HASH_TYPES),
  serverUrl: z.string(),
  requestId: z.string().nullable(),
  state: z.enum(TRACKED_STATES),
  sha256: z.string().nullable(),
  /** The dashboard's file type description once the sample is stored. */
  fileType: z.string().nullable(),
  /** State of the sample's latest analysis (`queued`, `running`, `completed`...). */
  analysisState: z.string().nullable(),
  message: z.string().nullable(),
  submittedAt: z.string(),
  updatedAt: z.string(),
});
export type TrackedHash = z.infer<typeof TrackedHashSchema>;

const LastSelectionSchema = z.object({
  at: z.string(),
  hashCount: z.number().int(),
  indicators: z.array(z.object({ type: z.string(), value: z.string(), flags: z.array(z.string()) })),
  error: z.string().nullable(),
});
export type LastSelection = z.infer<typeof LastSelectionSchema>;

/** Stored data that fails to parse (an older version's shape, a hand edit) reads as empty, never as a crash. */
export async function loadTracked(local: StorageArea): Promise<TrackedHash[]> {
  const stored = await local.get([TRACKED_KEY]);
  const parsed = z.array(TrackedHashSchema).safeParse(stored[TRACKED_KEY]);
  return parsed.success ? parsed.data : [];
}

export async function saveTracked(local: StorageArea, tracked: readonly TrackedHash[]): Promise<void> {
  await local.set({ [TRACKED_KEY]: tracked.slice(0, MAX_TRACKED) });
}

export async function loadLastSelection(session: StorageArea): Promise<LastSelection | null> {
  const stored = await session.get([LAST_SELECTION_KEY]);
  const parsed = LastSelectionSchema.safeParse(stored[LAST_SELECTION_KEY]);
  return parsed.success ? parsed.data : null;
}

export async function saveLastSelection(session: StorageArea, selection: LastSelection): Promise<void> {
  await session.set({ [LAST_SELECTION_KEY]: selection });
}

/** A tracked entry for each hash the server answered, keeping what an earlier refresh learnt about it. */
export function trackEntries(
  existing: readonly TrackedHash[],
  entries: readonly HashEntry[],
  serverUrl: string,
  now: string,
): TrackedHash[] {
  const fresh = entries.map((entry): TrackedHash => {
    const previous = existing.find((item) => item.serverUrl === serverUrl && item.hash === entry.hash);
    return {
      hash: entry.hash,
      type: entry.type,
      serverUrl,
      requestId: entry.id,
      state: entry.state,
      sha256: entry.sha256 ?? previous?.sha256 ?? null,
      fileType: previous?.fileType ?? null,
      analysisState: previous?.analysisState ?? null,
      message: null,
      submittedAt: now,
      updatedAt: now,
    };
  });
  return mergeTracked(existing, fresh);
}

/** Newest first, one entry per (server, hash), at most MAX_TRACKED. */
export function mergeTracked(existing: readonly TrackedHash[], fresh: readonly TrackedHash[]): TrackedHash[] {
  const key = (item: TrackedHash): string => `${item.serverUrl}\n${item.hash}`;
  const freshKeys = new Set(fresh.map(key));
  return [...fresh, ...existing.filter((item) => !freshKeys.has(key(item)))].slice(0, MAX_TRACKED);
}
