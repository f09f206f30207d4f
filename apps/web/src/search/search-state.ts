import { MAX_SEARCH_LIMIT, type SearchQuery } from '@malpipe/api-client';

/**
 * The sample search as the dashboard holds it, and its three encodings: the URL query string (so searches are
 * linkable), the text of the one search box (`tag:phishing type:pe32 evil.exe`) and the API's `SearchQuery`.
 */

/** Explicit filters, in the order they are written back to the URL and the search box. */
export const SEARCH_FILTERS = ['hash', 'name', 'type', 'tag', 'yara', 'ioc', 'from', 'to'] as const;
export type SearchFilter = (typeof SEARCH_FILTERS)[number];
export type SearchFilters = Partial<Record<SearchFilter, string>>;

export const DEFAULT_PAGE_SIZE = 50;
export const PAGE_SIZES = [25, 50, 100, MAX_SEARCH_LIMIT] as const;

export interface SearchState {
  /** Free text: the API's `q` (any hash, IoC or word); empty for none. */
  readonly q: string;
  readonly filters: SearchFilters;
  readonly limit: number;
  /** The API cursor of the page shown; null for the first page. */
  readonly cursor: string | null;
}

export const EMPTY_SEARCH: SearchState = { q: '', filters: {}, limit: DEFAULT_PAGE_SIZE, cursor: null };

export type HashKind = 'md5' | 'sha1' | 'sha256' | 'sha512';
const HASH_KINDS_BY_LENGTH: Readonly<Record<number, HashKind>> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };

/** The kind of a hex digest (surrounding blanks ignored), or null when the text is not one. */
export function detectHash(text: string): HashKind | null {
  const value = text.trim();
  if (!/^[0-9a-fA-F]+$/.test(value)) return null;
  return HASH_KINDS_BY_LENGTH[value.length] ?? null;
}

function isSearchFilter(key: string): key is SearchFilter {
  return (SEARCH_FILTERS as readonly string[]).includes(key);
}

function parseLimit(raw: string | null): number {
  if (raw === null) return DEFAULT_PAGE_SIZE;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) return DEFAULT_PAGE_SIZE;
  return Math.min(value, MAX_SEARCH_LIMIT);
}

/** Reads `?q=...&tag=...&limit=...&cursor=...`; unknown parameters and empty values are ignored. */
export function parseSearchParams(input: string | URLSearchParams): SearchState {
  const params = typeof input === 'string' ? new URLSearchParams(input) : input;
  const filters: SearchFilters = {};
  for (const key of SEARCH_FILTERS) {
    const value = params.get(key)?.trim();
    if (value !== undefined && value !== '') filters[key] = value;
  }
  const cursor = params.get('cursor');
  return {
    q: params.get('q')?.trim() ?? '',
    filters,
    limit: parseLimit(params.get('limit')),
    cursor: cursor === null || cursor === '' ? null : cursor,
  };
}

/** The query string (without `?`) of a search, in a stable order; defaults are left out. */
export function toSearchParams(state: SearchState): string {
  const params = new URLSearchParams();
  if (state.q !== '') params.set('q', state.q);
  for (const key of SEARCH_FILTERS) {
    const value = state.filters[key];
    if (value !== undefined && value !== '') params.set(key, value);
  }
  if (state.limit !== DEFAULT_PAGE_SIZE) params.set('limit', String(state.limit));
  if (state.cursor !== null) params.set('cursor', state.cursor);
  return params.toString();
}

