import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BeaconConfig } from '../beacon-config.js';
import { toJpcertJson } from '../jpcert-json.js';
import { toMalleableProfile } from '../malleable-profile.js';
import { DEFAULT_XOR_KEYS, parseBeaconConfigs, type BeaconParseResult } from '../parse-beacon-configs.js';
import { decodeSleeve } from '../sleeve.js';
import { locateCsCorpus, loadCsExpected, readCsSample, type CorpusSample } from './cs-corpus.js';

const location = locateCsCorpus();
if (location.dir === null && process.env.CI === 'true') throw new Error(`${location.reason} (required when CI=true)`);
const samples = location.dir === null ? [] : loadCsExpected(location.dir);

interface Loaded {
  readonly sample: CorpusSample;
  readonly bytes: Uint8Array;
  readonly result: BeaconParseResult;
}

const loaded = new Map<string, Loaded>();

function get(md5: string): Loaded {
  const l = loaded.get(md5);
  if (!l) throw new Error(`sample ${md5} not loaded`);
  return l;
}

function only(md5: string): BeaconConfig {
  const { result } = get(md5);
  const config = result.configs[0];
  if (!config) throw new Error(`no config parsed from ${md5}`);
  return config;
}

function setting(config: BeaconConfig, id: number) {
  return config.settings.find((s) => s.id === id);
}

