import { Link } from '../routing/router.js';
import { searchLink } from '../components/badges.js';
import { formatHex } from '../format/format.js';
import type { YaraResult } from './result-schemas.js';

export function YaraView({ yara }: { readonly yara: YaraResult }) {
  return (
    <div className="analyzer-view">
      <p>
        {yara.skipped !== undefined ? (
          <span className="warn">Not scanned: {yara.skipped}</span>
        ) : (
          <>
            {yara.matches.length} matching rule{yara.matches.length === 1 ? '' : 's'}; engine {yara.engine ?? '?'}, ruleset{' '}
            <span className="mono">{yara.rulesetVersion ?? '?'}</span>
          </>
        )}
      </p>
      {yara.matches.map((m, i) => (
        <div key={i} className="yara-match">
          <div>
            <Link to={searchLink('yara', m.rule)} className="mono strong">
              {m.rule}
            </Link>{' '}
            <span className="muted">{m.namespace}</span>
            {m.tags.map((t) => (
              <span key={t} className="tag">
                {t}
              </span>
            ))}
          </div>
          {Object.keys(m.meta).length > 0 && (
            <div className="small yara-meta">
              {Object.entries(m.meta).map(([k, v]) => (
                <span key={k}>
                  <span className="muted">{k}</span> {String(v)}
                </span>
              ))}
            </div>
          )}
          {m.strings.length > 0 && (
            <table className="grid narrow">
              <thead>
                <tr>
                  <th>String</th>
                  <th className="num">Offset</th>
                  <th className="num">Length</th>
                </tr>
              </thead>
              <tbody>
                {m.strings.map((s, j) => (
                  <tr key={j}>
                    <td className="mono">{s.identifier}</td>
                    <td className="num mono">{formatHex(s.offset)}</td>
                    <td className="num">{s.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </div>
  );
}
