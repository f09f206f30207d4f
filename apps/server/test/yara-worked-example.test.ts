import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPe, SECTION_DATA } from '@malpipe/analyzers/test/builders/build-pe';
import { createRuleset, createYaraEngine, type CompiledRules } from '@malpipe/yara-engine';
import {
  decode,
  encode,
  generateEncodedPayloadRules,
  peHeaderPlaintext,
  verifyEncodedRules,
  type Codec,
  type EncodedRuleSpec,
} from '@malpipe/yara-gen';
import { createPlatform, startWorkers, type Platform } from '../src/compose.js';
import { loadConfig } from '../src/config.js';
import { runRetrohunt } from '../src/hunting/run-retrohunt.js';
import { runRetrohuntJob } from '../src/hunting/virustotal-hunting.js';
import { VirusTotalClient } from '../src/sources/virustotal-client.js';
import { startFakeVirusTotal, type FakeVirusTotal } from './fake-virustotal.js';

/**
 * The worked example of issue #6 (items 3 and 4): payloads encoded three ways hide from a plain PE rule;
 * generated rules find all of them in a corpus mixed with goodware and nothing else; then the hunting loop
 * (VirusTotal Retrohunt -> hash submission -> fetch -> analyse -> local hunt) finds a further planted sample.
 */

const CODECS: readonly { readonly name: string; readonly codec: Codec }[] = [
  { name: 'Xor4', codec: { op: 'xor', key: 'a1b2c3d4' } },
  { name: 'AddXor', codec: { op: 'chain', steps: [{ op: 'add', key: '32' }, { op: 'xor', key: '20' }] } },
  { name: 'Rc4', codec: { op: 'rc4', key: Buffer.from('huiloader-2026').toString('hex') } },
];

const PLAIN_PE_RULE = `
rule Plain_PE_Header {
  strings:
    $stub = "This program cannot be run in DOS mode"
  condition:
    uint16(0) == 0x5a4d and $stub at 0x4e
}`;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function payload(seed: number): Uint8Array {
  return buildPe({
    timestamp: 0x60000000 + seed,
    sections: [
      { name: '.text', data: new Uint8Array(randomBytes(600 + seed * 13)) },
      { name: '.data', data: new Uint8Array(randomBytes(300)), characteristics: SECTION_DATA },
    ],
    imports: [{ dll: 'KERNEL32.dll', functions: ['VirtualAlloc', 'CreateThread'] }],
  });
}

/** Goodware: benign PEs in the clear, system binaries, text, random and compressed-looking data. */
async function writeGoodware(dir: string): Promise<string[]> {
  const files: string[] = [];
  const put = async (name: string, bytes: Uint8Array): Promise<void> => {
    await writeFile(join(dir, name), bytes);
    files.push(join(dir, name));
  };
  for (let i = 0; i < 4; i++) await put(`clean-${i}.exe`, buildPe({ timestamp: 0x5f000000 + i, dll: i % 2 === 1 }));
  for (let i = 0; i < 4; i++) await put(`random-${i}.bin`, new Uint8Array(randomBytes(4096 + i * 777)));
  await put('zeros.bin', new Uint8Array(8192));
  await put('readme.txt', new Uint8Array(Buffer.from('This program cannot be run in DOS mode. '.repeat(50))));
  // Clean PEs XORed with an unrelated key: encoded goodware-like data that must not match the family's key.
  await put('other-key.bin', encode({ op: 'xor', key: '0f0e0d0c' }, buildPe({ timestamp: 0x5e000000 })));
  let taken = 0;
  for (const name of (await readdir('/usr/bin')).sort()) {
    if (taken >= 25) break;
    const path = join('/usr/bin', name);
    const info = await stat(path).catch(() => null);
    if (info === null || !info.isFile() || info.size > 2 * 1024 * 1024 || info.size < 1024) continue;
    await put(`sys-${name}`, new Uint8Array(await readFile(path)));
    taken++;
  }
  return files;
}

async function scanDir(rules: CompiledRules, files: readonly string[]): Promise<Map<string, string[]>> {
  const hits = new Map<string, string[]>();
  for (const file of files) {
    const matches = await rules.scanFile(file);
    if (matches.length > 0) hits.set(file, matches.map((m) => m.rule));
  }
  return hits;
}