/** Splits on blanks, keeping double-quoted runs together (`name:"my file.exe"`), quotes removed. */
export function tokenizeSearchInput(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (const char of text) {
    if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (!quoted && /\s/.test(char)) {
      if (started) tokens.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) tokens.push(current);
  return tokens.filter((token) => token !== '');
}

export interface ParsedSearchInput {
  readonly q: string;
  readonly filters: SearchFilters;
  /** Problems to show beside the box; the search still runs with what was understood. */
  readonly problems: readonly string[];
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** A date filter value as the API wants it (ISO with offset): a day is widened to its first or last millisecond (UTC). */
export function toDateBound(value: string, bound: 'from' | 'to'): string | null {
  const text = value.trim();
  if (DATE_ONLY.test(text)) {
    const iso = `${text}T${bound === 'from' ? '00:00:00.000' : '23:59:59.999'}Z`;
    return Number.isNaN(Date.parse(iso)) || new Date(iso).toISOString().slice(0, 10) !== text ? null : iso;
  }
  if (DATE_TIME_WITH_OFFSET.test(text) && !Number.isNaN(Date.parse(text))) return text;
  return null;
}

/** Problems with filter values the API would refuse, e.g. a `hash:` that is not a hex digest. */
export function validateFilters(filters: SearchFilters): string[] {
  const problems: string[] = [];
  if (filters.hash !== undefined && detectHash(filters.hash) === null)
    problems.push(`hash: "${filters.hash}" is not an MD5, SHA-1, SHA-256 or SHA-512`);
  for (const bound of ['from', 'to'] as const) {
    const value = filters[bound];
    if (value !== undefined && toDateBound(value, bound) === null)
      problems.push(`${bound}: "${value}" is not a date (YYYY-MM-DD or ISO 8601 with a time zone)`);
  }
  return problems;
}

/**
 * Reads the search box: `key:value` tokens for the known filters, everything else is free text. Unknown
 * prefixes stay free text (`http://...`, `10.0.0.1:443`). A filter given twice keeps its last value.
 */
export function parseSearchInput(text: string): ParsedSearchInput {
  const words: string[] = [];
  const filters: SearchFilters = {};
  const problems: string[] = [];
  for (const token of tokenizeSearchInput(text)) {
    const colon = token.indexOf(':');
    const key = colon > 0 ? token.slice(0, colon).toLowerCase() : '';
    if (colon > 0 && isSearchFilter(key)) {
      const value = token.slice(colon + 1).trim();
      if (value === '') {
        problems.push(`${key}: has no value`);
        continue;
      }
      if (filters[key] !== undefined) problems.push(`${key}: given twice, using "${value}"`);
      filters[key] = value;
    } else {
      words.push(token);
    }
  }
  return { q: words.join(' '), filters, problems: [...problems, ...validateFilters(filters)] };
}

function quoteIfNeeded(value: string): string {
  return /[\s"]/.test(value) ? `"${value.replace(/"/g, '')}"` : value;
}

/** The search box text for a state: the inverse of `parseSearchInput` (filters first, then the free text). */
export function formatSearchInput(state: Pick<SearchState, 'q' | 'filters'>): string {
  const parts: string[] = [];
  for (const key of SEARCH_FILTERS) {
    const value = state.filters[key];
    if (value !== undefined && value !== '') parts.push(`${key}:${quoteIfNeeded(value)}`);
  }
  if (state.q !== '') parts.push(state.q);
  return parts.join(' ');
}

/** The API query for a state. Invalid date filters are left out (validateFilters reports them). */
export function toApiQuery(state: SearchState): SearchQuery {
  const query: SearchQuery = { limit: state.limit };
  if (state.q !== '') query.q = state.q;
  const { hash, name, type, tag, yara, ioc, from, to } = state.filters;
  if (hash !== undefined) query.hash = hash.trim();
  if (name !== undefined) query.name = name;
  if (type !== undefined) query.type = type;
  if (tag !== undefined) query.tag = tag;
  if (yara !== undefined) query.yara = yara;
  if (ioc !== undefined) query.ioc = ioc;
  const fromBound = from === undefined ? null : toDateBound(from, 'from');
  const toBound = to === undefined ? null : toDateBound(to, 'to');
  if (fromBound !== null) query.from = fromBound;
  if (toBound !== null) query.to = toBound;
  if (state.cursor !== null) query.cursor = state.cursor;
  return query;
}

/** Whether the state searches for anything (without criteria the API lists the most recent samples). */
export function hasCriteria(state: Pick<SearchState, 'q' | 'filters'>): boolean {
  return state.q !== '' || Object.values(state.filters).some((value) => value !== undefined && value !== '');
}

/**
 * Cursor pagination going back: the API only hands out "next" cursors, so the cursors of the pages seen
 * before are kept (in the history entry's state, not the URL, to keep links short).
 */
export interface PageTrail {
  /** Cursors of the pages before the current one; `null` stands for the first page. */
  readonly previous: readonly (string | null)[];
}

export function nextPage(state: SearchState, trail: PageTrail, nextCursor: string): { state: SearchState; trail: PageTrail } {
  return { state: { ...state, cursor: nextCursor }, trail: { previous: [...trail.previous, state.cursor] } };
}

/** The page before: from the trail, or the first page when the page was opened from a link. */
export function previousPage(state: SearchState, trail: PageTrail): { state: SearchState; trail: PageTrail } {
  if (trail.previous.length === 0) return { state: { ...state, cursor: null }, trail: { previous: [] } };
  const previous = trail.previous.slice(0, -1);
  const cursor = trail.previous[trail.previous.length - 1] ?? null;
  return { state: { ...state, cursor }, trail: { previous } };
}

/** The 1-based number of the page shown, when known (a linked page without a trail is unknown). */
export function pageNumber(state: SearchState, trail: PageTrail): number | null {
  if (state.cursor === null) return 1;
  return trail.previous.length === 0 ? null : trail.previous.length + 1;
}

/** Reads a trail back from `history.state`, which anything may have written. */
export function readTrail(historyState: unknown): PageTrail {
  if (typeof historyState !== 'object' || historyState === null || !('previous' in historyState)) return { previous: [] };
  const previous: unknown = historyState.previous;
  if (!Array.isArray(previous)) return { previous: [] };
  return { previous: previous.filter((c): c is string | null => c === null || typeof c === 'string') };
}
