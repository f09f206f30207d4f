import { useMemo, useState } from 'react';
import type { SampleReport } from '@malpipe/api-client';
import { Link } from '../routing/router.js';
import { searchLink } from './badges.js';
import { CopyValue } from './copy-value.js';

type Indicator = SampleReport['indicators'][number];

/** Indicators with a type filter; each value copies on click and links to the samples sharing it. */
export function IndicatorTable({ indicators, showAnalyzer = true }: { readonly indicators: readonly Indicator[]; readonly showAnalyzer?: boolean }) {
  const types = useMemo(() => {
    const counts = new Map<string, number>();
    for (const i of indicators) counts.set(i.type, (counts.get(i.type) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1]);
  }, [indicators]);
  const [type, setType] = useState<string | null>(null);
  const [limit, setLimit] = useState(200);
  if (indicators.length === 0) return <p className="muted">No indicators.</p>;
  const shown = type === null ? indicators : indicators.filter((i) => i.type === type);
  return (
    <div>
      <div className="chips">
        <button type="button" className={type === null ? 'chip active' : 'chip'} onClick={() => setType(null)}>
          all {indicators.length}
        </button>
        {types.map(([t, n]) => (
          <button key={t} type="button" className={type === t ? 'chip active' : 'chip'} onClick={() => setType(t)}>
            {t} {n}
          </button>
        ))}
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>Type</th>
            <th>Value</th>
            <th>Context</th>
            {showAnalyzer && <th>Analyser</th>}
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, limit).map((i, n) => (
            <tr key={n}>
              <td className="small">{i.type}</td>
              <td className="ioc-value">
                <CopyValue value={i.value} />
              </td>
              <td className="small muted mono">{i.context ?? ''}</td>
              {showAnalyzer && <td className="small">{i.analyzer}</td>}
              <td className="small">
                <Link to={searchLink('ioc', i.value)}>other samples</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length > limit && (
        <button type="button" onClick={() => setLimit((n) => n + 500)}>
          Show more ({shown.length - limit} left)
        </button>
      )}
    </div>
  );
}
