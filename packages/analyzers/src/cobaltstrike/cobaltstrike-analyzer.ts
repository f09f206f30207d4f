import type { Indicator } from '@malpipe/core';
import type { Analyzer, AnalyzerOutput, ChildSample } from '../analyzer.js';
import type { BeaconConfig, ParseIssue } from './beacon-config.js';
import { parseBeaconConfigs, type FoundStager } from './parse-beacon-configs.js';

/** A config as stored in results: everything but the raw TLV records. */
export type NativeBeaconConfig = Omit<BeaconConfig, 'records'>;

export interface CobaltStrikeResult {
  readonly beaconDetected: boolean;
  readonly configs: readonly NativeBeaconConfig[];
  readonly stagers: readonly FoundStager[];
  readonly errors: readonly ParseIssue[];
}

export function toNativeJson(config: BeaconConfig): NativeBeaconConfig {
  const { records: _records, ...rest } = config;
  return rest;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

function hostIndicator(host: string, context: string): Indicator {
  return IPV4.test(host) ? { type: 'ipv4', value: host, context } : { type: 'domain', value: host.toLowerCase(), context };
}

/** Indicators and tags for the configs and stagers found (deduplicated, bounded by `max`). */
export function beaconIndicators(configs: readonly BeaconConfig[], stagers: readonly FoundStager[], max: number): { indicators: Indicator[]; tags: string[] } {
  const seen = new Set<string>();
  const indicators: Indicator[] = [];
  const add = (i: Indicator): void => {
    const key = `${i.type}\0${i.value}`;
    if (seen.has(key) || indicators.length >= max || i.value === '') return;
    seen.add(key);
    indicators.push(i);
  };
  const tags = new Set<string>();
  for (const c of configs) {
    tags.add('cobaltstrike');
    for (const host of c.c2.hostsIdna) add(hostIndicator(host, 'cs-config C2 host'));
    for (const url of c.c2.urls) add({ type: 'url', value: url, context: 'cs-config C2 URL' });
    if (c.watermark !== null) {
      add({ type: 'cs-watermark', value: String(c.watermark), context: 'cs-config watermark' });
      tags.add(`cs-watermark:${c.watermark}`);
    }
    if (c.publicKey) {
      add({ type: 'cs-public-key-md5', value: c.publicKey.md5, context: 'cs-config public key' });
      if (c.publicKey.knownPrivateKey) tags.add('cs-known-private-key');
    }
    if (c.trial) tags.add('cs-trial');
    if (c.guardrails) tags.add('cs-guardrails');
  }
  for (const s of stagers) {
    tags.add('cobaltstrike');
    tags.add('cs-stager');
    if (s.host) add(hostIndicator(s.host, `cs-stager ${s.kind} host`));
    if (s.url) add({ type: 'url', value: s.url, context: 'cs-stager stage URL' });
    if (s.watermark !== null) {
      add({ type: 'cs-watermark', value: String(s.watermark), context: 'cs-stager watermark' });
      tags.add(`cs-watermark:${s.watermark}`);
    }
  }
  return { indicators, tags: [...tags] };
}

/**
 * Cobalt Strike beacon configs and stagers. Cheap on files without a beacon: one strided pass for config
 * headers, the sleeve check on the first KiB, and native searches for stager needles.
 */
export const cobaltStrikeAnalyzer: Analyzer<CobaltStrikeResult> = {
  name: 'cobaltstrike',
  version: '1.0.0',
  accepts(facts) {
    const kind = facts.fileType.kind;
    return kind === 'executable' || kind === 'shellcode' || kind === 'data' || kind === 'memory';
  },
  analyze(bytes, facts, context): Promise<AnalyzerOutput<CobaltStrikeResult>> {
    const result = parseBeaconConfigs(bytes, { runtimeTables: facts.fileType.kind === 'memory' || facts.fileType.kind === 'data' });
    const { indicators, tags } = beaconIndicators(result.configs, result.stagers, context.limits.maxIndicators);
    if (result.beaconDetected) tags.push('cobaltstrike');
    const warnings = result.errors.length > 0 && result.configs.length === 0 && result.beaconDetected
      ? ['beacon detected, config format unknown or damaged']
      : [];
    // Decoded stages and loader payloads become samples of their own (PE, YARA...), within the limits.
    const children: ChildSample[] = [];
    let childBytes = 0;
    if (facts.depth < context.limits.maxDepth) {
      for (const layer of result.decoded) {
        if (children.length >= context.limits.maxChildren || layer.bytes.length > context.limits.maxChildBytes) continue;
        if (childBytes + layer.bytes.length > context.limits.maxTotalExtractedBytes) break;
        childBytes += layer.bytes.length;
        const step = layer.containers.at(-1);
        children.push({ bytes: layer.bytes, name: null, relation: 'decoded', detail: step ? `cobaltstrike ${step.kind} at offset ${step.offset}` : 'cobaltstrike' });
      }
    }
    return Promise.resolve({
      result: {
        beaconDetected: result.beaconDetected,
        configs: result.configs.map(toNativeJson),
        stagers: result.stagers,
        errors: result.errors,
      },
      indicators,
      tags: [...new Set(tags)],
      warnings,
      children,
    });
  },
};
