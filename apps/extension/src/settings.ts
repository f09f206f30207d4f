import type { StorageArea } from './storage-area.js';

/** Where the extension sends hashes. Kept in `storage.local` only: never synced, never in a content script. */
export interface Settings {
  /** Normalised server URL without a trailing slash, e.g. `https://malpipe.cert.example` (see normaliseServerUrl). */
  readonly serverUrl: string;
  /** An API token (role submitter or above). */
  readonly token: string;
}

export const SETTINGS_KEY = 'settings';


export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/**
 * Checks and normalises what a user typed as the server URL: http or https only, no credentials, no query or
 * fragment; a path prefix (a reverse proxy's `/malpipe`) is kept, the trailing slash dropped. Plain http is
 * accepted (a lab server on loopback) but the options page warns about it.
 */
export function normaliseServerUrl(input: string): string {
  const trimmed = input.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new SettingsError(`not a URL: "${trimmed}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SettingsError('the server URL must start with https:// or http://');
  if (url.username !== '' || url.password !== '') throw new SettingsError('put the token in the token field, not in the URL');
  if (url.search !== '' || url.hash !== '') throw new SettingsError('the server URL takes no query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The one host permission the extension asks for: the server's origin (scheme, host and port). */
export function serverOriginPattern(serverUrl: string): string {
  return `${new URL(serverUrl).origin}/*`;
}

export async function loadSettings(local: StorageArea): Promise<Settings | null> {
  const stored = await local.get([SETTINGS_KEY]);
  const value = stored[SETTINGS_KEY];
  if (typeof value !== 'object' || value === null) return null;
  const { serverUrl, token } = value as Record<string, unknown>;
  return typeof serverUrl === 'string' && serverUrl !== '' && typeof token === 'string' && token !== ''
    ? { serverUrl, token }
    : null;
}

/** Validates and stores the settings in `local` (the caller passes `chrome.storage.local`, never `sync`). */
export async function saveSettings(local: StorageArea, input: { serverUrl: string; token: string }): Promise<Settings> {
  const token = input.token.trim();
  if (token === '') throw new SettingsError('the API token is empty');
  if (/\s/.test(token)) throw new SettingsError('the API token contains white space');
  const settings: Settings = { serverUrl: normaliseServerUrl(input.serverUrl), token };
  await local.set({ [SETTINGS_KEY]: settings });
  return settings;
}
