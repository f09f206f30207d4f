import type { HashRequest } from '@malpipe/api-client';

/**
 * Hash request states that will still change: waiting for or being fetched from a source, or stored and
 * waiting for its analysis (`fetched`, `known`). `not-found`, `analysed` and `failed` are final.
 */
export function isPendingHashState(state: HashRequest['state']): boolean {
  return state === 'queued' || state === 'fetching' || state === 'fetched' || state === 'known';
}
