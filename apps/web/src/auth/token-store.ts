/**
 * Where the API token lives in the browser: `sessionStorage` by default (gone when the tab closes),
 * `localStorage` only when the user asks to be remembered. Saving in one clears the other, so there is never
 * a stale copy to fall back on after signing out.
 */

/** The slice of the Web Storage API used here (tests pass a Map-backed fake). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const TOKEN_KEY = 'malpipe.token';

export interface TokenStores {
  readonly session: StorageLike | null;
  readonly local: StorageLike | null;
}

export interface StoredToken {
  readonly token: string;
  readonly remembered: boolean;
}

function read(storage: StorageLike | null): string | null {
  try {
    const value = storage?.getItem(TOKEN_KEY) ?? null;
    return value === null || value.trim() === '' ? null : value;
  } catch {
    // Storage can throw (disabled cookies, sandboxed frames): no stored token then.
    return null;
  }
}

function remove(storage: StorageLike | null): void {
  try {
    storage?.removeItem(TOKEN_KEY);
  } catch {
    // Nothing stored that we could reach: nothing to remove.
  }
}

/** The stored token, the session's first. */
export function loadToken(stores: TokenStores): StoredToken | null {
  const session = read(stores.session);
  if (session !== null) return { token: session, remembered: false };
  const local = read(stores.local);
  return local === null ? null : { token: local, remembered: true };
}

/** Saves a token (trimmed; a pasted `Bearer ` prefix removed); throws when the chosen storage refuses it. */
export function saveToken(stores: TokenStores, token: string, remember: boolean): StoredToken {
  const clean = normalizeToken(token);
  if (clean === '') throw new Error('the token is empty');
  const target = remember ? stores.local : stores.session;
  if (target === null) throw new Error(`${remember ? 'localStorage' : 'sessionStorage'} is not available`);
  target.setItem(TOKEN_KEY, clean);
  remove(remember ? stores.session : stores.local);
  return { token: clean, remembered: remember };
}

export function clearToken(stores: TokenStores): void {
  remove(stores.session);
  remove(stores.local);
}

/** What a user may paste: surrounding blanks, a `Bearer ` prefix, a whole `Authorization:` header. */
export function normalizeToken(text: string): string {
  return text
    .trim()
    .replace(/^authorization:\s*/i, '')
    .replace(/^bearer(?:\s+|$)/i, '')
    .trim();
}

/** The browser's stores, each null when unavailable. */
export function browserTokenStores(): TokenStores {
  const get = (name: 'sessionStorage' | 'localStorage'): StorageLike | null => {
    try {
      return window[name];
    } catch {
      return null;
    }
  };
  return { session: get('sessionStorage'), local: get('localStorage') };
}
