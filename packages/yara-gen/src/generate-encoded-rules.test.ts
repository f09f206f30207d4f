import { beforeAll, describe, expect, it } from 'vitest';
import type { YaraEngine } from '@malpipe/yara-engine';
import { describeCodec, type Codec } from './codec.js';
import { generateEncodedPayloadRules, type EncodedRuleSpec } from './generate-encoded-rules.js';
import { parsePlaintext, peHeaderPlaintext } from './known-plaintext.js';
import { defaultVerificationEngines, verifyEncodedRules } from './verify-encoded-rules.js';

let engines: YaraEngine[];
beforeAll(async () => {
  engines = await defaultVerificationEngines();
});

const STRINGS = [...parsePlaintext('text:ReflectiveLoader'), ...parsePlaintext('hex:fc4883e4f0e8c0000000')];

const CASES: { codec: Codec; strategies: string[] }[] = [
  { codec: { op: 'xor', key: '0a1b2c3d' }, strategies: ['encoded-bytes', 'encoded-strings'] },
  { codec: { op: 'chain', steps: [{ op: 'add', key: '33' }, { op: 'xor', key: '20' }] }, strategies: ['encoded-bytes', 'encoded-strings'] },
  { codec: { op: 'rc4', key: '73656372657421' }, strategies: ['encoded-bytes'] },
  { codec: { op: 'rol', bits: 3 }, strategies: ['encoded-bytes', 'encoded-strings'] },
  { codec: { op: 'rolling-xor', key: '5c', mode: 'increment', step: 1 }, strategies: ['encoded-bytes'] },
  { codec: { op: 'rolling-xor', key: '5c', mode: 'feedback', step: 1 }, strategies: ['encoded-bytes'] },
  { codec: { op: 'base64' }, strategies: ['encoded-bytes', 'base64-modifier'] },
  { codec: { op: 'chain', steps: [{ op: 'xor', key: '7f' }, { op: 'base64' }] }, strategies: ['encoded-bytes', 'base64-modifier'] },
  { codec: { op: 'xor', key: 'unknown' }, strategies: ['key-agnostic', 'xor-modifier'] },
  { codec: { op: 'xor', key: 'unknown', keyLength: 4 }, strategies: ['key-agnostic'] },
  { codec: { op: 'xor', key: 'unknown', keyLength: 3 }, strategies: ['key-agnostic'] },
  { codec: { op: 'add', key: 'unknown', keyLength: 2 }, strategies: ['key-agnostic'] },
  { codec: { op: 'sub', key: 'unknown' }, strategies: ['key-agnostic'] },
  { codec: { op: 'rolling-xor', key: 'unknown', mode: 'increment', step: -1 }, strategies: ['key-agnostic'] },
  { codec: { op: 'rolling-xor', key: 'unknown', mode: 'feedback', step: 1 }, strategies: ['key-agnostic'] },
];

describe('generateEncodedPayloadRules', () => {
  it.each(CASES.map((c) => [describeCodec(c.codec), c] as const))('%s: rules compile on both engines and pass the round trip', async (_name, { codec, strategies }) => {
    const spec: EncodedRuleSpec = { name: 'Test', codec, plaintext: [...peHeaderPlaintext(), ...STRINGS], sourceSamples: ['a'.repeat(64)], date: '2026-11-27' };
    const { rules } = generateEncodedPayloadRules(spec);
    expect(rules.map((r) => r.strategy)).toEqual(strategies);
    const results = await verifyEncodedRules(spec, rules, { engines });
    for (const r of results) expect(r, `${r.rule} on ${r.engine}: ${r.detail ?? ''}\n${rules.find((x) => x.name === r.rule)?.source ?? ''}`).toMatchObject({ ok: true });
    expect(results).toHaveLength(rules.length * engines.length);
  });

  it('records codec, key, offsets, source hashes and generator version in meta', () => {
    const spec: EncodedRuleSpec = { name: 'Meta', codec: { op: 'xor', key: '0a1b2c3d' }, plaintext: peHeaderPlaintext(), sourceSamples: ['b'.repeat(64)], date: '2026-11-27' };
    const [rule] = generateEncodedPayloadRules(spec).rules;
    expect(rule?.source).toContain('codec = "xor(0a1b2c3d)"');
    expect(rule?.source).toContain('key = "0a1b2c3d"');
    expect(rule?.source).toContain('offsets = "0x0-0x3b,0x40-0x7f"');
    expect(rule?.source).toContain(`hash1 = "${'b'.repeat(64)}"`);
    expect(rule?.source).toContain('generator = "malpipe-yara-gen 0.1.0"');
    expect(rule?.source).toMatch(/uint32\(0\) == 0x/);
  });

  it('refuses what cannot be expressed, and says why', () => {
    expect(() =>
      generateEncodedPayloadRules({ name: 'X', codec: { op: 'chain', steps: [{ op: 'add', key: 'unknown' }, { op: 'xor', key: '01' }] }, plaintext: peHeaderPlaintext() }),
    ).toThrow(/single xor\/add\/sub\/rolling-xor step/);
    const rc4Floating = () => generateEncodedPayloadRules({ name: 'X', codec: { op: 'rc4', key: '01' }, plaintext: STRINGS });
    expect(rc4Floating).toThrow(/position-dependent/);
  });
});
