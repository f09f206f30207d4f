import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { SampleSummary, SearchResponse } from '@malpipe/api-client';
import { TagList } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { useResource } from '../data/use-resource.js';
import { formatBytes, formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link, navigate, useLocation } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import {
  PAGE_SIZES,
  SEARCH_FILTERS,
  detectHash,
  formatSearchInput,
  hasCriteria,
  nextPage,
  pageNumber,
  parseSearchInput,
  parseSearchParams,
  previousPage,
  readTrail,
  toApiQuery,
  toSearchParams,
  type PageTrail,
  type SearchFilter,
  type SearchState,
} from '../search/search-state.js';

function go(state: SearchState, trail: PageTrail = { previous: [] }): void {
  navigate(paths.samples(toSearchParams(state)), { state: trail });
}

function SampleRow({ sample }: { readonly sample: SampleSummary }) {
  const yara = sample.tags.filter((t) => t.startsWith('yara:'));
  const tags = sample.tags.filter((t) => !t.startsWith('yara:'));
  return (
    <tr>
      <td className="mono">
        <Link to={paths.sample(sample.sha256)} title={sample.sha256}>
          {shortHash(sample.sha256, 16)}
        </Link>
      </td>
      <td className="names" title={sample.names.join('\n')}>
        {sample.names.length === 0 ? <span className="muted">—</span> : sample.names[0]}
        {sample.names.length > 1 && <span className="muted small"> +{sample.names.length - 1}</span>}
      </td>
      <td title={sample.fileType.description}>
        <span className="mono small">{sample.fileType.format}</span>
      </td>
      <td className="num" title={`${sample.size} bytes`}>
        {formatBytes(sample.size)}
      </td>
      <td>
        <TagList tags={tags} />
      </td>
      <td className="small" title={formatDate(sample.firstSeen)}>
        {formatRelative(sample.firstSeen)}
      </td>
      <td className="small" title={formatDate(sample.lastSeen)}>
        {formatRelative(sample.lastSeen)}
      </td>
      <td>{yara.length === 0 ? <span className="muted">—</span> : <TagList tags={yara} />}</td>
    </tr>
  );
}

export function SamplesPage() {
  const location = useLocation();
  const state = parseSearchParams(location.search);
  const trail = readTrail(location.state);
  const [text, setText] = useState(() => formatSearchInput(state));
  const [problems, setProblems] = useState<readonly string[]>([]);
  const queryKey = toSearchParams(state);

  // Back/forward and links change the URL: the box follows it.
  useEffect(() => {
    setText(formatSearchInput(parseSearchParams(queryKey)));
  }, [queryKey]);

  // `/` focuses the search box, as on most code and log search pages.
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement | null;
      const typing = target !== null && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
      if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const results = useResource<SearchResponse>(`search?${queryKey}`, (api) => api.search(toApiQuery(state)));

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const parsed = parseSearchInput(text);
    setProblems(parsed.problems);
    go({ q: parsed.q, filters: parsed.filters, limit: state.limit, cursor: null });
  };

  const removeFilter = (key: SearchFilter): void => {
    const filters = { ...state.filters };
    delete filters[key];
    go({ ...state, filters, cursor: null });
  };

  const page = pageNumber(state, trail);
  const hashKind = detectHash(state.q);
  const data = results.data;

  return (
    <div className="page samples-page">
      <form className="search-bar" onSubmit={submit} role="search">
        <input
          ref={input}
          type="search"
          className="search-input"
          aria-label="Search samples"
          placeholder="Search (/): hash, file name, type, tag, YARA rule or IoC; filters: tag:x type:pe32 yara:Rule ioc:evil.com name:a.exe from:2026-01-01"
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
        <select
          aria-label="Page size"
          value={state.limit}
          onChange={(event) => go({ ...state, limit: Number(event.target.value), cursor: null })}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n} per page
            </option>
          ))}
        </select>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      {problems.length > 0 && (
        <ul className="problems warn small">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {hasCriteria(state) && (
        <div className="chips">
          {state.q !== '' && (
            <span className="chip">
              text: <strong>{state.q}</strong>
              <button type="button" aria-label="Remove text" onClick={() => go({ ...state, q: '', cursor: null })}>
                ×
              </button>
            </span>
          )}
          {SEARCH_FILTERS.filter((key) => state.filters[key] !== undefined).map((key) => (
            <span key={key} className="chip">
              {key}: <strong>{state.filters[key]}</strong>
              <button type="button" aria-label={`Remove ${key}`} onClick={() => removeFilter(key)}>
                ×
              </button>
            </span>
          ))}
          <Link to="/" className="small">
            clear all
          </Link>
        </div>
      )}
      {hashKind !== null && (
        <p className="small">
          This is an {hashKind.toUpperCase()}: <Link to={paths.sample(state.q.trim())}>open the sample report directly</Link>.
        </p>
      )}

      {results.error !== null && <ErrorBox error={results.error} title="Search failed" />}
      {results.loading && data === null && <p className="muted">Loading…</p>}
      {data !== null && (
        <>
          <table className="grid samples">
            <thead>
              <tr>
                <th>SHA-256</th>
                <th>Names</th>
                <th>Type</th>
                <th className="num">Size</th>
                <th>Tags</th>
                <th>First seen</th>
                <th>Last seen</th>
                <th>YARA</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((sample) => (
                <SampleRow key={sample.sha256} sample={sample} />
              ))}
            </tbody>
          </table>
          {data.items.length === 0 && (
            <div className="empty">
              {hasCriteria(state) ? (
                <p>No sample matches this search.</p>
              ) : (
                <p>
                  No samples yet. <Link to={paths.upload()}>Upload a file</Link> or use <code>malpipe submit FILE</code>.
                </p>
              )}
            </div>
          )}
          <div className="pager">
            <button type="button" disabled={state.cursor === null} onClick={() => {
              const back = previousPage(state, trail);
              go(back.state, back.trail);
            }}>
              ← {page === null ? 'First page' : 'Previous'}
            </button>
            <span className="muted small">
              {page === null ? 'page ?' : `page ${page}`} · {data.items.length} shown
            </span>
            <button type="button" disabled={data.nextCursor === null} onClick={() => {
              if (data.nextCursor === null) return;
              const next = nextPage(state, trail, data.nextCursor);
              go(next.state, next.trail);
            }}>
              Next →
            </button>
          </div>
        </>
      )}
    </div>
  );
}
