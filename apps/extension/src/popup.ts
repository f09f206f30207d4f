/** The toolbar popup: submitted hashes with their state and dashboard links, and the last selection's IoCs. */
import { sendMessage, type Message, type PopupState } from './messages.js';
import { describeTracked, shortHash, trackedLink } from './popup-view.js';
import { PENDING_STATES } from './tracked-state.js';

const POLL_MS = 3_000;

const send = (message: Message): Promise<unknown> => chrome.runtime.sendMessage(message);

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`popup.html lacks ${selector}`);
  return found;
}

function cell(row: HTMLTableRowElement, content: string | Node, className?: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.append(content);
  if (className !== undefined) td.className = className;
  return td;
}

function code(text: string, title?: string): HTMLElement {
  const node = document.createElement('code');
  node.textContent = text;
  if (title !== undefined) node.title = title;
  return node;
}

/** Everything shown comes from selections and the server: text nodes only, never HTML. */
function render(state: PopupState, problem: string | null): void {
  const status = element<HTMLParagraphElement>('#status');
  const hashes = element<HTMLTableElement>('#hashes');
  const body = hashes.tBodies[0];
  if (body === undefined) throw new Error('popup.html lacks the hashes tbody');
  body.replaceChildren();
  for (const item of state.tracked) {
    const row = body.insertRow();
    row.dataset.hash = item.hash;
    const hashCell = cell(row, code(shortHash(item.hash), item.hash));
    const type = document.createElement('span');
    type.className = 'muted';
    type.textContent = ` ${item.type}`;
    hashCell.append(type);
    const badge = document.createElement('span');
    badge.className = `state state-${item.state}`;
    badge.textContent = describeTracked(item);
    if (item.message !== null) badge.title = item.message;
    cell(row, badge);
    const link = document.createElement('a');
    link.href = trackedLink(item);
    link.target = '_blank';
    link.rel = 'noreferrer';
    link.textContent = item.fileType ?? 'open';
    cell(row, link);
  }
  hashes.hidden = state.tracked.length === 0;

  const section = element<HTMLElement>('#indicators');
  const indicatorBody = section.querySelector('tbody');
  if (indicatorBody === null) throw new Error('popup.html lacks the indicators tbody');
  indicatorBody.replaceChildren();
  for (const indicator of state.lastSelection?.indicators ?? []) {
    const row = indicatorBody.insertRow();
    cell(row, indicator.flags.length > 0 ? `${indicator.type} (${indicator.flags.join(', ')})` : indicator.type);
    // Shown as text, not as links: these come from whatever page the analyst was reading.
    cell(row, code(indicator.value));
  }
  section.hidden = indicatorBody.rows.length === 0;

  const lastError = state.lastSelection?.error ?? null;
  const messages: string[] = [];
  if (state.serverUrl === null) messages.push('Not configured: open Options to set the server URL and token.');
  if (problem !== null) messages.push(problem);
  if (lastError !== null) messages.push(`Last submission failed: ${lastError}`);
  if (messages.length === 0) {
    const pending = state.tracked.filter((item) => PENDING_STATES.has(item.state)).length;
    messages.push(
      state.tracked.length === 0
        ? 'Select text with hashes on a page, then right-click and choose "Submit hashes to malpipe".'
        : `${state.tracked.length} hash(es) on ${state.serverUrl ?? 'the server'}, ${pending} pending.`,
    );
  }
  status.textContent = messages.join(' ');
  status.className = problem !== null || lastError !== null || state.serverUrl === null ? 'error' : 'muted';
}

let timer: ReturnType<typeof setTimeout> | undefined;

async function refresh(): Promise<void> {
  clearTimeout(timer);
  let state: PopupState;
  let problem: string | null = null;
  try {
    state = await sendMessage(send, { type: 'refresh' });
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
    state = await sendMessage(send, { type: 'get-state' });
  }
  render(state, problem);
  if (problem === null && state.tracked.some((item) => PENDING_STATES.has(item.state))) timer = setTimeout(() => void refresh(), POLL_MS);
}

element<HTMLButtonElement>('#refresh').addEventListener('click', () => void refresh());
element<HTMLButtonElement>('#clear').addEventListener('click', () => {
  void sendMessage(send, { type: 'clear' }).then((state) => render(state, null));
});
element<HTMLButtonElement>('#options').addEventListener('click', () => void chrome.runtime.openOptionsPage());
void chrome.action.setBadgeText({ text: '' });
void refresh();
