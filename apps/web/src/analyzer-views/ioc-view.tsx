import type { SampleReport } from '@malpipe/api-client';
import { IndicatorTable } from '../components/indicator-table.js';
import { Facts } from '../components/section.js';
import type { IocResult } from './result-schemas.js';

export function IocView({ ioc, indicators }: { readonly ioc: IocResult; readonly indicators: SampleReport['indicators'] }) {
  const own = indicators.filter((i) => i.analyzer === 'ioc');
  return (
    <div className="analyzer-view">
      <Facts
        rows={[
          ['Scanned', ioc.source === 'text' ? `as text (${ioc.encoding ?? 'utf-8'})` : 'printable strings of the binary'],
          ['Found', `${ioc.total}${ioc.truncated ? ' (cut: input or indicator limit reached)' : ''}`],
          ['By type', Object.entries(ioc.counts).map(([type, n]) => `${type} ${n}`).join(', ') || '—'],
        ]}
      />
      <IndicatorTable indicators={own} showAnalyzer={false} />
    </div>
  );
}
