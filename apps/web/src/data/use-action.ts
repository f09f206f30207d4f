import { useCallback, useRef, useState } from 'react';
import type { ApiClient } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';

export interface Action<A extends readonly unknown[], T> {
  /** What the last run returned, until the next run starts. */
  readonly result: T | null;
  readonly error: unknown;
  readonly pending: boolean;
  run(...args: A): void;
}

/**
 * A state-changing API call started by a button or form (deploy, rollback, probe): one at a time, its result
 * or error kept for display, `onDone` called after success (e.g. to reload the page's data). A 401 ends the
 * session as for reads.
 */
export function useAction<A extends readonly unknown[], T>(
  call: (api: ApiClient, ...args: A) => Promise<T>,
  onDone?: (result: T) => void,
): Action<A, T> {
  const { api, reportError } = useSession();
  const [state, setState] = useState<{ result: T | null; error: unknown; pending: boolean }>({ result: null, error: null, pending: false });
  const callRef = useRef(call);
  callRef.current = call;
  const doneRef = useRef(onDone);
  doneRef.current = onDone;
  const busy = useRef(false);

  const run = useCallback(
    (...args: A) => {
      if (busy.current) return;
      busy.current = true;
      setState({ result: null, error: null, pending: true });
      callRef.current(api, ...args).then(
        (result) => {
          busy.current = false;
          setState({ result, error: null, pending: false });
          doneRef.current?.(result);
        },
        (error: unknown) => {
          busy.current = false;
          setState({ result: null, error: reportError(error), pending: false });
        },
      );
    },
    [api, reportError],
  );
  return { ...state, run };
}
