import { ApiError, createApiClient, type ApiClient } from '@malpipe/api-client';
import { AppError, ERROR_CODES, type ErrorCode } from '@malpipe/core';

/**
 * Where the client commands (submit, search, jobs) find the server: flags first, then MALPIPE_SERVER and
 * MALPIPE_TOKEN. The only place the CLI reads these variables.
 */
export const DEFAULT_SERVER = 'http://127.0.0.1:8787';

export interface ClientFlags {
  readonly server?: string | undefined;
  readonly token?: string | undefined;
}

export interface ClientSettings {
  readonly server: string;
  readonly token: string | undefined;
}

export function resolveClientSettings(
  flags: ClientFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ClientSettings {
  const server = flags.server ?? nonEmpty(env.MALPIPE_SERVER) ?? DEFAULT_SERVER;
  if (!/^https?:\/\/[^\s]+$/i.test(server)) {
    throw new AppError('CONFIG_INVALID', `--server / MALPIPE_SERVER must be an http(s) URL, got "${server}"`);
  }
  return { server, token: flags.token ?? nonEmpty(env.MALPIPE_TOKEN) };
}

export function createCliClient(flags: ClientFlags): ApiClient {
  const settings = resolveClientSettings(flags);
  if (settings.token === undefined) {
    throw new AppError(
      'UNAUTHORIZED',
      'no API token: pass --token or set MALPIPE_TOKEN (create one with `malpipe token create`)',
    );
  }
  return createApiClient({ baseUrl: settings.server, token: settings.token });
}

/** Runs an API call, turning ApiErrors into AppErrors so main.ts prints `malpipe: CODE: message`. */
export async function callApi<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const code: ErrorCode = error.code in ERROR_CODES ? (error.code as ErrorCode) : 'UPSTREAM_FAILED';
    const prefix = code === 'UPSTREAM_FAILED' && error.code !== code ? `${error.code}: ` : '';
    const hint =
      error.code === 'NETWORK_FAILED'
        ? ' (is the server running? start it with `npm start` / `malpipe serve`, or point --server / MALPIPE_SERVER at it)'
        : '';
    throw new AppError(code, `${prefix}${error.message}${hint}`, { cause: error });
  }
}

/** Commander collector for repeatable options (`--tag a --tag b`). */
export function collect(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
