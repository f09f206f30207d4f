/** The options page: server URL and token (in `storage.local` only), and the host permission for that server. */
import { sendMessage, type Message } from './messages.js';
import { loadSettings, normaliseServerUrl, saveSettings, serverOriginPattern, SettingsError } from './settings.js';

const send = (message: Message): Promise<unknown> => chrome.runtime.sendMessage(message);

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`options.html lacks ${selector}`);
  return found;
}

const form = element<HTMLFormElement>('#settings');
const serverInput = element<HTMLInputElement>('#server-url');
const tokenInput = element<HTMLInputElement>('#token');
const status = element<HTMLParagraphElement>('#status');

function show(text: string, kind: 'ok' | 'error' | 'muted'): void {
  status.textContent = text;
  status.className = kind;
}

async function save(serverUrl: string, granted: Promise<boolean>): Promise<void> {
  if (!(await granted)) {
    show(`Access to ${serverUrl} was not granted; the extension cannot reach the server without it.`, 'error');
    return;
  }
  const previous = await loadSettings(chrome.storage.local);
  const token = tokenInput.value.trim() === '' && previous !== null ? previous.token : tokenInput.value;
  const settings = await saveSettings(chrome.storage.local, { serverUrl, token });
  tokenInput.value = '';
  // Give back the previous server's permission: the extension holds access to one server at a time.
  if (previous !== null && serverOriginPattern(previous.serverUrl) !== serverOriginPattern(settings.serverUrl)) {
    await chrome.permissions.remove({ origins: [serverOriginPattern(previous.serverUrl)] });
  }
  show('Saved. Testing the server…', 'muted');
  const check = await sendMessage(send, { type: 'check-server' });
  const warning = check.serverUrl.startsWith('http:') && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(`${check.serverUrl}/`)
    ? ' Warning: plain http sends the token unencrypted.'
    : '';
  show(`Connected to malpipe ${check.version} at ${check.serverUrl}.${warning}`, 'ok');
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  let serverUrl: string;
  try {
    serverUrl = normaliseServerUrl(serverInput.value);
  } catch (error) {
    show(error instanceof SettingsError ? error.message : String(error), 'error');
    return;
  }
  // permissions.request needs the user gesture: it is called here, synchronously in the submit handler.
  const granted = chrome.permissions.request({ origins: [serverOriginPattern(serverUrl)] });
  show(`Asking for access to ${new URL(serverUrl).origin}…`, 'muted');
  save(serverUrl, granted).catch((error: unknown) => show(error instanceof Error ? error.message : String(error), 'error'));
});

void loadSettings(chrome.storage.local).then((settings) => {
  if (settings === null) return;
  serverInput.value = settings.serverUrl;
  // The token is not shown again; leaving the field as it is keeps the stored one.
  tokenInput.placeholder = 'stored (type a new token to replace it)';
  tokenInput.required = false;
});
