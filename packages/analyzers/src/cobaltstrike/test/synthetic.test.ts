import { describe, expect, it } from 'vitest';
import { buildArtifactKit, buildBeacon, buildPe, buildRuntimeTable, concat, encodeSettings, int, ptr, sampleSettings, short } from '../../../test/builders/build-beacon.js';
import { buildStager } from '../../../test/builders/build-stager.js';
import type { BeaconConfig } from '../beacon-config.js';
import { createBeaconScanner } from '../beacon-scanner.js';
import { formatPythonJson, toJpcertJson } from '../jpcert-json.js';
import { toMalleableProfile } from '../malleable-profile.js';
import { DEFAULT_XOR_KEYS, parseBeaconConfigs } from '../parse-beacon-configs.js';
import { LEAKED_PUBLIC_KEYS_DER } from '../public-key.js';
import { SETTING_DEFINITIONS } from '../setting-table.js';

function one(bytes: Uint8Array, options?: Parameters<typeof parseBeaconConfigs>[1]): BeaconConfig {
  const result = parseBeaconConfigs(bytes, options);
  expect(result.configs, JSON.stringify(result.errors)).toHaveLength(1);
  return result.configs[0] as BeaconConfig;
}

describe('synthetic beacons', () => {
  it('decodes every setting type of a 4.5-style config', () => {
    const c = one(buildBeacon(sampleSettings(), { exportStamp: 0x619d3a40 }));
    expect(c.source).toBe('raw');
    expect(c.xorKey).toBe(0x2e);
    expect(c.version.name).toBe('Cobalt Strike 4.5 (Dec 14, 2021)');
    expect(c.fields).toMatchObject({
      protocol: { value: 8, names: ['https'] },
      port: 443,
      sleepTimeMs: 60000,
      jitter: 20,
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
      submitUri: '/submit.php',
      dnsIdle: '8.8.8.8',
      proxyBehavior: 'Use IE settings',
      watermarkHash: 'xi1knfb/QiftN2EAhdtcyw==',
      watermark: 305419896,
      stageCleanup: true,
      cfgCaution: false,
      killDate: '2030-12-31',
      processInjectStartRwx: { value: 0x40, rwx: true },
      processInjectUseRwx: { value: 0x20, rwx: false },
      processInjectTransformX86: { prepend: '9090', append: 'cc' },
      processInjectTransformX64: null,
      processInjectExecute: ['CreateThread', 'CreateThread "ntdll!RtlUserThreadStart+0x42"', 'CreateRemoteThread', 'RtlCreateUserThread'],
      processInjectAllocator: 'NtMapViewOfSection',
      exitFunction: 'process',
      sshBanner: 'SSH-2.0-OpenSSH_8.9',
      headersToRemove: ['X-Forwarded-For'],
      dnsBeacon: 'cdn.',
      domainStrategy: 'failover',
      domainStrategySeconds: -1,
      retryMaxAttempts: 0,
    });
    expect(c.fields.httpGetServerOutput).toEqual({
      steps: [
        { op: 1, name: 'append', argument: 5 },
        { op: 2, name: 'prepend', argument: 10 },
        { op: 3, name: 'base64' },
        { op: 4, name: 'print' },
      ],
      complete: true,
    });
    expect(c.c2.urls).toEqual(['https://c2.example.test/jquery.min.js']);
    expect(c.publicKey?.bits).toBe(1024);
    expect(c.publicKey?.exponent).toBe(65537);
    expect(c.publicKey?.knownPrivateKey).toBe(false);
  });

  it('names every known id 1-78 and keeps unknown ids raw', () => {
    const known = SETTING_DEFINITIONS.map((d) => d.id);
    expect(known).toContain(78);
    const c = one(buildBeacon([...sampleSettings(), short(76, 16), ptr(78, Uint8Array.of(1, 0, 1), 23), ptr(6969, Uint8Array.of(0xde, 0xad), 2), int(99, 7)], { exportStamp: 0 }));
    const byId = new Map(c.settings.map((s) => [s.id, s]));
    expect(byId.get(78)?.value).toEqual(['InternetOpenA', 'VirtualAlloc']);
    expect(byId.get(6969)).toMatchObject({ name: 'SETTING_6969', value: 'dead', raw: 'dead' });
    expect(byId.get(99)).toMatchObject({ name: 'SETTING_99', value: 7 });
    expect(c.version.number).toBe('4.10');
  });

  it.each([
    ['CS 3.x key 0x69', 0x69],
    ['CS 4.x key 0x2e', 0x2e],
    ['plain', 0x00],
    ['cracked key 0xcc', 0xcc],
    ['cracked key 0x01', 0x01],
  ])('finds configs XOR-ed with %s', (_name, key) => {
    const c = one(buildBeacon(sampleSettings(), { xorKey: key }));
    expect(c.xorKey).toBe(key);
    expect(c.watermark).toBe(305419896);
  });

  it('default-keys-only mode misses a custom key', () => {
    const bytes = buildBeacon(sampleSettings(), { xorKey: 0xcc });
    expect(parseBeaconConfigs(bytes, { xorKeys: DEFAULT_XOR_KEYS }).configs).toHaveLength(0);
  });

  it.each([0, 1, 2, 3, 5, 59, 80])('decodes sleeve stages with the nonce at padding %i (x86 and x64)', (padding) => {
    for (const arch of ['x86', 'x64'] as const) {
      const c = one(buildBeacon(sampleSettings(), { encoding: 'sleeve', offsetPadding: padding, arch, prepend: new Uint8Array(8).fill(0x90), exportStamp: 0x603e4ef7 }));
      expect(c.source).toBe('sleeve');
      expect(c.architecture).toBe(arch);
      expect(c.pe?.stagePrepend).toBe('9090909090909090');
      expect(c.pe?.magicMz).toBe(arch === 'x64' ? 'MZAR' : 'MZRE');
      expect(c.version.number).toBe('4.3');
      const sleeve = c.containers[0];
      expect(sleeve?.kind).toBe('sleeve');
      expect(sleeve?.offset).toBe((arch === 'x64' ? 69 : 58) + padding);
    }
  });

  it('reads custom magic MZ/PE and stage append', () => {
    const c = one(buildBeacon(sampleSettings(), { encoding: 'sleeve', magicMz: 'MZRE', magicPe: 'De', prepend: Uint8Array.of(0x90, 0x90, 0x90), append: Uint8Array.of(0x90, 0x90, 0x90), xorKey: 0xaf }));
    expect(c.pe).toMatchObject({ magicPe: 'De', stagePrepend: '909090', stageAppend: '909090' });
    expect(c.xorKey).toBe(0xaf);
  });

  it('unmasks guardrailed configs and reports the environmental key', () => {
    const c = one(buildBeacon(sampleSettings(), { arch: 'x64', guardrails: { key: 'corp.example', option: 7 }, exportStamp: 0x64f88c7e }));
    expect(c.source).toBe('guardrails');
    expect(c.guardrails).toMatchObject({ environmentKey: 'corp.example', checksumVerified: true });
    expect(c.guardrails?.options.map((o) => o.name)).toEqual(['GUARD_DOMAIN', 'GUARD_PAYLOAD_CHECKSUM']);
    expect(c.watermark).toBe(305419896);
    expect(c.version.name).toBe('Cobalt Strike 4.9 (Sep 19, 2023)');
  });

  it('recovers the guardrail key without a checksum option, from the config header alone', () => {
    const c = one(buildBeacon(sampleSettings(), { guardrails: { key: 'alice', option: 5, checksum: false } }));
    expect(c.guardrails?.environmentKey).toBe('alice');
    expect(c.guardrails?.checksumVerified).toBe(false);
  });

  it.each([4, 8] as const)('follows ArtifactKit loaders (%i hint bytes) to the encoded sleeve stage', (hintBytes) => {
    const stage = buildBeacon(sampleSettings({ host: 'artifact.example.test' }), { encoding: 'sleeve' });
    const c = one(buildArtifactKit(stage, { hintBytes }));
    expect(c.containers.map((k) => k.kind)).toEqual(['artifact-kit', 'sleeve']);
    expect(c.c2.hosts).toEqual(['artifact.example.test']);
  });

  it('flags trial beacons (EICAR, crypto scheme 1) and tolerates a non-standard first length field', () => {
    const settings = sampleSettings().map((s) => (s.id === 31 ? short(31, 1) : s.id === 1 ? { ...s, lengthField: 0x47 } : s));
    const c = one(buildBeacon(settings, { dataTrailer: Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*') }));
    expect(c.trial).toBe(true);
    expect(c.fields.protocol).toMatchObject({ value: 8 });
  });

  it('flags public keys whose private key is public', () => {
    const key = Uint8Array.from(Buffer.from(LEAKED_PUBLIC_KEYS_DER[0] as string, 'hex'));
    const settings = sampleSettings().map((s) => (s.id === 7 ? ptr(7, key, 256) : s));
    expect(one(buildBeacon(settings)).publicKey?.knownPrivateKey).toBe(true);
  });

  it('reports every config of a buffer with several beacons and keys', () => {
    const a = buildBeacon(sampleSettings({ host: 'a.example.test' }), { xorKey: 0x69 });
    const b = buildBeacon(sampleSettings({ host: 'b.example.test' }), { xorKey: 0x2e });
    const c = buildBeacon(sampleSettings({ host: 'c.example.test' }), { xorKey: 0x5a });
    const result = parseBeaconConfigs(concat(a, new Uint8Array(333), b, c));
    expect(result.configs.map((x) => x.c2.hosts[0]).sort()).toEqual(['a.example.test', 'b.example.test', 'c.example.test']);
  });

  it('handles the User-Agent overflow edge case', () => {
    const ua = 'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2; .NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0)';
    expect(ua.length).toBeGreaterThan(0x80);
    const settings = [short(1, 0), short(2, 80), int(3, 1000), int(4, 1048576), short(5, 0)];
    const block = encodeSettings([...settings, ptr(9, ua.slice(0, 0x80), 0x80)], 4096);
    // Rewrite the UA record so its string runs past the declared 0x80 bytes, then put /search after its NUL.
    const tail = concat(Buffer.from(ua.slice(0x80)), Uint8Array.of(0), encodeSettings([ptr(10, '/search', 64)], 80));
    const start = block.indexOf(0x4d);
    const full = concat(block.subarray(0, start + 0x80), tail);
    const parsed = parseBeaconConfigs(concat(new Uint8Array(16), full.map((x) => x ^ 0x2e), new Uint8Array(64).fill(0x2e)));
    const c = parsed.configs[0];
    expect(c?.fields.userAgent).toBe(ua);
    expect(c?.fields.submitUri).toBe('/search');
  });
});

describe('runtime settings arrays (memory)', () => {
  const settings = [short(1, 8), short(2, 443), int(3, 45000), int(4, 1048576), short(5, 10), ptr(8, 'mem.example.test,/ga.js', 256), ptr(9, 'UA-mem', 256), int(37, 1359593325), short(31, 0), short(38, 1), ptr(26, 'GET', 16)];

  it.each(['x86', 'x64'] as const)('finds the %s array and resolves pointers through the address space', (arch) => {
    const { table, heap } = buildRuntimeTable(settings, arch);
    const image = concat(new Uint8Array(4096).fill(0x11), new Uint8Array(64), table, new Uint8Array(4096));
    const readVirtual = (address: bigint, size: number): Uint8Array | null => heap.get(address)?.subarray(0, size) ?? null;
    const result = parseBeaconConfigs(image, { readVirtual });
    const c = result.configs.find((x) => x.source === 'memory-runtime');
    expect(c?.architecture).toBe(arch);
    expect(c?.offset).toBe(4096 + 64 - (arch === 'x64' ? 0 : 0));
    expect(c?.watermark).toBe(1359593325);
    expect(c?.c2.urls).toEqual(['https://mem.example.test/ga.js']);
    expect(c?.fields.userAgent).toBe('UA-mem');
    // Without an address space the pointers are reported, not guessed.
    const bare = parseBeaconConfigs(image).configs.find((x) => x.source === 'memory-runtime');
    expect(bare?.settings.find((s) => s.id === 8)?.value).toEqual({ pointer: '0x10000000' });
    expect(bare?.issues.map((i) => i.code)).toContain('unresolved-pointers');
  });
});

describe('streaming scanner', () => {
  it('finds blocks that straddle chunk boundaries, with absolute offsets, whatever the chunk size', () => {
    const beacon = buildBeacon(sampleSettings({ host: 'stream.example.test' }), { xorKey: 0x69 });
    const noise = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 24);
    const input = concat(noise, beacon, noise, beacon.map((x) => x ^ 0x69 ^ 0x2e), noise.subarray(0, 777));
    const expected = parseBeaconConfigs(input, { containers: false, guardrails: false }).configs.map((c) => c.offset);
    expect(expected).toHaveLength(2);
    for (const size of [1000, 4096, 6208, 7001, 65536, 1 << 20]) {
      const scanner = createBeaconScanner();
      const found: BeaconConfig[] = [];
      for (let at = 0; at < input.length; at += size) found.push(...scanner.push(input.subarray(at, at + size)));
      found.push(...scanner.end());
      expect(found.map((c) => c.offset), `chunk ${size}`).toEqual(expected);
      expect(found.every((c) => c.c2.hosts[0] === 'stream.example.test')).toBe(true);
      expect(scanner.bytesScanned).toBe(input.length);
    }
  });
});

describe('formatters', () => {
  const c = one(buildBeacon(sampleSettings().map((s) => (s.id === 54 ? ptr(54, 'Host: front.example.test\r\n', 128) : s))));

  it('jpcert: S1 conventions, corrected by default, bug-compatible on request', () => {
    const fixed = toJpcertJson(c);
    expect(fixed).toMatchObject({
      BeaconType: ['HTTPS'],
      Port: 443,
      PublicKey_MD5: 'cb6d6430483e678947467b68fe27e6cf',
      Malleable_C2_Instructions: ['Remove 5 bytes from the end', 'Remove 10 bytes from the beginning', 'Base64 decode'],
      HttpGet_Metadata: { ConstHeaders: ['Accept: */*', 'Host: cdn.example.test'], ConstParams: ['v=1'], Metadata: ['base64', 'prepend "sid="', 'header "Cookie"'], SessionId: [], Output: [] },
      HttpPost_Metadata: { ConstHeaders: ['Content-Type: text/plain'], ConstParams: [], Metadata: [], SessionId: ['netbios', 'parameter "id"'], Output: ['base64url', 'mask', 'print'] },
      DNS_Idle: '8.8.8.8',
      SSH_Banner: 'SSH-2.0-OpenSSH_8.9',
      Proxy_Behavior: 'Use IE settings',
      bStageCleanup: 'True',
      bCFGCaution: 'False',
      KillDate: '2030-12-31',
      bProcInject_StartRWX: 'True',
      bProcInject_UseRWX: 'False',
      ProcInject_PrependAppend_x86: ['kJA=', 'zA=='],
      ProcInject_PrependAppend_x64: 'Empty',
      ProcInject_Execute: ['CreateThread', 'CreateThread "ntdll!RtlUserThreadStart+0x42"', 'CreateRemoteThread', 'RtlCreateUserThread'],
      ProcInject_AllocationMethod: 'NtMapViewOfSection',
      bUsesCookies: 'True',
      DNS_strategy: 'failover',
      DNS_strategy_rotate_seconds: -1,
      SSH_Host: 'Not Found',
    });
    const compat = toJpcertJson(c, { bugCompatible: true });
    expect(compat.SSH_Banner).toBe('Host: front.example.test\r\n');
    expect(compat.ProcInject_Execute).toEqual(['CreateThread', 'b:b', 'CreateRemoteThread', 'RtlCreateUserThread']);
  });

  it('jpcert text is formatted like Python json.dumps', () => {
    expect(formatPythonJson({ BeaconType: ['HTTP'], Port: 80, C2Server: 'kçi.com,/a"b', KillDate: 0, x: null, y: [] })).toBe(
      '{"BeaconType": ["HTTP"], "Port": 80, "C2Server": "k\\u00e7i.com,/a\\"b", "KillDate": 0, "x": null, "y": []}',
    );
    const text = formatPythonJson(toJpcertJson(c));
    expect(text.startsWith('{"BeaconType": ["HTTPS"], "Port": 443, "SleepTime": 60000,')).toBe(true);
    expect(JSON.parse(text)).toEqual(toJpcertJson(c));
  });

  it('profile: a malleable profile with the transforms in order', () => {
    const text = toMalleableProfile(c);
    expect(text).toContain('set sleeptime "60000";');
    expect(text).toContain('header "Accept" "*/*";');
    expect(text).toMatch(/metadata \{\s+base64;\s+prepend "sid=";\s+header "Cookie";\s+\}/);
    expect(text).toMatch(/output \{\s+base64url;\s+mask;\s+print;\s+\}/);
    expect(text).toContain('CreateThread "ntdll!RtlUserThreadStart+0x42";');
    expect(text).toContain('set beacon "cdn.";');
    expect(text).not.toMatch(/\{\s*\}/);
  });
});

describe('stagers', () => {
  it.each([
    ['http', 'x86'],
    ['https', 'x86'],
    ['http', 'x64'],
    ['https', 'x64'],
  ] as const)('%s %s stager: host, port, URI, headers, TLS, watermark, URL', (kind, arch) => {
    const bytes = buildStager({ kind, arch, host: 'stage.example.test', port: 8443, uri: '/aaa9', headers: ['User-Agent: Mozilla/5.0 (X11)', 'Accept: */*'], watermark: 1234567890 });
    const result = parseBeaconConfigs(bytes);
    const s = result.stagers[0];
    expect(s).toMatchObject({
      kind,
      arch,
      host: 'stage.example.test',
      port: 8443,
      uri: '/aaa9',
      headers: ['User-Agent: Mozilla/5.0 (X11)', 'Accept: */*'],
      userAgent: 'Mozilla/5.0 (X11)',
      tls: kind === 'https',
      watermark: 1234567890,
      url: `${kind}://stage.example.test:8443/aaa9`,
      checksum8: 92,
    });
  });

  it('DNS and SMB stagers', () => {
    expect(parseBeaconConfigs(buildStager({ kind: 'dns', domain: 'stage.dns.example.test', watermark: 42 })).stagers[0]).toMatchObject({ kind: 'dns', host: 'stage.dns.example.test', watermark: 42 });
    expect(parseBeaconConfigs(buildStager({ kind: 'smb', pipeName: '\\\\.\\pipe\\halfduplex_1f', watermark: 7 })).stagers[0]).toMatchObject({ kind: 'smb', pipeName: '\\\\.\\pipe\\halfduplex_1f', watermark: 7 });
  });

  it('stagers embedded as-is in a PE', () => {
    const result = parseBeaconConfigs(buildPe(concat(new Uint8Array(300).fill(0x41), buildStager({ kind: 'https', arch: 'x64', host: 'pe.example.test', port: 443, uri: '/Yle2' }))));
    expect(result.stagers[0]).toMatchObject({ kind: 'https', arch: 'x64', url: 'https://pe.example.test/Yle2', containers: [] });
  });

  it('stagers embedded in an ArtifactKit executable', () => {
    const result = parseBeaconConfigs(buildArtifactKit(buildStager({ kind: 'https', host: '203.0.113.5', port: 443, uri: '/jquery-3.3.1.min.js' }), { hintBytes: 8 }));
    const s = result.stagers.find((x) => x.containers.length > 0);
    expect(s?.url).toBe('https://203.0.113.5/jquery-3.3.1.min.js');
    expect(s?.containers[0]?.kind).toBe('artifact-kit');
  });
});
