import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '@malpipe/analyzers/test/builders/pseudo-random';
import { buildBeacon, concat, encodeSettings, encodeSleeve, int, ptr, sampleSettings, short, u32le } from '../../../test/builders/build-beacon.js';
import { createBeaconScanner } from '../beacon-scanner.js';
import { decodeSettings } from '../decode-settings.js';
import { toJpcertJson } from '../jpcert-json.js';
import { toMalleableProfile } from '../malleable-profile.js';
import { parseBeaconConfigs } from '../parse-beacon-configs.js';
import { CONFIG_BLOCK_SIZE, MAX_SETTING_RECORDS, parseSettingRecords } from '../parse-setting-records.js';
import { parseStager } from '../parse-stager.js';

const HEADER = Uint8Array.of(0, 1, 0, 1, 0, 2, 0, 8, 0, 2, 0, 1, 0, 2, 1, 0xbb);

function xor(bytes: Uint8Array, key: number): Uint8Array {
  return bytes.map((b) => b ^ key);
}

const noise = (length: number, seed = 0x9e3779b9): Uint8Array => pseudoRandomBytes(length, seed);

describe('hostile input', () => {
  const block = encodeSettings(sampleSettings(), 4096);
  const listEnd = parseSettingRecords(block).end;

  it.each([14, 30, 300, 700, 1500, listEnd - 3])('a config truncated at %i bytes yields a clear error, not a crash', (cut) => {
    const input = concat(new Uint8Array(32), xor(block.subarray(0, cut), 0x2e));
    const result = parseBeaconConfigs(input);
    const codes = [...result.errors.map((e) => e.code), ...result.configs.flatMap((c) => c.issues.map((i) => i.code))];
    expect(codes.some((c) => c.startsWith('truncated') || c === 'record-past-end'), JSON.stringify(result.errors)).toBe(true);
  });

  it('a length pointing past the end of the block is reported', () => {
    const bad = encodeSettings([short(1, 8), short(2, 443), int(3, 1000), int(4, 5), short(5, 0), ptr(8, 'x', 0xffff - 1)].slice(0, 5), 64);
    const tail = Uint8Array.of(0, 8, 0, 3, 0xff, 0xff, 0x41, 0x41);
    const listLength = parseSettingRecords(bad).end - 2;
    const input = concat(bad.subarray(0, listLength), tail);
    const parsed = parseSettingRecords(input);
    expect(parsed.issues.map((i) => i.code)).toContain('record-past-end');
    const result = parseBeaconConfigs(xor(input, 0x69));
    expect(result.errors.map((e) => e.code)).toContain('record-past-end');
  });

  it('loops of zero-length records end at the record cap', () => {
    const records = concat(HEADER, ...Array.from({ length: 1000 }, () => Uint8Array.of(0, 9, 0, 3, 0, 0)));
    const parsed = parseSettingRecords(records.subarray(0, CONFIG_BLOCK_SIZE));
    expect(parsed.records.length).toBeLessThanOrEqual(MAX_SETTING_RECORDS);
    expect(parsed.issues.map((i) => i.code)).toContain('too-many-records');
    const result = parseBeaconConfigs(xor(records, 0x2e));
    expect(result.errors.map((e) => e.code)).toContain('too-many-records');
  });

  it('random data salted with the magic bytes: no crash, bounded, errors reported', () => {
    const data = noise(4 * 1024 * 1024);
    for (let at = 1000; at + HEADER.length < data.length; at += 4099) data.set(xor(HEADER.subarray(0, 12), at & 0xff), at);
    const started = performance.now();
    const result = parseBeaconConfigs(data);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.errors.length).toBeGreaterThan(0);
    expect(result.errors.length).toBeLessThanOrEqual(64);
    for (const c of result.configs) expect(() => JSON.stringify(toJpcertJson(c)) + toMalleableProfile(c)).not.toThrow();
  });

  it('a buffer made only of the header pattern is bounded', () => {
    const data = new Uint8Array(2 * 1024 * 1024);
    for (let at = 0; at + 12 <= data.length; at += 12) data.set(xor(HEADER.subarray(0, 12), 0x2e), at);
    const result = parseBeaconConfigs(data);
    expect(result.configs.length).toBeLessThanOrEqual(64);
  });

  it('huge inputs: 96 MiB of zeros with one beacon at the end', () => {
    const beacon = buildBeacon(sampleSettings({ host: 'late.example.test' }));
    const data = new Uint8Array(96 * 1024 * 1024);
    data.set(beacon, data.length - beacon.length);
    const started = performance.now();
    const result = parseBeaconConfigs(data);
    expect(result.configs.map((c) => c.c2.hosts[0])).toEqual(['late.example.test']);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('sleeve headers with absurd sizes and ArtifactKit blocks pointing past the end', () => {
    const stage = encodeSleeve(buildBeacon(sampleSettings()));
    // Cut download: the stage announces more bytes than present.
    const cut = parseBeaconConfigs(stage.subarray(0, stage.length - 2000));
    expect(cut.errors.map((e) => e.code)).toContain('truncated-stage');
    const bogus = concat(Uint8Array.of(0xfc, 0xe8, 1, 0, 0, 0, 0xff, 0xff, 0xff), u32le(1), u32le(0xffffffff), noise(8000));
    expect(() => parseBeaconConfigs(bogus)).not.toThrow();
    const fake = concat(new Uint8Array(64), u32le(64 + 16), u32le(0x7fffffff), noise(100));
    expect(parseBeaconConfigs(fake).configs).toHaveLength(0);
  });

  it('a guard block whose key cannot be recovered is an error entry', () => {
    const beacon = buildBeacon(sampleSettings(), { guardrails: { key: 'host-a' } });
    const damaged = beacon.slice();
    // Destroy the padding the key recovery relies on, keep the guard header intact.
    const guardAt = damaged.findIndex((_, i) => i > 6144 && ((damaged[i] as number) ^ (damaged[i - 1] as number)) === 0x8a && ((damaged[i + 1] as number) ^ (damaged[i - 2] as number) ^ 0x8a) === 6);
    expect(guardAt).toBeGreaterThan(0);
    damaged.set(noise(6000, 7), guardAt - 6100);
    const result = parseBeaconConfigs(damaged);
    expect(result.errors.map((e) => e.code)).toContain('guardrail-key-not-found');
  });

  it('stager parser survives noise with stager anchors', () => {
    const data = noise(200_000, 3);
    data.set(Uint8Array.of(0x68, 0x77, 0x69, 0x6e, 0x69, 0x51, 0x51, 0x68, 0x50, 0, 0, 0, 0x68, 0, 0, 0, 0x80, 0x52, 0x52, 0xe8, 1, 0xff, 0xff, 0xff), 199_900);
    data.set(Uint8Array.of(0x69, 0x50, 0x68, 0x64, 0x6e), 1000);
    expect(() => parseStager(data)).not.toThrow();
  });

  it('the streaming scanner tolerates empty and tiny chunks', () => {
    const scanner = createBeaconScanner();
    const beacon = buildBeacon(sampleSettings());
    const found = [];
    found.push(...scanner.push(new Uint8Array(0)));
    for (let at = 0; at < beacon.length; at += 7) found.push(...scanner.push(beacon.subarray(at, at + 7)));
    found.push(...scanner.end());
    expect(found).toHaveLength(1);
  });
});

describe('fuzz: random mutations of a real config block', () => {
  const base = encodeSettings(sampleSettings(), CONFIG_BLOCK_SIZE);
  const listEnd = parseSettingRecords(base).end;
  const mutation = fc.record({
    writes: fc.array(fc.tuple(fc.integer({ min: 0, max: listEnd + 64 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.integer({ min: 0, max: CONFIG_BLOCK_SIZE }), { nil: undefined }),
    lengthBomb: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  });

  function mutate(m: { writes: [number, number][]; cut: number | undefined; lengthBomb: number | undefined }): Uint8Array {
    const block = base.slice(0, m.cut ?? CONFIG_BLOCK_SIZE);
    for (const [at, value] of m.writes) if (at < block.length) block[at] = value;
    if (m.lengthBomb !== undefined) {
      // Point the n-th record's length field at 0xffff.
      const record = parseSettingRecords(base).records[m.lengthBomb];
      if (record && record.offset + 5 < block.length) block.set([0xff, 0xff], record.offset + 4);
    }
    return block;
  }

  it('the record parser never throws and stays in bounds (100,000 cases)', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const block = mutate(m);
        const parsed = parseSettingRecords(block);
        if (parsed.records.length > MAX_SETTING_RECORDS || parsed.end > block.length) return false;
        return parsed.records.every((r) => r.offset + 6 + r.value.length <= block.length && (r.typeCode !== 1 || r.value.length === 2));
      }),
      { numRuns: 100_000, seed: 20261127 },
    );
  });

  it('the setting decoders never throw on what the parser returns (10,000 cases)', () => {
    fc.assert(
      fc.property(mutation, (m) => {
        const parsed = parseSettingRecords(mutate(m));
        return decodeSettings(parsed.records).settings.length === parsed.records.length;
      }),
      { numRuns: 10_000, seed: 7 },
    );
  });

  it('the whole pipeline and the formatters never throw on mutated blocks (2,000 cases)', () => {
    fc.assert(
      fc.property(mutation, fc.integer({ min: 0, max: 255 }), (m, key) => {
        const input = concat(new Uint8Array(7), xor(mutate(m), key));
        const result = parseBeaconConfigs(input);
        for (const c of result.configs) {
          JSON.stringify(toJpcertJson(c, { bugCompatible: (key & 1) === 1 }));
          toMalleableProfile(c);
        }
      }),
      { numRuns: 2_000, seed: 42 },
    );
  });
});