describe.skipIf(location.dir === null)(`Cobalt Strike corpus ${location.dir === null ? `(skipped: ${location.reason})` : ''}`, () => {
  beforeAll(async () => {
    for (const sample of samples) {
      const bytes = await readCsSample(location.dir as string, sample);
      loaded.set(sample.md5, { sample, bytes, result: parseBeaconConfigs(bytes) });
    }
  });

  it('holds the 13 documented samples', () => {
    expect(samples).toHaveLength(13);
  });

  it.each(samples.map((s) => [s.fixture, s.md5] as const))('%s: parses at least one config without errors', (_name, md5) => {
    const { result } = get(md5);
    expect(result.configs.length).toBeGreaterThan(0);
    expect(result.beaconDetected).toBe(true);
  });

  it.each(samples.map((s) => [s.fixture, s.md5] as const))('%s: matches every expected value', (_name, md5) => {
    const { sample, bytes, result } = get(md5);
    const e = sample.expected;
    const c = only(md5);
    const check = (key: string, actual: unknown): void => {
      if (key in e) expect(actual, key).toEqual(e[key]);
    };
    check('xor_encoded_stage', c.containers.some((k) => k.kind === 'sleeve'));
    check('xor_key', c.xorKey);
    check('architecture', c.architecture);
    check('protocol', (c.fields.protocol as { names: string[] }).names[0]);
    check('port', c.fields.port);
    check('setting_domains', (c.fields.domains as { value: string }).value);
    check('setting_domains_raw_length', setting(c, 8)?.length);
    check('watermark', c.watermark);
    check('pe_compile_stamp', c.pe?.compileStamp);
    check('pe_export_stamp', c.pe?.exportStamp);
    check('version', c.version.name);
    check('version_number', c.version.number);
    check('max_setting_id', c.version.maxSettingId);
    check('setting_ids_in_order', c.settings.map((s) => s.id));
    check('public_key_der_hex', c.publicKey?.der);
    check('public_key_raw_field_length', setting(c, 7)?.length);
    check('public_key_md5', c.publicKey?.md5);
    check('public_key_sha1', c.publicKey?.sha1);
    check('public_key_sha256', c.publicKey?.sha256);
    check('magic_mz', c.pe?.magicMz);
    check('magic_pe', c.pe?.magicPe);
    check('stage_prepend_hex', c.pe?.stagePrepend);
    check('stage_append_hex', c.pe?.stageAppend);
    check('is_http_beacon', c.fields.protocol !== undefined && ((c.fields.protocol as { value: number }).value & ~0x8) === 0);
    check('c2_hosts', c.c2.hosts);
    check('c2_hosts_idna', c.c2.hostsIdna);
    check('guardrails', c.guardrails);
    if ('guardrail_payload_xor_key' in e) {
      expect(c.guardrails?.environmentKey).toBe(e.guardrail_payload_xor_key);
      expect(c.guardrails?.options.map((o) => o.id)).toEqual(e.guardrail_options);
      expect(c.guardrails?.options.map((o) => o.name)).toEqual(e.guardrail_option_names);
      expect(c.guardrails?.payloadChecksum).toBe(e.guardrail_checksum);
      expect(c.guardrails?.guardXorKey).toBe(e.guardrail_xor_key);
      expect(c.guardrails?.checksumVerified).toBe(true);
    }
    if ('setting_domains_contains_hex' in e) {
      expect(setting(c, 8)?.raw).toContain(e.setting_domains_contains_hex);
    }
    if ('decoded_stage_md5' in e) {
      const stage = decodeSleeve(bytes);
      expect(stage && createHash('md5').update(stage.decoded).digest('hex')).toBe(e.decoded_stage_md5);
      expect(stage && Buffer.from(stage.decoded.subarray(0, 12)).toString('hex')).toBe(e.decoded_stage_starts_hex);
      // A search range of 10 bytes cannot reach the nonce: dissect's "MZ header not found".
      expect(decodeSleeve(bytes, 10)).toBeNull();
      const narrow = parseBeaconConfigs(bytes, { sleeveSearchRange: 10 });
      expect(narrow.configs).toHaveLength(0);
      expect(narrow.errors.map((x) => x.message).join('\n')).toContain('MZ header not found');
    }
    if ('found_with_default_keys_only' in e) {
      const defaults = parseBeaconConfigs(bytes, { xorKeys: DEFAULT_XOR_KEYS });
      expect(defaults.configs.length > 0).toBe(e.found_with_default_keys_only);
    }
    const s1 = e.s1_json as Record<string, unknown> | undefined;
    if (s1) {
      const jpcert = toJpcertJson(c);
      const head = toJpcertJson(c, { publicKeyMd5: 'full-field' });
      for (const [key, value] of Object.entries(s1)) {
        if (key === 'config_found') expect(result.configs.length > 0).toBe(value);
        else if (key === 'HttpGet_Metadata_Metadata_contains') expect((jpcert.HttpGet_Metadata as { Metadata: string[] }).Metadata).toContain(value);
        else if (key === 'PublicKey_MD5') expect(head.PublicKey_MD5).toBe(value);
        else expect(jpcert[key as keyof typeof jpcert], key).toEqual(value);
      }
    }
    const jp = e.jpcert_json as Record<string, unknown> | undefined;
    if (jp) expect(toJpcertJson(c).PublicKey_MD5).toBe(jp.PublicKey_MD5);
    const profile = e.c2_profile as Record<string, unknown> | undefined;
    if (profile) checkProfile(toMalleableProfile(c), profile);
  });

  it('c2test beacon routes /ptj GETs and /submit.php?id= POSTs with the metadata in the Cookie header', () => {
    const c = only('37882262c9b5e971067fd989b26afe28');
    expect(c.fields.httpGetVerb).toBe('GET');
    expect(c.fields.httpPostVerb).toBe('POST');
    const uris = (c.fields.domains as { pairs: { uri: string }[] }).pairs.map((p) => p.uri);
    expect(uris.some((u) => '/ptj'.startsWith(u))).toBe(true);
    expect('/submit.php?id=242569267'.startsWith(c.fields.submitUri as string)).toBe(true);
    const jp = toJpcertJson(c);
    expect((jp.HttpGet_Metadata as { Metadata: string[] }).Metadata).toEqual(expect.arrayContaining(['base64', 'header "Cookie"']));
  });

  it('every jpcert view has the 66 published keys in order', () => {
    for (const { result } of loaded.values()) {
      for (const c of result.configs) expect(Object.keys(toJpcertJson(c))).toHaveLength(66);
    }
  });
});

function checkProfile(text: string, expected: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(expected)) {
    if (key === 'has_dns_beacon_block') {
      expect(text.includes('dns-beacon {'), key).toBe(value);
    } else if (key === 'contains_text') {
      expect(text).toContain(value);
    } else if (key === 'http-get.uri') {
      expect(text).toContain(`set uri "${(value as string[]).join(' ')}";`);
    } else if (key === 'http-get.client.header') {
      for (const [name, v] of value as [string, string][]) expect(text).toContain(`header "${name}" "${v}";`);
    } else if (key === 'http-post.client.id') {
      const idBlock = /id \{([^}]*)\}/.exec(text)?.[1] ?? '';
      const statements = idBlock.split('\n').map((l) => l.trim()).filter((l) => l !== '');
      const wanted = (value as (string | [string, string])[]).map((s) => (typeof s === 'string' ? `${s};` : `${s[0]} "${s[1]}";`));
      expect(statements).toEqual(wanted);
    } else if (key.startsWith('dns-beacon.')) {
      const name = key.slice('dns-beacon.'.length);
      expect(text).toContain(`set ${name} "${(value as string[])[0]}";`);
    } else {
      throw new Error(`unhandled profile expectation ${key}`);
    }
  }
}
