import type { HashRequest } from '@malpipe/api-client';

/** The server's hash-request states, plus `error` when the submission itself failed. */
export type TrackedState = HashRequest['state'] | 'error';

/** States that can still change on the server; the others are final. */
export const PENDING_STATES: ReadonlySet<TrackedState> = new Set<TrackedState>(['queued', 'fetching', 'fetched', 'known']);
