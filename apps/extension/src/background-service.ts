import { ApiError, type ApiClient } from '@malpipe/api-client';
import { extractSelection } from './indicators.js';
import { MessageSchema, type Message } from './message-schema.js';
import type { PopupState, Reply, Results, ServerCheck, SubmitOutcome } from './messages.js';
import { loadSettings, type Settings } from './settings.js';
import type { StorageArea } from './storage-area.js';
import { PENDING_STATES } from './tracked-state.js';
import {
  loadLastSelection,
  loadTracked,
  saveLastSelection,
  saveTracked,
  trackEntries,
  type TrackedHash,
} from './tracked-hashes.js';

/** The calls the extension makes; `createApiClient` from @malpipe/api-client provides them. */
export type ExtensionApi = Pick<ApiClient, 'health' | 'submitHashes' | 'getHashRequest' | 'getSample'>;

export interface BackgroundDeps {
  /** `chrome.storage.local`: settings (with the token) and submitted hashes. */
  readonly local: StorageArea;
  /** `chrome.storage.session`: what the last selection contained. */
  readonly session: StorageArea;
  readonly createApi: (settings: Settings) => ExtensionApi;
  /** Whether the host permission for the server is granted (`chrome.permissions.contains`). */
  readonly hasServerPermission: (serverUrl: string) => Promise<boolean>;
  readonly now?: () => Date;
}

/** Hashes refreshed per popup refresh; the rest wait for the next one. */
export const REFRESH_BATCH = 25;

export interface Background {
  submitText(text: string): Promise<SubmitOutcome>;
  refresh(): Promise<PopupState>;
  getState(): Promise<PopupState>;
  clear(): Promise<PopupState>;
  checkServer(): Promise<ServerCheck>;
  /** Validates a message from one of the extension's pages and runs it; never throws. */
  handleMessage(message: unknown): Promise<Reply<Message['type']>>;
}

/**
 * The background worker's logic, apart from the `chrome.*` wiring in background.ts. Operations run one at a
 * time (a submit and a refresh would otherwise overwrite each other's storage writes), and all state is in
 * storage, because Chrome stops an idle MV3 worker after 30 s.
 */
