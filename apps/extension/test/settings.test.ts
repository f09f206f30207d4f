import { describe, expect, it } from 'vitest';
import { SETTINGS_KEY, SettingsError, loadSettings, normaliseServerUrl, saveSettings, serverOriginPattern } from '../src/settings.ts';
import { MemoryStorageArea } from '../src/storage-area.ts';

describe(normaliseServerUrl.name, () => {
  it.each([
    ['https://malpipe.cert.example/', 'https://malpipe.cert.example'],
    ['  https://malpipe.cert.example  ', 'https://malpipe.cert.example'],
    ['https://MALPIPE.cert.example:8443/malpipe//', 'https://malpipe.cert.example:8443/malpipe'],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
  ])('%s -> %s', (input, expected) => {
    expect(normaliseServerUrl(input)).toBe(expected);
  });

  it.each([
    ['not a url', /not a URL/],
    ['ftp://malpipe.cert.example', /https:\/\/ or http:\/\//],
    ['javascript:alert(1)', /https:\/\/ or http:\/\//],
    ['https://user:secret@malpipe.cert.example', /token field/],
    ['https://malpipe.cert.example/?token=x', /no query/],
  ])('refuses %s', (input, message) => {
    expect(() => normaliseServerUrl(input)).toThrow(SettingsError);
    expect(() => normaliseServerUrl(input)).toThrow(message);
  });
});

describe(serverOriginPattern.name, () => {
  it('asks for the server origin only, port included, path dropped', () => {
    expect(serverOriginPattern('https://malpipe.cert.example:8443/malpipe')).toBe('https://malpipe.cert.example:8443/*');
    expect(serverOriginPattern('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787/*');
  });
});

describe(saveSettings.name, () => {
  it('stores the normalised URL and the trimmed token, and loads them back', async () => {
    const local = new MemoryStorageArea();
    await saveSettings(local, { serverUrl: 'https://malpipe.cert.example/', token: ' mp_secret \n' });
    expect(local.snapshot()).toEqual({ [SETTINGS_KEY]: { serverUrl: 'https://malpipe.cert.example', token: 'mp_secret' } });
    expect(await loadSettings(local)).toEqual({ serverUrl: 'https://malpipe.cert.example', token: 'mp_secret' });
  });

  it.each([
    ['', /empty/],
    ['mp_a b', /white space/],
  ])('refuses the token %j and stores nothing', async (token, message) => {
    const local = new MemoryStorageArea();
    await expect(saveSettings(local, { serverUrl: 'https://malpipe.cert.example', token })).rejects.toThrow(message);
    expect(local.snapshot()).toEqual({});
  });

  it('reads damaged settings as not configured', async () => {
    const local = new MemoryStorageArea();
    await local.set({ [SETTINGS_KEY]: { serverUrl: 'https://x.example', token: 42 } });
    expect(await loadSettings(local)).toBeNull();
  });
});
