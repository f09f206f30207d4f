import { useState, type ReactNode } from 'react';
import type { AnalyzerResult, SampleReport } from '@malpipe/api-client';
import { StateBadge } from '../components/badges.js';
import { CopyValue } from '../components/copy-value.js';
import { JsonView } from '../components/json-view.js';
import { Facts, Section } from '../components/section.js';
import { formatDate, formatDuration } from '../format/format.js';
import { ArchiveView } from './archive-view.js';
import { CobaltStrikeView } from './cobaltstrike-view.js';
import { ElfView } from './elf-view.js';
import { IocView } from './ioc-view.js';
import { PeView } from './pe-view.js';
import {
  ArchiveResultSchema,
  CobaltStrikeResultSchema,
  ElfResultSchema,
  HashesResultSchema,
  IocResultSchema,
  PeResultSchema,
  StringsResultSchema,
  YaraResultSchema,
  parseResult,
  type ParsedResult,
} from './result-schemas.js';
import { StringsView } from './strings-view.js';
import { YaraView } from './yara-view.js';

/** The readable view of a known analyser's result; null for analysers without one (raw JSON only). */
function knownView(result: AnalyzerResult, report: SampleReport): ParsedResult<ReactNode> | null {
  const view = <T,>(parsed: ParsedResult<T>, render: (value: T) => ReactNode): ParsedResult<ReactNode> =>
    parsed.ok ? { ok: true, value: render(parsed.value) } : parsed;
  switch (result.analyzer) {
    case 'pe':
      return view(parseResult(PeResultSchema, result.result), (pe) => <PeView pe={pe} />);
    case 'elf':
      return view(parseResult(ElfResultSchema, result.result), (elf) => <ElfView elf={elf} />);
    case 'archive':
      return view(parseResult(ArchiveResultSchema, result.result), (archive) => <ArchiveView archive={archive} children={report.relations.children} />);
    case 'strings':
      return view(parseResult(StringsResultSchema, result.result), (strings) => <StringsView strings={strings} />);
    case 'ioc':
      return view(parseResult(IocResultSchema, result.result), (ioc) => <IocView ioc={ioc} indicators={report.indicators} />);
    case 'yara':
      return view(parseResult(YaraResultSchema, result.result), (yara) => <YaraView yara={yara} />);
    case 'cobaltstrike':
      return view(parseResult(CobaltStrikeResultSchema, result.result), (cs) => <CobaltStrikeView cs={cs} />);
    case 'hashes':
      return view(parseResult(HashesResultSchema, result.result), (h) => (
        <Facts
          rows={[
            ['ssdeep', h.ssdeep === null ? 'not computed' : <CopyValue key="s" value={h.ssdeep} />],
            ['TLSH', h.tlsh === null ? 'not computed (too little variety in the data)' : <CopyValue key="t" value={h.tlsh} />],
          ]}
        />
      ));
    default:
      return null;
  }
}

/** A one-line summary for the collapsed header. */
function summarize(result: AnalyzerResult): string {
  const r = result.result;
  if (typeof r !== 'object' || r === null) return '';
  const get = (key: string): unknown => (key in r ? (r as Record<string, unknown>)[key] : undefined);
  switch (result.analyzer) {
    case 'pe': {
      const sections = get('sections');
      return `${String(get('format') ?? '')}${Array.isArray(sections) ? `, ${sections.length} sections` : ''}`;
    }
    case 'yara': {
      const matches = get('matches');
      return Array.isArray(matches) ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : '';
    }
    case 'ioc':
      return `${String(get('total') ?? 0)} indicators`;
    case 'strings':
      return `${String(get('total') ?? 0)} strings`;
    case 'archive': {
      const entries = get('entries');
      return Array.isArray(entries) ? `${String(get('format'))}, ${entries.length} entries, ${String(get('extractedCount'))} extracted` : '';
    }
    case 'cobaltstrike': {
      const configs = get('configs');
      return Array.isArray(configs) && configs.length > 0 ? `${configs.length} beacon config(s)` : get('beaconDetected') === true ? 'beacon artefacts' : 'nothing found';
    }
    default:
      return '';
  }
}

export function AnalyzerResultView({ result, report }: { readonly result: AnalyzerResult; readonly report: SampleReport }) {
  const [raw, setRaw] = useState(false);
  const view = result.status === 'ok' ? knownView(result, report) : null;
  const summary = summarize(result);
  const hasFindings =
    result.status === 'error' ||
    (result.analyzer === 'cobaltstrike' && summary !== 'nothing found') ||
    (result.analyzer === 'yara' && summary !== '0 matches');
  return (
    <Section
      className={`analyzer analyzer-${result.status}`}
      open={hasFindings || ['pe', 'elf', 'archive'].includes(result.analyzer)}
      title={
        <>
          <span className="analyzer-name">{result.analyzer}</span> <StateBadge state={result.status} />{' '}
          <span className="muted small">{summary}</span>
        </>
      }
      meta={
        <>
          v{result.analyzerVersion}
          {result.rulesetVersion !== '' && ` · rules ${result.rulesetVersion}`} · {formatDuration(result.durationMs)} ·{' '}
          {formatDate(result.createdAt)}
          {result.warnings.length > 0 && <span className="warn"> · {result.warnings.length} warning(s)</span>}
        </>
      }
    >
      {result.status === 'error' && (
        <div className="error-box">
          <strong>Analyser failed</strong> <code className="error-code">{result.errorCode ?? 'UNKNOWN'}</code>
          <div className="error-message">{result.errorMessage ?? 'no message'}</div>
        </div>
      )}
      {result.status === 'skipped' && <p className="muted">Skipped{result.errorMessage !== null ? `: ${result.errorMessage}` : ''}.</p>}
      {result.warnings.length > 0 && (
        <ul className="warnings">
          {result.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      <div className="view-toggle">
        {view !== null && view.ok && (
          <button type="button" className="link-button" onClick={() => setRaw((r) => !r)}>
            {raw ? 'Readable view' : 'Raw JSON'}
          </button>
        )}
      </div>
      {view !== null && !view.ok && (
        <p className="notice small">
          This result does not have the shape this dashboard knows ({view.problem}); showing the raw JSON.
        </p>
      )}
      {view !== null && view.ok && !raw ? view.value : result.result !== null && result.result !== undefined ? <JsonView value={result.result} /> : null}
    </Section>
  );
}
