import type { Message } from './message-schema.js';
import type { LastSelection, TrackedHash } from './tracked-hashes.js';

export type { Message };
export type MessageType = Message['type'];

export interface PopupState {
  /** Null until the options page has been saved. */
  readonly serverUrl: string | null;
  readonly tracked: readonly TrackedHash[];
  readonly lastSelection: LastSelection | null;
}

export type SubmitOutcome =
  | { readonly ok: true; readonly submitted: number; readonly indicators: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface ServerCheck {
  readonly serverUrl: string;
  readonly version: string;
}

export interface Results {
  'submit-text': SubmitOutcome;
  'get-state': PopupState;
  refresh: PopupState;
  clear: PopupState;
  'check-server': ServerCheck;
}

export type Reply<T extends MessageType> =
  | { readonly ok: true; readonly result: Results[T] }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** A failure reported back to the page that sent the message. */
export class MessageError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'MessageError';
    this.code = code;
  }
}

/**
 * Sends a message to the background worker and unwraps the reply. `send` is `chrome.runtime.sendMessage`
 * (injected so pages and tests share this code); the reply comes from this extension's own worker.
 */
export async function sendMessage<M extends Message>(
  send: (message: Message) => Promise<unknown>,
  message: M,
): Promise<Results[M['type']]> {
  const reply = (await send(message)) as Reply<M['type']> | undefined;
  if (reply === undefined) throw new MessageError('NO_REPLY', 'the background worker did not answer');
  if (!reply.ok) throw new MessageError(reply.error.code, reply.error.message);
  return reply.result;
}
