/** The MV3 background worker: context menu, messages from the pages, and every request to the server. */
import { createApiClient } from '@malpipe/api-client';
import { createBackground } from './background-service.js';
import type { SubmitOutcome } from './messages.js';
import { serverOriginPattern } from './settings.js';

export const MENU_ID = 'malpipe-submit';

const background = createBackground({
  local: chrome.storage.local,
  session: chrome.storage.session,
  createApi: (settings) => createApiClient({ baseUrl: settings.serverUrl, token: settings.token }),
  hasServerPermission: (serverUrl) => chrome.permissions.contains({ origins: [serverOriginPattern(serverUrl)] }),
});

/**
 * The context menu's click handler. Also reachable from the worker's global scope as
 * `malpipe.onContextMenuClicked`, because browser menus cannot be clicked by test automation: the end-to-end
 * test calls this very function (and checks it is the registered listener).
 */
async function onContextMenuClicked(info: chrome.contextMenus.OnClickData): Promise<void> {
  if (info.menuItemId !== MENU_ID) return;
  const outcome = await background.submitText(info.selectionText ?? '');
  await showOutcome(outcome).catch((error: unknown) => console.error('malpipe: cannot update the badge', error));
}

async function showOutcome(outcome: SubmitOutcome): Promise<void> {
  if (outcome.ok) {
    await chrome.action.setBadgeBackgroundColor({ color: '#1f6feb' });
    await chrome.action.setBadgeText({ text: outcome.submitted > 0 ? String(outcome.submitted) : '' });
  } else {
    await chrome.action.setBadgeBackgroundColor({ color: '#d1242f' });
    await chrome.action.setBadgeText({ text: '!' });
    if (outcome.code === 'NOT_CONFIGURED' || outcome.code === 'NO_PERMISSION') await chrome.runtime.openOptionsPage();
  }
}

// Listeners are registered synchronously at the top level, so a restarted worker still receives the event.
chrome.runtime.onInstalled.addListener(() => {
  // Re-creating an existing id throws; removeAll first makes updates and reloads safe.
  chrome.contextMenus.removeAll(() => {
    chrome.contextMenus.create({ id: MENU_ID, title: 'Submit hashes to malpipe', contexts: ['selection'] });
  });
});

// submitText never rejects and showOutcome's failures are caught, so the returned promise cannot reject.
chrome.contextMenus.onClicked.addListener(onContextMenuClicked);

chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
  // Only this extension's own pages (popup, options); there is no externally_connectable and no content script.
  if (sender.id !== chrome.runtime.id || !(sender.url ?? '').startsWith(chrome.runtime.getURL(''))) return false;
  void background.handleMessage(message).then(sendResponse);
  return true; // the reply is sent asynchronously
});

Object.assign(globalThis, { malpipe: Object.freeze({ onContextMenuClicked }) });
