import { useDeferredValue, useMemo, useState } from 'react';
import { formatCount, formatHex } from '../format/format.js';
import type { StringsResult } from './result-schemas.js';

const PAGE = 500;

export function StringsView({ strings }: { readonly strings: StringsResult }) {
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(PAGE);
  const deferred = useDeferredValue(filter.trim().toLowerCase());
  const matching = useMemo(
    () => (deferred === '' ? strings.strings : strings.strings.filter((s) => s.value.toLowerCase().includes(deferred))),
    [strings.strings, deferred],
  );
  const counts = Object.entries(strings.counts)
    .map(([encoding, n]) => `${formatCount(n)} ${encoding}`)
    .join(', ');
  return (
    <div className="analyzer-view">
      <p>
        {formatCount(strings.total)} strings ({counts})
        {strings.truncated && <span className="muted">; the first {formatCount(strings.strings.length)} are stored</span>}
      </p>
      <input
        type="search"
        className="filter-input"
        placeholder="Filter strings"
        value={filter}
        onChange={(event) => {
          setFilter(event.target.value);
          setShown(PAGE);
        }}
      />
      <table className="grid strings-table">
        <thead>
          <tr>
            <th className="num">Offset</th>
            <th>Encoding</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {matching.slice(0, shown).map((s, i) => (
            <tr key={i}>
              <td className="num mono">{formatHex(s.offset)}</td>
              <td className="small">{s.encoding}</td>
              <td className="mono string-value">
                {s.value}
                {s.truncated === true && <span className="muted"> …(cut)</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {matching.length > shown && (
        <button type="button" onClick={() => setShown((n) => n + PAGE)}>
          Show {Math.min(PAGE, matching.length - shown)} more of {formatCount(matching.length - shown)}
        </button>
      )}
    </div>
  );
}
