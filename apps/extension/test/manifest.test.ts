import { describe, expect, it } from 'vitest';
import { GECKO_ID, buildManifest } from '../src/manifest.ts';

describe(buildManifest.name, () => {
  it.each(['chrome', 'firefox'] as const)('%s: MV3, no host permission at install, optional http(s) hosts', (target) => {
    const manifest = buildManifest(target, '1.2.3');
    expect(manifest.manifest_version).toBe(3);
    expect(manifest.version).toBe('1.2.3');
    expect(manifest).not.toHaveProperty('host_permissions');
    expect(manifest).not.toHaveProperty('content_scripts');
    expect(manifest.permissions).toEqual(['contextMenus', 'storage']);
    expect(manifest.optional_host_permissions).toEqual(['https://*/*', 'http://*/*']);
    expect(manifest.content_security_policy.extension_pages).toContain("script-src 'self'");
  });

  it('chrome: a service worker, no Gecko settings', () => {
    const manifest = buildManifest('chrome', '1.0.0');
    expect(manifest.background).toEqual({ service_worker: 'background.js' });
    expect(manifest.browser_specific_settings).toBeUndefined();
  });

  it('firefox: background.scripts and a fixed Gecko id', () => {
    const manifest = buildManifest('firefox', '1.0.0');
    expect(manifest.background).toEqual({ scripts: ['background.js'] });
    expect(manifest.browser_specific_settings?.gecko.id).toBe(GECKO_ID);
    expect(manifest.browser_specific_settings?.gecko.data_collection_permissions.required).toEqual(['none']);
  });
});
