import { z } from 'zod';
import { MAX_SELECTION_CHARS } from './selection-limits.js';

/**
 * Messages from the extension's pages (popup, options) to the background worker, which alone talks to the
 * server. Every message is validated on arrival; the reply type is fixed per message type by `Results`.
 */
export const MessageSchema = z.discriminatedUnion('type', [
  /** The same path as the context menu: extract, submit, track. */
  z.object({ type: z.literal('submit-text'), text: z.string().max(MAX_SELECTION_CHARS) }),
  z.object({ type: z.literal('get-state') }),
  /** Asks the server for the state of every pending hash, then returns the state. */
  z.object({ type: z.literal('refresh') }),
  z.object({ type: z.literal('clear') }),
  /** Health check of the configured server, and whether the host permission is granted. */
  z.object({ type: z.literal('check-server') }),
]);
export type Message = z.infer<typeof MessageSchema>;
