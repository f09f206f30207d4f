/** The dashboard's pages and their paths: one table, matched and built here only. */

export type Route =
  | { readonly name: 'samples' }
  | { readonly name: 'sample'; readonly hash: string }
  | { readonly name: 'upload' }
  | { readonly name: 'analysis'; readonly id: string }
  | { readonly name: 'jobs' }
  | { readonly name: 'rulesets' }
  | { readonly name: 'ruleset'; readonly version: string }
  | { readonly name: 'rule'; readonly ruleName: string }
  | { readonly name: 'cs-configs' }
  | { readonly name: 'cs-config'; readonly id: string }
  | { readonly name: 'cs-servers' }
  | { readonly name: 'cs-server'; readonly id: string }
  | { readonly name: 'sign-in' }
  | { readonly name: 'not-found'; readonly path: string };

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed %-escape (typed or pasted): treat the path as unknown rather than crash.
    return null;
  }
}

/** The route of a pathname (no query string); trailing slashes are ignored. */
export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  const segments = path.split('/').slice(1);
  const [first, second, third] = segments;
  if (path === '/' || (first === 'samples' && segments.length === 1)) return { name: 'samples' };
  if (first === 'samples' && second !== undefined && third === undefined) {
    const hash = decodeSegment(second);
    if (hash !== null && hash !== '') return { name: 'sample', hash };
  }
  if (first === 'upload' && segments.length === 1) return { name: 'upload' };
  if (first === 'analyses' && second !== undefined && third === undefined) {
    const id = decodeSegment(second);
    if (id !== null && id !== '') return { name: 'analysis', id };
  }
  if (first === 'jobs' && segments.length === 1) return { name: 'jobs' };
  if (first === 'rulesets' && segments.length === 1) return { name: 'rulesets' };
  if (first === 'rulesets' && second !== undefined && third === undefined) {
    const version = decodeSegment(second);
    if (version !== null && version !== '') return { name: 'ruleset', version };
  }
  if (first === 'rules' && second !== undefined && third === undefined) {
    const ruleName = decodeSegment(second);
    if (ruleName !== null && ruleName !== '') return { name: 'rule', ruleName };
  }
  if (first === 'cobaltstrike') {
    const [, , , fourth] = segments;
    if (second === undefined || (second === 'configs' && third === undefined)) return { name: 'cs-configs' };
    if (second === 'servers' && third === undefined) return { name: 'cs-servers' };
    const id = third === undefined || fourth !== undefined ? null : decodeSegment(third);
    if (id !== null && id !== '' && second === 'configs') return { name: 'cs-config', id };
    if (id !== null && id !== '' && second === 'servers') return { name: 'cs-server', id };
  }
  if (first === 'sign-in' && segments.length === 1) return { name: 'sign-in' };
  return { name: 'not-found', path: pathname };
}

export const paths = {
  samples: (query = ''): string => (query === '' ? '/' : `/?${query}`),
  sample: (hash: string): string => `/samples/${encodeURIComponent(hash)}`,
  upload: (): string => '/upload',
  analysis: (id: string): string => `/analyses/${encodeURIComponent(id)}`,
  jobs: (state?: string): string => (state === undefined ? '/jobs' : `/jobs?state=${encodeURIComponent(state)}`),
  rulesets: (): string => '/rulesets',
  ruleset: (version: string): string => `/rulesets/${encodeURIComponent(version)}`,
  rule: (name: string): string => `/rules/${encodeURIComponent(name)}`,
  /** `query`: an encoded query string (see cobaltstrike/config-filters.ts), '' for none. */
  csConfigs: (query = ''): string => (query === '' ? '/cobaltstrike/configs' : `/cobaltstrike/configs?${query}`),
  csConfig: (id: string): string => `/cobaltstrike/configs/${encodeURIComponent(id)}`,
  csServers: (): string => '/cobaltstrike/servers',
  csServer: (id: string): string => `/cobaltstrike/servers/${encodeURIComponent(id)}`,
  signIn: (next?: string): string =>
    next === undefined || next === '' || next === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(next)}`,
} as const;

/**
 * Where to go after signing in: only a same-origin path is accepted (`/samples/...`), never `//evil.example`
 * or `https://...`, so a crafted sign-in link cannot send the user elsewhere.
 */
export function safeNextPath(next: string | null): string {
  if (next === null || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/sign-in')) return '/';
  return next;
}