describe('worked example: encoded payloads, generated rules, hunting loop', () => {
  let dir: string;
  let goodware: string[];
  const encodedFiles = new Map<string, string>(); // codec name -> path
  const payloads = new Map<string, Uint8Array>();
  let generatedSource = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malpipe-worked-example-'));
    goodware = await writeGoodware(dir);
    for (const [i, { name, codec }] of CODECS.entries()) {
      const plain = payload(i);
      payloads.set(name, plain);
      const path = join(dir, `${name.toLowerCase()}.dat`);
      await writeFile(path, encode(codec, plain));
      encodedFiles.set(name, path);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a plain PE-header rule finds the clean PEs but none of the encoded payloads', async () => {
    const rules = await (await createYaraEngine('auto')).compile([{ namespace: 'plain', source: PLAIN_PE_RULE }]);
    const hits = await scanDir(rules, [...goodware, ...encodedFiles.values()]);
    rules.dispose();
    for (const path of encodedFiles.values()) expect(hits.has(path)).toBe(false);
    expect([...hits.keys()].filter((p) => p.includes('clean-'))).toHaveLength(4);
  });

  it('generated rules pass the round trip on both engines and find all three payloads, no goodware', async () => {
    const sources: string[] = [];
    for (const { name, codec } of CODECS) {
      const spec: EncodedRuleSpec = { name, codec, plaintext: peHeaderPlaintext(), sourceSamples: [sha256(await readFile(encodedFiles.get(name)!))] };
      const { rules } = generateEncodedPayloadRules(spec);
      expect(rules).toHaveLength(1);
      const verification = await verifyEncodedRules(spec, rules, { payload: payloads.get(name)! });
      expect(verification.length).toBeGreaterThanOrEqual(1);
      for (const v of verification) expect(v, `${v.rule} on ${v.engine}: ${v.detail ?? ''}`).toMatchObject({ ok: true });
      sources.push(...rules.map((r) => r.source));
    }
    generatedSource = sources.join('\n');
    for (const engineName of ['libyara', 'yara-x'] as const) {
      const engine = await createYaraEngine(engineName).catch(() => null);
      if (engine === null) continue;
      const rules = await engine.compile([{ namespace: 'generated', source: generatedSource }]);
      const hits = await scanDir(rules, [...goodware, ...encodedFiles.values()]);
      rules.dispose();
      expect(new Map([...hits].map(([p, r]) => [p, r]))).toEqual(
        new Map(CODECS.map(({ name }) => [encodedFiles.get(name)!, [`MALPIPE_Encoded_${name}_Anchored`]])),
      );
    }
  });

  describe('the hunting loop', () => {
    let vt: FakeVirusTotal;
    let platform: Platform;
    let dataDir: string;
    beforeAll(async () => {
      vt = await startFakeVirusTotal({ keys: { premium: true } });
      dataDir = await mkdtemp(join(tmpdir(), 'malpipe-worked-loop-'));
      const config = loadConfig({
        MALPIPE_DATA_DIR: dataDir,
        MALPIPE_LOG_LEVEL: 'silent',
        MALPIPE_WORKER_CONCURRENCY: '2',
        MALPIPE_VT_API_KEY: 'premium',
        MALPIPE_VT_BASE_URL: vt.url,
        MALPIPE_VT_REQUESTS_PER_MINUTE: '1000',
      });
      platform = await createPlatform(config, { logger: pino({ level: 'silent' }), yara: false, pollIntervalMs: 50 });
      await startWorkers(platform);
      // The local store already holds the goodware corpus.
      for (const file of goodware.slice(0, 12)) await platform.services.submitSample({ content: { path: file }, source: 'cli' });
    });
    afterAll(async () => {
      await platform.close();
      await vt.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('a VirusTotal Retrohunt hit is submitted, fetched and analysed, and the local hunt finds the planted sample', async () => {
      const planted = payload(42);
      const plantedEncoded = encode(CODECS[0]!.codec, planted);
      const plantedSha = vt.addFile({ bytes: plantedEncoded, names: ['svchost.bin'] });
      // Remote retrohunt corpora return noise too: the local hunt is what confirms a hit.
      const noiseSha = vt.addFile({ bytes: new Uint8Array(randomBytes(5000)), names: ['noise.bin'] });
      const client = new VirusTotalClient({ apiKey: 'premium', baseUrl: vt.url });
      const remote = await runRetrohuntJob(client, { db: platform.db, fetchQueue: platform.httpServices.fetchQueue! }, generatedSource, { pollMs: 20 });
      expect([...remote.sha256s].sort()).toEqual([plantedSha, noiseSha].sort());

      const deadline = Date.now() + 30_000;
      for (;;) {
        const rows = await platform.db.selectFrom('hash_requests').select(['hash', 'state']).execute();
        if (rows.length === 2 && rows.every((r) => r.state === 'analysed')) break;
        if (Date.now() > deadline) throw new Error(`hash requests not analysed: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      const ruleset = createRuleset([{ namespace: 'generated', source: generatedSource }]);
      const summary = await runRetrohunt(platform, ruleset);
      expect(summary.scanned).toBe(14);
      expect(summary.hits).toEqual([{ sha256: plantedSha, rules: ['generated:MALPIPE_Encoded_Xor4_Anchored'] }]);
      // The hit decodes (with the codec the rule's meta names) back to the planted PE.
      const stored = await platform.store.getBytes(`samples/${plantedSha.slice(0, 2)}/${plantedSha}`);
      expect(Buffer.from(decode(CODECS[0]!.codec, stored)).equals(Buffer.from(planted))).toBe(true);
      expect(generatedSource).toContain('codec = "xor(a1b2c3d4)"');
    });
  });
});
