import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';

export interface Resource<T> {
  readonly data: T | null;
  readonly error: unknown;
  /** True until the first answer (later refreshes keep showing the previous data). */
  readonly loading: boolean;
  reload(): void;
}

export interface ResourceOptions<T> {
  /** Milliseconds until the next refresh given the latest data, or null to stop (e.g. analysis finished). */
  readonly pollMs?: (data: T) => number | null;
}

/**
 * Loads something from the API for the page shown, again when `key` changes, and polls while `pollMs` says
 * so. A 401 ends the session (see SessionProvider); other errors are returned for the page to show.
 */
export function useResource<T>(key: string, load: (api: ApiClient) => Promise<T>, options: ResourceOptions<T> = {}): Resource<T> {
  const { api, reportError } = useSession();
  const [state, setState] = useState<{ key: string; data: T | null; error: unknown; loading: boolean }>({
    key,
    data: null,
    error: null,
    loading: true,
  });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const pollRef = useRef(options.pollMs);
  pollRef.current = options.pollMs;

  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((previous) => (previous.key === key ? previous : { key, data: null, error: null, loading: true }));
    const run = (): void => {
      loadRef.current(api).then(
        (data) => {
          if (cancelled) return;
          setState({ key, data, error: null, loading: false });
          const delay = pollRef.current?.(data) ?? null;
          if (delay !== null) timer = setTimeout(run, delay);
        },
        (error: unknown) => {
          if (cancelled) return;
          reportError(error);
          setState((previous) => ({ key, data: previous.key === key ? previous.data : null, error, loading: false }));
        },
      );
    };
    run();
    return () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api, key, generation, reportError]);

  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  const current = state.key === key ? state : { data: null, error: null, loading: true };
  return { data: current.data, error: current.error, loading: current.loading, reload };
}
