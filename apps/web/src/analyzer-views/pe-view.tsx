import { EntropyBar } from '../components/badges.js';
import { CopyValue } from '../components/copy-value.js';
import { Facts } from '../components/section.js';
import { formatBytes, formatCount, formatHex } from '../format/format.js';
import type { PeResult } from './result-schemas.js';

function Flags({ flags }: { readonly flags: readonly string[] }) {
  if (flags.length === 0) return <span className="muted">none</span>;
  return <span className="flags">{flags.join(' · ')}</span>;
}

export function PeView({ pe }: { readonly pe: PeResult }) {
  const fh = pe.fileHeader;
  const oh = pe.optionalHeader;
  const importCount = pe.imports.reduce((n, dll) => n + dll.functions.length, 0);
  return (
    <div className="analyzer-view">
      <Facts
        rows={[
          ['Format', pe.format ?? 'unreadable NT headers'],
          ['Machine', fh?.machineName],
          ['Kind', fh === null ? undefined : fh.isDll ? 'DLL' : 'executable'],
          ['Subsystem', oh?.subsystemName],
          ['Compiled', fh === null ? undefined : <span title={`TimeDateStamp ${fh.timestamp}`}>{fh.timestampIso}</span>],
          [
            'Entry point',
            oh === null ? undefined : (
              <span className="mono">
                {formatHex(oh.addressOfEntryPoint)} {oh.entryPointSection === null ? <em className="warn">(outside sections)</em> : `in ${oh.entryPointSection}`}
              </span>
            ),
          ],
          ['Image base', oh === null ? undefined : <span className="mono">{oh.imageBase}</span>],
          ['Linker', oh?.linkerVersion],
          ['OS version', oh?.operatingSystemVersion],
          [
            'Checksum',
            oh === null ? undefined : (
              <span className={oh.checksum !== 0 && oh.checksum !== oh.computedChecksum ? 'warn mono' : 'mono'}>
                {formatHex(oh.checksum)} (computed {formatHex(oh.computedChecksum)})
              </span>
            ),
          ],
          ['Imphash', pe.imphash === null ? undefined : <CopyValue value={pe.imphash} />],
          ['Entropy', <EntropyBar key="e" entropy={pe.entropy} />],
          ['Characteristics', fh === null ? undefined : <Flags flags={fh.characteristicsFlags} />],
          ['DLL characteristics', oh === null ? undefined : <Flags flags={oh.dllCharacteristicsFlags} />],
          ['.NET', pe.clr === null ? undefined : `${pe.clr.runtimeVersion ?? '?'} (COR20 ${pe.clr.headerVersion}) ${pe.clr.flagNames.join(' ')}`],
          [
            'Authenticode',
            pe.authenticode === null
              ? undefined
              : `${formatBytes(pe.authenticode.size)} at ${formatHex(pe.authenticode.offset)}${pe.authenticode.withinFile ? '' : ' (points outside the file)'}`,
          ],
          [
            'Overlay',
            pe.overlay === null ? undefined : (
              <span>
                {formatBytes(pe.overlay.size)} at <span className="mono">{formatHex(pe.overlay.offset)}</span>
                {pe.overlay.isSignatureOnly ? ' (signature only)' : ''} <EntropyBar entropy={pe.overlay.entropy} />
              </span>
            ),
          ],
          ['TLS callbacks', pe.tls === null ? undefined : <span className="mono">{pe.tls.callbackCount} {pe.tls.callbacks.join(' ')}</span>],
          [
            'PDB',
            pe.codeView === null ? undefined : (
              <span className="mono">
                {pe.codeView.pdbPath} {pe.codeView.guid} age {pe.codeView.age}
              </span>
            ),
          ],
        ]}
      />

      {pe.anomalies.length > 0 && (
        <div className="notice warn-box">
          <strong>Anomalies</strong>
          <ul>
            {pe.anomalies.map((a, i) => (
              <li key={i}>{a}</li>
            ))}
          </ul>
        </div>
      )}

      <h4>Sections ({pe.sections.length})</h4>
      <table className="grid">
        <thead>
          <tr>
            <th>Name</th>
            <th className="num">Virtual address</th>
            <th className="num">Virtual size</th>
            <th className="num">Raw offset</th>
            <th className="num">Raw size</th>
            <th>Access</th>
            <th>Entropy</th>
            <th>MD5</th>
          </tr>
        </thead>
        <tbody>
          {pe.sections.map((s, i) => (
            <tr key={i} title={s.characteristicsFlags.join(' ')}>
              <td className="mono">{s.name}</td>
              <td className="num mono">{formatHex(s.virtualAddress)}</td>
              <td className="num mono">{formatHex(s.virtualSize)}</td>
              <td className="num mono">{formatHex(s.rawOffset)}</td>
              <td className="num mono">{formatHex(s.rawSize)}</td>
              <td className={`mono ${s.permissions.includes('w') && s.permissions.includes('x') ? 'warn' : ''}`}>{s.permissions}</td>
              <td>
                <EntropyBar entropy={s.entropy} />
              </td>
              <td className="mono small">{s.md5 ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h4>
        Imports ({pe.imports.length} DLLs, {formatCount(importCount)} functions)
        {pe.delayImports.length > 0 && `, ${pe.delayImports.length} delay-loaded DLLs`}
      </h4>
      {pe.imports.length === 0 && pe.delayImports.length === 0 ? (
        <p className="muted">No imports.</p>
      ) : (
        <div className="imports">
          {[...pe.imports.map((d) => ({ ...d, delay: false })), ...pe.delayImports.map((d) => ({ ...d, delay: true }))].map((dll, i) => (
            <details key={i} className="import-dll" open={importCount <= 40}>
              <summary>
                <span className="mono">{dll.dll}</span> <span className="muted">({dll.functions.length}{dll.delay ? ', delay-loaded' : ''})</span>
              </summary>
              <ul className="mono small columns">
                {dll.functions.map((f, j) => (
                  <li key={j}>{f.name ?? `#${f.ordinal ?? '?'}`}</li>
                ))}
              </ul>
            </details>
          ))}
        </div>
      )}

      {pe.exports !== null && pe.exports.functions.length > 0 && (
        <>
          <h4>
            Exports of {pe.exports.dllName ?? '(unnamed)'} ({pe.exports.numberOfFunctions})
          </h4>
          <table className="grid">
            <thead>
              <tr>
                <th className="num">Ordinal</th>
                <th>Name</th>
                <th className="num">RVA</th>
                <th>Forwarder</th>
              </tr>
            </thead>
            <tbody>
              {pe.exports.functions.map((f, i) => (
                <tr key={i}>
                  <td className="num">{f.ordinal}</td>
                  <td className="mono">{f.name ?? '—'}</td>
                  <td className="num mono">{formatHex(f.rva)}</td>
                  <td className="mono">{f.forwarder ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      {pe.richHeader !== null && (
        <>
          <h4>
            Rich header{' '}
            <span className={pe.richHeader.checksumValid ? 'muted' : 'warn'}>
              (checksum {pe.richHeader.checksumValid ? 'valid' : 'INVALID: possibly tampered'}; key {formatHex(pe.richHeader.key, 8)}; hash{' '}
              <span className="mono">{pe.richHeader.richHash}</span>)
            </span>
          </h4>
          <table className="grid narrow">
            <thead>
              <tr>
                <th className="num">Product id</th>
                <th className="num">Build</th>
                <th className="num">Count</th>
                <th className="num">Comp id</th>
              </tr>
            </thead>
            <tbody>
              {pe.richHeader.entries.map((e, i) => (
                <tr key={i}>
                  <td className="num mono">{formatHex(e.productId, 4)}</td>
                  <td className="num">{e.build}</td>
                  <td className="num">{e.count}</td>
                  <td className="num mono">{formatHex(e.compId, 8)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      {pe.versionInfo !== null && (
        <>
          <h4>Version information</h4>
          <Facts
            rows={[
              ['File version', pe.versionInfo.fileVersion ?? undefined],
              ['Product version', pe.versionInfo.productVersion ?? undefined],
              ...Object.entries(pe.versionInfo.strings).map(([k, v]) => [k, v] as const),
            ]}
          />
        </>
      )}

      {pe.resources !== null && pe.resources.types.length > 0 && (
        <>
          <h4>
            Resources ({pe.resources.totalEntries} entries, {formatBytes(pe.resources.totalSize)})
          </h4>
          <table className="grid narrow">
            <thead>
              <tr>
                <th>Type</th>
                <th className="num">Count</th>
                <th className="num">Size</th>
                <th>Languages</th>
              </tr>
            </thead>
            <tbody>
              {pe.resources.types.map((t, i) => (
                <tr key={i}>
                  <td className="mono">{t.type}</td>
                  <td className="num">{t.count}</td>
                  <td className="num">{formatBytes(t.totalSize)}</td>
                  <td className="mono small">{t.languages.map((l) => formatHex(l, 4)).join(' ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
