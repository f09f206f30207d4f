import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, createApiClient, type ApiClient, type Me } from '@malpipe/api-client';
import { navigate } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { capabilitiesOf, UNKNOWN_CAPABILITIES, type Capabilities } from './capabilities.js';
import { browserTokenStores, clearToken, loadToken, normalizeToken, saveToken, type StoredToken } from './token-store.js';

/**
 * The signed-in state: the token, an API client sending it as `Authorization: Bearer`, and what the token
 * may do. Any 401 from any page ends the session and returns to sign-in with the server's reason.
 */

export interface Session {
  readonly token: string;
  readonly remembered: boolean;
  readonly api: ApiClient;
  /** The token as `GET /me` describes it; null until it answers. */
  readonly me: Me | null;
  readonly capabilities: Capabilities;
}

interface SessionContextValue {
  readonly session: Session | null;
  /** Why the user was sent back to sign-in (a refused token), shown there once. */
  readonly signInMessage: string | null;
  signIn(token: string, remember: boolean): Promise<void>;
  signOut(message?: string): void;
  /** Call with any error from an API call: a 401 ends the session; returns the error for display. */
  reportError(error: unknown): unknown;
}

const SessionContext = createContext<SessionContextValue | null>(null);

const stores = browserTokenStores();

function clientFor(token: string): ApiClient {
  return createApiClient({ baseUrl: '', token });
}

function currentPath(): string {
  return `${window.location.pathname}${window.location.search}`;
}

export function isUnauthorized(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}

export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const [stored, setStored] = useState<StoredToken | null>(() => loadToken(stores));
  const [me, setMe] = useState<Me | null>(null);
  const [signInMessage, setSignInMessage] = useState<string | null>(null);

  const signOut = useCallback((message?: string) => {
    clearToken(stores);
    setStored(null);
    setMe(null);
    setSignInMessage(message ?? null);
    const here = currentPath();
    navigate(paths.signIn(here.startsWith('/sign-in') || message === undefined ? undefined : here), { replace: true });
  }, []);

  const reportError = useCallback(
    (error: unknown) => {
      if (isUnauthorized(error) && error instanceof ApiError) {
        signOut(`Your token was refused (${error.code}: ${error.message}). Sign in again.`);
      }
      return error;
    },
    [signOut],
  );

  const signIn = useCallback(async (token: string, remember: boolean) => {
    const candidate = normalizeToken(token);
    if (candidate === '') throw new Error('Paste a token first.');
    const api = clientFor(candidate);
    // GET /me checks the token (any role may call it) and says what it may do.
    const found = await api.me();
    const saved = saveToken(stores, candidate, remember);
    setSignInMessage(null);
    setMe(found);
    setStored(saved);
  }, []);

  const api = useMemo(() => (stored === null ? null : clientFor(stored.token)), [stored]);

  useEffect(() => {
    if (api === null) return;
    let cancelled = false;
    api
      .me()
      .then((found) => {
        if (!cancelled) setMe(found);
      })
      .catch((error: unknown) => {
        if (!cancelled) reportError(error);
      });
    return () => {
      cancelled = true;
    };
  }, [api, reportError]);

  const capabilities = useMemo<Capabilities>(() => (me === null ? UNKNOWN_CAPABILITIES : capabilitiesOf(me)), [me]);

  const value = useMemo<SessionContextValue>(
    () => ({
      session:
        stored === null || api === null
          ? null
          : { token: stored.token, remembered: stored.remembered, api, me, capabilities },
      signInMessage,
      signIn,
      signOut,
      reportError,
    }),
    [stored, api, me, capabilities, signInMessage, signIn, signOut, reportError],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionContext(): SessionContextValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSessionContext outside SessionProvider');
  return value;
}

/** The signed-in session; only for pages rendered behind the sign-in gate. */
export function useSession(): Session & Pick<SessionContextValue, 'reportError' | 'signOut'> {
  const { session, reportError, signOut } = useSessionContext();
  if (session === null) throw new Error('useSession without a session');
  return { ...session, reportError, signOut };
}