export function createBackground(deps: BackgroundDeps): Background {
  const now = (): string => (deps.now ?? (() => new Date()))().toISOString();
  let queue: Promise<unknown> = Promise.resolve();
  function serialised<T>(operation: () => Promise<T>): Promise<T> {
    const run = queue.then(operation, operation);
    queue = run.catch(() => undefined);
    return run;
  }

  async function getState(): Promise<PopupState> {
    const [settings, tracked, lastSelection] = await Promise.all([
      loadSettings(deps.local),
      loadTracked(deps.local),
      loadLastSelection(deps.session),
    ]);
    return { serverUrl: settings?.serverUrl ?? null, tracked, lastSelection };
  }

  async function requireSettings(): Promise<Settings> {
    const settings = await loadSettings(deps.local);
    if (settings === null) throw new ApiError('NOT_CONFIGURED', 0, 'set the server URL and token on the options page first');
    if (!(await deps.hasServerPermission(settings.serverUrl)))
      throw new ApiError('NO_PERMISSION', 0, `access to ${settings.serverUrl} is not granted: save the options page again`);
    return settings;
  }

  async function submitText(text: string): Promise<SubmitOutcome> {
    const selection = extractSelection(text);
    const at = now();
    const record = (error: string | null): Promise<void> =>
      saveLastSelection(deps.session, {
        at,
        hashCount: selection.hashes.length,
        indicators: selection.indicators.map((indicator) => ({ ...indicator, flags: [...indicator.flags] })),
        error,
      });
    try {
      const settings = await requireSettings();
      if (selection.hashes.length === 0) {
        await record(null);
        return { ok: true, submitted: 0, indicators: selection.indicators.length };
      }
      const entries = await deps.createApi(settings).submitHashes({ hashes: selection.hashes.map((item) => item.hash) });
      await saveTracked(deps.local, trackEntries(await loadTracked(deps.local), entries, settings.serverUrl, at));
      await record(null);
      return { ok: true, submitted: entries.length, indicators: selection.indicators.length };
    } catch (error) {
      const { code, message } = describeError(error);
      await record(`${code}: ${message}`);
      return { ok: false, code, message };
    }
  }

  async function refresh(): Promise<PopupState> {
    const settings = await requireSettings();
    const api = deps.createApi(settings);
    const tracked = await loadTracked(deps.local);
    const due = tracked.filter((item) => item.serverUrl === settings.serverUrl && needsRefresh(item)).slice(0, REFRESH_BATCH);
    const updated = new Map<TrackedHash, TrackedHash>();
    for (const item of due) {
      try {
        updated.set(item, await refreshOne(api, item, now()));
      } catch (error) {
        const { code, message } = describeError(error);
        // The server is unreachable: the other hashes would fail the same way.
        if (code === 'NETWORK_FAILED' || code === 'UNAUTHORIZED') throw error;
        updated.set(item, { ...item, message: `${code}: ${message}`, updatedAt: now() });
      }
    }
    await saveTracked(deps.local, tracked.map((item) => updated.get(item) ?? item));
    return getState();
  }

  async function clear(): Promise<PopupState> {
    await saveTracked(deps.local, []);
    await deps.session.remove(['lastSelection']);
    return getState();
  }

  async function checkServer(): Promise<ServerCheck> {
    const settings = await requireSettings();
    const health = await deps.createApi(settings).health();
    return { serverUrl: settings.serverUrl, version: health.version };
  }

  async function run(message: Message): Promise<Results[Message['type']]> {
    switch (message.type) {
      case 'submit-text':
        return serialised(() => submitText(message.text));
      case 'get-state':
        return getState();
      case 'refresh':
        return serialised(refresh);
      case 'clear':
        return serialised(clear);
      case 'check-server':
        return checkServer();
    }
  }

  return {
    submitText: (text) => serialised(() => submitText(text)),
    refresh: () => serialised(refresh),
    getState,
    clear: () => serialised(clear),
    checkServer,
    async handleMessage(raw) {
      const parsed = MessageSchema.safeParse(raw);
      if (!parsed.success) return { ok: false, error: { code: 'BAD_MESSAGE', message: parsed.error.message } };
      try {
        return { ok: true, result: await run(parsed.data) };
      } catch (error) {
        return { ok: false, error: describeError(error) };
      }
    },
  };
}

function needsRefresh(item: TrackedHash): boolean {
  if (item.requestId === null) return false;
  if (PENDING_STATES.has(item.state)) return true;
  // Analysed: one more look to learn the file type and the analysis outcome.
  return item.state === 'analysed' && (item.fileType === null || item.analysisState === null || !isFinalAnalysis(item.analysisState));
}

function isFinalAnalysis(state: string): boolean {
  return state === 'completed' || state === 'failed';
}

async function refreshOne(api: ExtensionApi, item: TrackedHash, at: string): Promise<TrackedHash> {
  if (item.requestId === null) return item;
  const request = await api.getHashRequest(item.requestId);
  let next: TrackedHash = {
    ...item,
    state: request.state,
    sha256: request.sha256 ?? item.sha256,
    message: request.errorMessage,
    updatedAt: at,
  };
  if (next.sha256 !== null && (request.state === 'fetched' || request.state === 'known' || request.state === 'analysed')) {
    const report = await api.getSample(next.sha256);
    const latest = [...report.analyses].sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    next = { ...next, fileType: report.sample.fileType.description, analysisState: latest?.state ?? null };
  }
  return next;
}

/** A code and a message safe to show (the token never appears in API errors). */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof ApiError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'INTERNAL', message: error.message };
  return { code: 'INTERNAL', message: String(error) };
}
