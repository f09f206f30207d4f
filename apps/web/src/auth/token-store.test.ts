import { describe, expect, it } from 'vitest';
import { TOKEN_KEY, clearToken, loadToken, normalizeToken, saveToken, type StorageLike, type TokenStores } from './token-store.js';

class MapStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

function stores(): TokenStores & { session: MapStorage; local: MapStorage } {
  return { session: new MapStorage(), local: new MapStorage() };
}

describe('token store', () => {
  it('keeps the token in sessionStorage unless asked to remember', () => {
    const s = stores();
    saveToken(s, ' mp_secret ', false);
    expect(s.session.getItem(TOKEN_KEY)).toBe('mp_secret');
    expect(s.local.getItem(TOKEN_KEY)).toBeNull();
    expect(loadToken(s)).toEqual({ token: 'mp_secret', remembered: false });
  });
  it('remembers in localStorage and drops the session copy', () => {
    const s = stores();
    saveToken(s, 'old', false);
    saveToken(s, 'mp_new', true);
    expect(s.session.getItem(TOKEN_KEY)).toBeNull();
    expect(loadToken(s)).toEqual({ token: 'mp_new', remembered: true });
  });
  it('forgets everywhere on sign-out', () => {
    const s = stores();
    s.session.setItem(TOKEN_KEY, 'a');
    s.local.setItem(TOKEN_KEY, 'b');
    clearToken(s);
    expect(loadToken(s)).toBeNull();
  });
  it('refuses empty tokens and missing storage', () => {
    expect(() => saveToken(stores(), '  Bearer  ', false)).toThrow('empty');
    expect(() => saveToken({ session: null, local: new MapStorage() }, 'x', false)).toThrow('sessionStorage');
  });
  it('survives storage that throws', () => {
    const broken: StorageLike = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => undefined,
      removeItem: () => {
        throw new Error('denied');
      },
    };
    expect(loadToken({ session: broken, local: broken })).toBeNull();
    expect(() => clearToken({ session: broken, local: broken })).not.toThrow();
  });
  it.each([
    ['mp_abc', 'mp_abc'],
    ['  Bearer mp_abc\n', 'mp_abc'],
    ['Authorization: Bearer mp_abc', 'mp_abc'],
  ])('normalizes %j', (text, token) => {
    expect(normalizeToken(text)).toBe(token);
  });
});
