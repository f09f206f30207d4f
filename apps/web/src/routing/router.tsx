import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

/**
 * A tiny router over the History API: `useLocation()` re-renders on navigation (links, back/forward),
 * `navigate()` pushes or replaces an entry, `<Link>` turns plain clicks into client-side navigation and leaves
 * modified clicks (new tab, download) to the browser. The route table is in routes.ts.
 */

const NAVIGATE_EVENT = 'malpipe:navigate';

export interface Location {
  readonly pathname: string;
  readonly search: string;
  /** `history.state`: whatever the page that navigated here stored (e.g. a search's page trail). */
  readonly state: unknown;
}

let cached: Location | null = null;

function snapshot(): Location {
  const { pathname, search } = window.location;
  const state: unknown = window.history.state;
  // useSyncExternalStore needs a stable snapshot: a browser may hand out a fresh copy of history.state on
  // each read, so equal small states count as unchanged.
  const sameState = cached !== null && (cached.state === state || JSON.stringify(cached.state) === JSON.stringify(state));
  if (cached === null || cached.pathname !== pathname || cached.search !== search || !sameState) {
    cached = { pathname, search, state };
  }
  return cached;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

export function useLocation(): Location {
  return useSyncExternalStore(subscribe, snapshot);
}

export interface NavigateOptions {
  readonly replace?: boolean;
  readonly state?: unknown;
}

export function navigate(to: string, options: NavigateOptions = {}): void {
  const state = options.state ?? null;
  if (options.replace === true) window.history.replaceState(state, '', to);
  else window.history.pushState(state, '', to);
  if (options.replace !== true) window.scrollTo(0, 0);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  readonly to: string;
  readonly state?: unknown;
  readonly children?: ReactNode;
}

export function Link({ to, state, onClick, children, ...rest }: LinkProps) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (rest.target !== undefined && rest.target !== '_self') return;
    event.preventDefault();
    navigate(to, { state });
  };
  return (
    <a href={to} onClick={handleClick} {...rest}>
      {children}
    </a>
  );
}
