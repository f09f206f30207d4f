/** The dashboard's pages and their paths: one table, matched and built here only. */

export type Route =
  | { readonly name: 'samples' }
  | { readonly name: 'sample'; readonly hash: string }
  | { readonly name: 'upload' }
  | { readonly name: 'analysis'; readonly id: string }
  | { readonly name: 'jobs' }
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
  if (first === 'sign-in' && segments.length === 1) return { name: 'sign-in' };
  return { name: 'not-found', path: pathname };
}

export const paths = {
  samples: (query = ''): string => (query === '' ? '/' : `/?${query}`),
  sample: (hash: string): string => `/samples/${encodeURIComponent(hash)}`,
  upload: (): string => '/upload',
  analysis: (id: string): string => `/analyses/${encodeURIComponent(id)}`,
  jobs: (state?: string): string => (state === undefined ? '/jobs' : `/jobs?state=${encodeURIComponent(state)}`),
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
