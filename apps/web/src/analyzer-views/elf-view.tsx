import { EntropyBar } from '../components/badges.js';
import { Facts } from '../components/section.js';
import { formatHex } from '../format/format.js';
import type { ElfResult } from './result-schemas.js';

export function ElfView({ elf }: { readonly elf: ElfResult }) {
  const h = elf.header;
  return (
    <div className="analyzer-view">
      <Facts
        rows={[
          ['Class', elf.class === null ? 'unknown' : `${elf.class}, ${elf.endianness ?? '?'} endian`],
          ['Type', h === null ? undefined : `${h.typeName}${h.isPie ? ' (PIE)' : ''}`],
          ['Machine', h?.machineName],
          ['OS/ABI', h?.osAbiName],
          ['Entry point', h === null ? undefined : <span className="mono">{h.entry}</span>],
          ['Interpreter', elf.interpreter === null ? undefined : <span className="mono">{elf.interpreter}</span>],
          ['Needed', elf.dynamic === null || elf.dynamic.needed.length === 0 ? undefined : <span className="mono">{elf.dynamic.needed.join(', ')}</span>],
          ['SONAME', elf.dynamic?.soname ?? undefined],
          ['RPATH / RUNPATH', elf.dynamic === null || (elf.dynamic.rpath === null && elf.dynamic.runpath === null) ? undefined : `${elf.dynamic.rpath ?? '—'} / ${elf.dynamic.runpath ?? '—'}`],
          ['Build id', elf.buildId === null ? undefined : <span className="mono">{elf.buildId}</span>],
          ['Symbols', elf.symbols === null ? undefined : `${elf.symbols.static} static, ${elf.symbols.dynamic} dynamic${elf.stripped ? ' (stripped)' : ''}`],
          ['Entropy', <EntropyBar key="e" entropy={elf.entropy} />],
        ]}
      />
      {elf.anomalies.length > 0 && (
        <div className="notice warn-box">
          <strong>Anomalies</strong>
          <ul>
            {elf.anomalies.map((a, i) => (
              <li key={i}>{a}</li>
            ))}
          </ul>
        </div>
      )}
      <h4>Program headers ({elf.programHeaders.length})</h4>
      <table className="grid">
        <thead>
          <tr>
            <th>Type</th>
            <th className="num">Offset</th>
            <th className="num">Virtual address</th>
            <th className="num">File size</th>
            <th className="num">Memory size</th>
            <th>Access</th>
          </tr>
        </thead>
        <tbody>
          {elf.programHeaders.map((p, i) => (
            <tr key={i}>
              <td className="mono">{p.typeName}</td>
              <td className="num mono">{formatHex(p.offset)}</td>
              <td className="num mono">{p.virtualAddress}</td>
              <td className="num mono">{formatHex(p.fileSize)}</td>
              <td className="num mono">{formatHex(p.memorySize)}</td>
              <td className={`mono ${p.permissions.includes('w') && p.permissions.includes('x') ? 'warn' : ''}`}>{p.permissions}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Sections ({elf.sections.length})</h4>
      <table className="grid">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>Name</th>
            <th>Type</th>
            <th>Flags</th>
            <th className="num">Address</th>
            <th className="num">Offset</th>
            <th className="num">Size</th>
            <th>Entropy</th>
          </tr>
        </thead>
        <tbody>
          {elf.sections.map((s) => (
            <tr key={s.index}>
              <td className="num">{s.index}</td>
              <td className="mono">{s.name}</td>
              <td className="mono">{s.typeName}</td>
              <td className="mono">{s.flagLetters}</td>
              <td className="num mono">{s.address}</td>
              <td className="num mono">{formatHex(s.offset)}</td>
              <td className="num mono">{formatHex(s.size)}</td>
              <td>
                <EntropyBar entropy={s.entropy} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
