import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { AnalyzerResult, SampleReport } from '@malpipe/api-client';
import { AnalyzerResultView } from './analyzer-result-view.js';

const SHA = 'a'.repeat(64);
const report: SampleReport = {
  sample: {
    sha256: SHA,
    md5: 'b'.repeat(32),
    sha1: 'c'.repeat(40),
    sha512: 'd'.repeat(128),
    size: 10,
    fileType: { kind: 'executable', format: 'pe32', mime: 'application/x-dosexec', description: 'PE32', traits: [] },
    ssdeep: null,
    tlsh: null,
    imphash: null,
    firstSeen: '2026-11-27T00:00:00Z',
    lastSeen: '2026-11-27T00:00:00Z',
  },
  names: ['a.exe'],
  tags: [],
  sources: ['upload'],
  results: [],
  relations: { parents: [], children: [] },
  indicators: [],
  yaraMatches: [],
  analyses: [],
};

function result(analyzer: string, value: unknown, extra: Partial<AnalyzerResult> = {}): AnalyzerResult {
  return {
    analyzer,
    analyzerVersion: '1.0.0',
    rulesetVersion: '',
    status: 'ok',
    result: value,
    warnings: [],
    errorCode: null,
    errorMessage: null,
    durationMs: 12,
    createdAt: '2026-11-27T00:00:00Z',
    ...extra,
  };
}

const render = (r: AnalyzerResult): string => renderToStaticMarkup(<AnalyzerResultView result={r} report={report} />);

describe(AnalyzerResultView.name, () => {
  it('shows an analyser error with its code and message', () => {
    const html = render(result('pe', null, { status: 'error', errorCode: 'ANALYZER_TIMEOUT', errorMessage: 'pe took longer than 120000 ms' }));
    expect(html).toContain('Analyser failed');
    expect(html).toContain('ANALYZER_TIMEOUT');
    expect(html).toContain('pe took longer than 120000 ms');
  });

  it('falls back to raw JSON, saying why, when a known result has another shape', () => {
    const html = render(result('archive', { format: 'zip', entries: 'nope' }));
    expect(html).toContain('does not have the shape');
    expect(html).toContain('entries');
    expect(html).toContain('&quot;format&quot;: &quot;zip&quot;');
  });

  it('shows raw JSON for analysers it has no view for', () => {
    const html = render(result('future-analyser', { answer: 42 }));
    expect(html).toContain('&quot;answer&quot;: 42');
    expect(html).not.toContain('does not have the shape');
  });

  it('renders YARA matches with string offsets in hex', () => {
    const html = render(
      result('yara', {
        engine: 'libyara',
        rulesetVersion: 'r1',
        matches: [{ rule: 'Evil_Rule', namespace: 'default', tags: ['apt'], meta: { author: 'x' }, strings: [{ identifier: '$a', offset: 4096, length: 3 }] }],
      }),
    );
    expect(html).toContain('Evil_Rule');
    expect(html).toContain('0x1000');
    expect(html).toContain('1 match<');
  });

  it('escapes hostile strings from samples', () => {
    const html = render(result('strings', { counts: { ascii: 1 }, total: 1, truncated: false, strings: [{ offset: 0, encoding: 'ascii', value: '<img src=x onerror=alert(1)>' }] }));
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img src=x');
  });
});
