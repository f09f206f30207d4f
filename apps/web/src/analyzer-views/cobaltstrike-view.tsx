import type { ReactNode } from 'react';
import { CopyValue } from '../components/copy-value.js';
import { Facts } from '../components/section.js';
import { formatHex } from '../format/format.js';
import type { BeaconConfig, CobaltStrikeResult } from './result-schemas.js';

function settingValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** One decoded configuration: the key facts, parser issues and every setting. */
export function BeaconConfigView({ config, title, settingsOpen = false }: { readonly config: BeaconConfig; readonly title: ReactNode; readonly settingsOpen?: boolean }) {
  return (
    <div className="cs-config">
      <h4>{title}</h4>
      <Facts
        rows={[
          ['Version', config.version.name],
          ['Architecture', config.architecture ?? '?'],
          ['Container', config.source],
          ['XOR key', config.xorKey === null ? 'none' : formatHex(config.xorKey, 2)],
          ['Watermark', config.watermark === null ? '—' : <CopyValue key="w" value={String(config.watermark)} />],
          ['Trial build', config.trial ? 'yes (EICAR marker)' : 'no'],
          ['C2 hosts', config.c2.hosts.length === 0 ? '—' : <span className="mono">{config.c2.hosts.join(', ')}</span>],
          [
            'C2 URLs',
            config.c2.urls.length === 0 ? '—' : (
              <span className="stack">
                {config.c2.urls.map((u) => (
                  <CopyValue key={u} value={u} />
                ))}
              </span>
            ),
          ],
          [
            'Public key',
            config.publicKey === null ? '—' : (
              <span>
                {config.publicKey.bits ?? '?'} bits, MD5 <CopyValue value={config.publicKey.md5} />
                {config.publicKey.knownPrivateKey && <strong className="danger"> private key is public: traffic can be decrypted</strong>}
              </span>
            ),
          ],
          ['Guardrails', config.guardrails === null ? undefined : `key ${config.guardrails.environmentKey ?? 'not recovered'}${config.guardrails.checksumVerified ? ' (verified)' : ''}`],
        ]}
      />
      {config.issues.length > 0 && (
        <ul className="warn small">
          {config.issues.map((issue, j) => (
            <li key={j}>
              <code>{issue.code}</code> {issue.message}
            </li>
          ))}
        </ul>
      )}
      <details open={settingsOpen}>
        <summary>All {config.settings.length} settings</summary>
        <table className="grid">
          <thead>
            <tr>
              <th className="num">Id</th>
              <th>Setting</th>
              <th>Type</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {config.settings.map((s, j) => (
              <tr key={j}>
                <td className="num">{s.id}</td>
                <td className="mono">{s.name}</td>
                <td className="small">{s.type}</td>
                <td className="mono string-value">{settingValue(s.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}

export function CobaltStrikeView({ cs }: { readonly cs: CobaltStrikeResult }) {
  return (
    <div className="analyzer-view">
      <p>
        {cs.configs.length > 0 ? (
          <strong className="danger">Cobalt Strike beacon: {cs.configs.length} configuration{cs.configs.length === 1 ? '' : 's'}</strong>
        ) : cs.beaconDetected ? (
          <strong className="warn">Beacon artefacts seen, but no configuration decoded</strong>
        ) : (
          <span className="muted">No beacon configuration or stager found.</span>
        )}
      </p>
      {cs.configs.map((c, i) => (
        <BeaconConfigView
          key={i}
          config={c}
          title={
            <>
              Configuration {i + 1} at <span className="mono">{formatHex(c.offset)}</span>
            </>
          }
        />
      ))}
      {cs.stagers.length > 0 && (
        <>
          <h4>Stagers ({cs.stagers.length})</h4>
          <table className="grid">
            <thead>
              <tr>
                <th>Kind</th>
                <th>Arch</th>
                <th className="num">Offset</th>
                <th>Host</th>
                <th>Stage URL / pipe</th>
                <th>User agent</th>
                <th>Watermark</th>
              </tr>
            </thead>
            <tbody>
              {cs.stagers.map((s, i) => (
                <tr key={i}>
                  <td>{s.kind}</td>
                  <td>{s.arch}</td>
                  <td className="num mono">{formatHex(s.offset)}</td>
                  <td className="mono">
                    {s.host ?? '—'}
                    {s.port === null ? '' : `:${s.port}`}
                  </td>
                  <td className="mono">{s.url ?? s.pipeName ?? s.uri ?? '—'}</td>
                  <td className="small">{s.userAgent ?? ''}</td>
                  <td>{s.watermark ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {cs.errors.length > 0 && (
        <details>
          <summary className="warn">{cs.errors.length} candidate blocks could not be decoded</summary>
          <ul className="small">
            {cs.errors.map((e, i) => (
              <li key={i}>
                <code>{e.code}</code> {e.message}
                {e.offset !== undefined && ` at ${formatHex(e.offset)}`}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
