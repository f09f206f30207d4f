import { ConfigQuerySchema, type ConfigQuery } from '@malpipe/api-client';

/**
 * The Cobalt Strike config search form <-> the page URL (`/cobaltstrike/configs?watermark=...&cursor=...`) <->
 * the API query. Fields are kept as typed text; the API's own schema (ConfigQuerySchema) validates them, so the
 * form rejects exactly what the server would.
 */

export const CONFIG_FILTER_FIELDS = ['watermark', 'c2', 'publicKeyMd5', 'version'] as const;
export type ConfigFilterField = (typeof CONFIG_FILTER_FIELDS)[number];
export type ConfigFilters = Readonly<Record<ConfigFilterField, string>>;

export const EMPTY_CONFIG_FILTERS: ConfigFilters = { watermark: '', c2: '', publicKeyMd5: '', version: '' };
export const CONFIG_PAGE_SIZE = 50;

export interface ConfigSearchState {
  readonly filters: ConfigFilters;
  /** The page's cursor (from the previous page's nextCursor), or null for the first page. */
  readonly cursor: string | null;
}

export function configSearchFromUrl(search: string): ConfigSearchState {
  const params = new URLSearchParams(search);
  const filters = Object.fromEntries(CONFIG_FILTER_FIELDS.map((field) => [field, (params.get(field) ?? '').trim()])) as Record<ConfigFilterField, string>;
  const cursor = params.get('cursor');
  return { filters, cursor: cursor === null || cursor === '' ? null : cursor };
}

/** The query string for a search state (empty fields left out), '' when there is nothing to say. */
export function configSearchToUrl(state: ConfigSearchState): string {
  const params = new URLSearchParams();
  for (const field of CONFIG_FILTER_FIELDS) {
    const value = state.filters[field].trim();
    if (value !== '') params.set(field, value);
  }
  if (state.cursor !== null) params.set('cursor', state.cursor);
  return params.toString();
}

export type ConfigQueryResult =
  | { readonly ok: true; readonly query: ConfigQuery }
  | { readonly ok: false; readonly errors: Partial<Record<ConfigFilterField, string>> };

const FIELD_HINTS: Readonly<Record<ConfigFilterField, string>> = {
  watermark: 'a whole number from 0 to 4294967295',
  c2: 'a host name or address, at most 255 characters',
  publicKeyMd5: '32 hex digits',
  version: 'a version such as 4.9, at most 16 characters',
};

/** The API query for a search state, or a message per field the server would refuse. */
export function toConfigQuery(state: ConfigSearchState, limit = CONFIG_PAGE_SIZE): ConfigQueryResult {
  const input: Record<string, string | number> = { limit };
  for (const field of CONFIG_FILTER_FIELDS) {
    const value = state.filters[field].trim();
    // z.coerce would read "" or "1e3" as a number: only plain digits count as a watermark.
    if (value !== '') input[field] = field === 'watermark' && !/^\d+$/.test(value) ? Number.NaN : value;
  }
  if (state.cursor !== null) input.cursor = state.cursor;
  const parsed = ConfigQuerySchema.safeParse(input);
  if (parsed.success) return { ok: true, query: parsed.data };
  const errors: Partial<Record<ConfigFilterField, string>> = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if (typeof field === 'string' && (CONFIG_FILTER_FIELDS as readonly string[]).includes(field)) {
      errors[field as ConfigFilterField] = FIELD_HINTS[field as ConfigFilterField];
    }
  }
  return { ok: false, errors };
}

export function hasFilters(filters: ConfigFilters): boolean {
  return CONFIG_FILTER_FIELDS.some((field) => filters[field].trim() !== '');
}
