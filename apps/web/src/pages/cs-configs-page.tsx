import { useState, type FormEvent } from 'react';
import type { ConfigSearchResponse } from '@malpipe/api-client';
import { ErrorBox } from '../components/error-box.js';
import { useResource } from '../data/use-resource.js';
import { formatDate, formatRelative, shortHash } from '../format/format.js';
import { Link, navigate, useLocation } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import {
  configSearchFromUrl,
  configSearchToUrl,
  EMPTY_CONFIG_FILTERS,
  hasFilters,
  toConfigQuery,
  type ConfigFilterField,
  type ConfigFilters,
} from '../cobaltstrike/config-filters.js';
import { CsTabs } from '../cobaltstrike/cs-tabs.js';

const FIELDS: readonly { readonly field: ConfigFilterField; readonly label: string; readonly placeholder: string }[] = [
  { field: 'watermark', label: 'Watermark', placeholder: '1359593325' },
  { field: 'c2', label: 'C2 host', placeholder: 'cdn.example.org or 203.0.113.7' },
  { field: 'publicKeyMd5', label: 'Public key MD5', placeholder: '32 hex digits' },
  { field: 'version', label: 'Version', placeholder: '4.9' },
];

function SearchForm({ initial }: { readonly initial: ConfigFilters }) {
  const [filters, setFilters] = useState<ConfigFilters>(initial);
  const [errors, setErrors] = useState<Partial<Record<ConfigFilterField, string>>>(() => {
    // A hand-edited address can hold values the server refuses: mark them at once.
    const checked = toConfigQuery({ filters: initial, cursor: null });
    return checked.ok ? {} : checked.errors;
  });
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const checked = toConfigQuery({ filters, cursor: null });
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    navigate(paths.csConfigs(configSearchToUrl({ filters, cursor: null })));
  };
  return (
    <form className="cs-search" onSubmit={submit}>
      {FIELDS.map(({ field, label, placeholder }) => (
        <label key={field} className="cs-search-field">
          <span className="small muted">{label}</span>
          <input
            type="text"
            className={`mono ${errors[field] === undefined ? '' : 'invalid'}`}
            value={filters[field]}
            placeholder={placeholder}
            aria-invalid={errors[field] !== undefined}
            onChange={(event) => setFilters({ ...filters, [field]: event.target.value })}
          />
          {errors[field] !== undefined && <span className="error-text small">expected {errors[field]}</span>}
        </label>
      ))}
      <div className="cs-search-buttons">
        <button type="submit" className="primary">
          Search
        </button>
        <button
          type="button"
          disabled={!hasFilters(filters) && !hasFilters(initial)}
          onClick={() => {
            setFilters(EMPTY_CONFIG_FILTERS);
            setErrors({});
            navigate(paths.csConfigs());
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

export function CsConfigsPage() {
  const location = useLocation();
  const state = configSearchFromUrl(location.search);
  const query = toConfigQuery(state);
  const key = `cs-configs:${configSearchToUrl(state)}`;
  const page = useResource<ConfigSearchResponse>(key, (api) =>
    query.ok ? api.searchCobaltStrikeConfigs(query.query) : Promise.resolve({ configs: [], nextCursor: null }),
  );
  return (
    <div className="page cs-configs-page">
      <h2>Cobalt Strike</h2>
      <CsTabs current="configs" />
      {/* Re-mount the form when the URL changes (back/forward), so it shows the search being listed. */}
      <SearchForm key={configSearchToUrl({ ...state, cursor: null })} initial={state.filters} />
      {!query.ok && <div className="error-box">The address holds a search the server would refuse; fix the fields above.</div>}
      {page.error !== null && <ErrorBox error={page.error} title="Search failed" />}
      {page.data === null ? (
        page.error === null && <p className="muted">Loading…</p>
      ) : page.data.configs.length === 0 ? (
        <div className="empty">
          {hasFilters(state.filters) ? 'No beacon configuration matches this search.' : 'No beacon configuration decoded yet: submit a beacon or probe a team server.'}
        </div>
      ) : (
        <>
          <table className="grid">
            <thead>
              <tr>
                <th>Config</th>
                <th className="num">Watermark</th>
                <th>C2 hosts</th>
                <th>Version</th>
                <th>Arch</th>
                <th>Public key MD5</th>
                <th>First seen</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {page.data.configs.map((c) => (
                <tr key={c.id}>
                  <td className="mono">
                    <Link to={paths.csConfig(c.id)} title={c.id}>
                      {shortHash(c.id, 16)}
                    </Link>
                    {c.trial && <span className="badge state-failed" title="trial build: EICAR marker in the traffic"> trial</span>}
                  </td>
                  <td className="num mono">
                    {c.watermark === null ? '—' : <Link to={paths.csConfigs(configSearchToUrl({ filters: { ...EMPTY_CONFIG_FILTERS, watermark: String(c.watermark) }, cursor: null }))}>{c.watermark}</Link>}
                  </td>
                  <td className="mono small">
                    {c.c2Hosts.length === 0
                      ? '—'
                      : c.c2Hosts.map((host, i) => (
                          <span key={host}>
                            {i > 0 && ', '}
                            <Link to={paths.csConfigs(configSearchToUrl({ filters: { ...EMPTY_CONFIG_FILTERS, c2: host }, cursor: null }))}>{host}</Link>
                          </span>
                        ))}
                  </td>
                  <td>{c.version ?? '—'}</td>
                  <td>{c.architecture ?? '—'}</td>
                  <td className="mono small">{c.publicKeyMd5 ?? '—'}</td>
                  <td className="small" title={formatDate(c.firstSeen)}>
                    {formatRelative(c.firstSeen)}
                  </td>
                  <td className="small" title={formatDate(c.lastSeen)}>
                    {formatRelative(c.lastSeen)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            {state.cursor !== null && <Link to={paths.csConfigs(configSearchToUrl({ ...state, cursor: null }))}>← First page</Link>}
            {page.data.nextCursor !== null && <Link to={paths.csConfigs(configSearchToUrl({ ...state, cursor: page.data.nextCursor }))}>Next page →</Link>}
          </div>
        </>
      )}
    </div>
  );
}
