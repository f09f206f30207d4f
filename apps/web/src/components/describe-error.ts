import { ApiError } from '@malpipe/api-client';

/** What to tell the user about a failed call: the server's code and message, with a hint for the usual cases. */
export function describeError(error: unknown): { code: string; message: string; hint: string | null } {
  if (error instanceof ApiError) {
    const hint =
      error.status === 403
        ? 'Your token’s role does not allow this. Ask an admin for a token with the needed role.'
        : error.status === 404
          ? 'Nothing here: check the hash or id.'
          : error.status === 429
            ? 'Rate limit reached: wait a minute and try again.'
            : error.code === 'NETWORK_FAILED'
              ? 'The malpipe server could not be reached. Is `malpipe serve` running?'
              : null;
    return { code: error.code, message: error.message, hint };
  }
  if (error instanceof Error) return { code: error.name, message: error.message, hint: null };
  return { code: 'ERROR', message: String(error), hint: null };
}
