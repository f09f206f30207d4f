/** The two manifests built from one description: Chrome (service worker) and Firefox (event page + Gecko id). */

export type BrowserTarget = 'chrome' | 'firefox';
export const BROWSER_TARGETS: readonly BrowserTarget[] = ['chrome', 'firefox'];

export const GECKO_ID = 'extension@malpipe.invalid';

export interface Manifest {
  readonly manifest_version: 3;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly permissions: readonly string[];
  readonly optional_host_permissions: readonly string[];
  readonly background: { readonly service_worker: string } | { readonly scripts: readonly string[] };
  readonly action: { readonly default_popup: string; readonly default_title: string };
  readonly options_ui: { readonly page: string; readonly open_in_tab: boolean };
  readonly content_security_policy: { readonly extension_pages: string };
  readonly browser_specific_settings?: {
    readonly gecko: {
      readonly id: string;
      readonly strict_min_version: string;
      readonly data_collection_permissions: { readonly required: readonly string[] };
    };
  };
}

/**
 * No host permission at install: `optional_host_permissions` covers any http(s) server, and the options page
 * requests the configured server's origin only. No content script, no `tabs`: the context menu hands the
 * selection to the worker. Firefox MV3 has no service workers for extensions, so it gets
 * `background.scripts` (the same bundle runs as an event page) and a fixed Gecko id (storage and permissions
 * are keyed by it).
 */
export function buildManifest(target: BrowserTarget, version: string): Manifest {
  const common = {
    manifest_version: 3,
    name: 'malpipe',
    version,
    description: 'Submit the hashes in selected text to your malpipe server and follow their analysis.',
    permissions: ['contextMenus', 'storage'],
    optional_host_permissions: ['https://*/*', 'http://*/*'],
    action: { default_popup: 'popup.html', default_title: 'malpipe' },
    options_ui: { page: 'options.html', open_in_tab: true },
    content_security_policy: { extension_pages: "script-src 'self'; object-src 'none'; base-uri 'none'" },
  } as const;
  if (target === 'chrome') return { ...common, background: { service_worker: 'background.js' } };
  return {
    ...common,
    background: { scripts: ['background.js'] },
    browser_specific_settings: {
      gecko: { id: GECKO_ID, strict_min_version: '128.0', data_collection_permissions: { required: ['none'] } },
    },
  };
}
