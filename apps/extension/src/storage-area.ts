/**
 * The slice of `chrome.storage.StorageArea` this extension calls, so the logic runs against an in-memory fake
 * in unit tests. `chrome.storage.local` and `chrome.storage.session` satisfy it; `storage.sync` is never
 * passed anywhere (the token must not leave the device).
 */
export interface StorageArea {
  get(keys: string[]): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string[]): Promise<void>;
}

/** An in-memory StorageArea (tests, and a stand-in where a browser lacks `storage.session`). */
export class MemoryStorageArea implements StorageArea {
  readonly #items = new Map<string, unknown>();

  get(keys: string[]): Promise<Record<string, unknown>> {
    const result: Record<string, unknown> = {};
    for (const key of keys) if (this.#items.has(key)) result[key] = structuredClone(this.#items.get(key));
    return Promise.resolve(result);
  }

  set(items: Record<string, unknown>): Promise<void> {
    for (const [key, value] of Object.entries(items)) this.#items.set(key, structuredClone(value));
    return Promise.resolve();
  }

  remove(keys: string[]): Promise<void> {
    for (const key of keys) this.#items.delete(key);
    return Promise.resolve();
  }

  /** Everything stored, for assertions. */
  snapshot(): Record<string, unknown> {
    return Object.fromEntries(this.#items);
  }
}
