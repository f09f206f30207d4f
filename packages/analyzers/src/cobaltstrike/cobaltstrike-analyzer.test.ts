import { describe, expect, it } from 'vitest';
import type { FileType } from '@malpipe/core';
import { buildBeacon, sampleSettings } from '../../test/builders/build-beacon.js';
import { buildStager } from '../../test/builders/build-stager.js';
import { DEFAULT_LIMITS, type AnalyzerContext, type SampleFacts } from '../analyzer.js';
import { BUILTIN_ANALYZERS } from '../registry.js';
import { cobaltStrikeAnalyzer } from './cobaltstrike-analyzer.js';

const context: AnalyzerContext = { limits: DEFAULT_LIMITS, archivePasswords: ['infected'] };

function facts(kind: FileType['kind'], size: number): SampleFacts {
  return {
    sha256: '0'.repeat(64),
    size,
    fileType: { kind, format: kind === 'executable' ? 'pe32' : 'unknown', mime: 'application/octet-stream', description: '', traits: [] },
    fileNames: [],
    depth: 0,
  };
}

describe(cobaltStrikeAnalyzer.name, () => {
  it('is registered and accepts executables, shellcode, data and memory only', () => {
    expect(BUILTIN_ANALYZERS).toContain(cobaltStrikeAnalyzer);
    for (const kind of ['executable', 'shellcode', 'data', 'memory'] as const) expect(cobaltStrikeAnalyzer.accepts(facts(kind, 1))).toBe(true);
    for (const kind of ['archive', 'document', 'text', 'script'] as const) expect(cobaltStrikeAnalyzer.accepts(facts(kind, 1))).toBe(false);
  });

  it('reports configs, C2 indicators, watermark and public-key tags', async () => {
    const bytes = buildBeacon(sampleSettings({ host: 'C2.Example.test', watermark: 987654321 }), { encoding: 'sleeve' });
    const out = await cobaltStrikeAnalyzer.analyze(bytes, facts('shellcode', bytes.length), context);
    expect(out.result.configs).toHaveLength(1);
    expect(out.result.configs[0]).not.toHaveProperty('records');
    expect(JSON.parse(JSON.stringify(out.result)).configs[0].watermark).toBe(987654321);
    expect(out.indicators).toEqual(
      expect.arrayContaining([
        { type: 'domain', value: 'c2.example.test', context: 'cs-config C2 host' },
        { type: 'url', value: 'https://c2.example.test/jquery.min.js', context: 'cs-config C2 URL' },
        { type: 'cs-watermark', value: '987654321', context: 'cs-config watermark' },
        { type: 'cs-public-key-md5', value: 'cb6d6430483e678947467b68fe27e6cf', context: 'cs-config public key' },
      ]),
    );
    expect(out.tags).toEqual(expect.arrayContaining(['cobaltstrike', 'cs-watermark:987654321']));
    // The decoded stage (the beacon DLL) is handed back as a child sample.
    expect(out.children).toHaveLength(1);
    expect(out.children?.[0]).toMatchObject({ relation: 'decoded', detail: 'cobaltstrike sleeve at offset 58' });
    expect(out.children?.[0]?.bytes.subarray(0, 4)).toEqual(Uint8Array.from(Buffer.from('MZRE')));
  });

  it('reports stager URLs (for a probe) and IPv4 hosts', async () => {
    const bytes = buildStager({ kind: 'http', host: '198.51.100.7', port: 8080, uri: '/ab2g', watermark: 305419896 });
    const out = await cobaltStrikeAnalyzer.analyze(bytes, facts('shellcode', bytes.length), context);
    expect(out.result.stagers[0]?.url).toBe('http://198.51.100.7:8080/ab2g');
    expect(out.indicators).toEqual(
      expect.arrayContaining([
        { type: 'ipv4', value: '198.51.100.7', context: 'cs-stager http host' },
        { type: 'url', value: 'http://198.51.100.7:8080/ab2g', context: 'cs-stager stage URL' },
      ]),
    );
    expect(out.tags).toEqual(expect.arrayContaining(['cobaltstrike', 'cs-stager', 'cs-watermark:305419896']));
  });

  it('finds nothing in a file without a beacon', async () => {
    const bytes = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const out = await cobaltStrikeAnalyzer.analyze(bytes, facts('data', bytes.length), context);
    expect(out.result).toMatchObject({ beaconDetected: false, configs: [], stagers: [] });
    expect(out.tags).toEqual([]);
  });
});
