import { X509Certificate } from 'node:crypto';
import { createServer as createNetServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import { checksum8, checksum8Uri, isChecksum8Uri } from './checksum8-uri.js';
import { startEmulatedTeamServer, stageForUri, type EmulatedTeamServer } from './emulated-team-server.js';
import { defaultDialer, fetchStage, type Dialer } from './fetch-stage.js';
import { parseProbeTarget, probeTeamServer, type ProbeOptions } from './probe-team-server.js';
import { RateLimiter } from './rate-limiter.js';
import { makeSelfSignedCertificate, type TestCertificate } from './test-certificate.js';

const X86_STAGE = buildBeacon(sampleSettings({ host: 'x86.c2.example.test', watermark: 1234567890 }), { encoding: 'sleeve', arch: 'x86' });
const X64_STAGE = buildBeacon(sampleSettings({ host: 'x64.c2.example.test', watermark: 987654321 }), { encoding: 'sleeve', arch: 'x64' });

/** Loopback allowed, short timers, no pacing: the settings every test against 127.0.0.1 needs. */
const LOOPBACK: ProbeOptions = {
  allowLoopbackForTests: true,
  retries: 0,
  connectTimeoutMs: 2_000,
  readTimeoutMs: 2_000,
  totalTimeoutMs: 5_000,
  rateLimiter: new RateLimiter({ globalIntervalMs: 0, perHostIntervalMs: 0 }),
};

describe('checksum8Uri', () => {
  it('generates URIs the team server maps to the asked architecture', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 64, maxLength: 64 }), fc.constantFrom('x86' as const, 'x64' as const), (draws, arch) => {
        let i = 0;
        const uri = checksum8Uri(arch, (max) => (draws[i++ % draws.length] ?? 0) % max);
        expect(uri).toMatch(/^\/[A-Za-z0-9]{4}$/);
        expect(checksum8(uri)).toBe(arch === 'x86' ? 92 : 93);
        expect(isChecksum8Uri(uri, arch)).toBe(true);
        expect(stageForUri(uri)).toBe(arch);
      }),
    );
  });

  it('varies between calls and rejects ordinary paths', () => {
    const uris = new Set(Array.from({ length: 50 }, () => checksum8Uri('x64')));
    expect(uris.size).toBeGreaterThan(40);
    expect(isChecksum8Uri('/ab2g', 'x86')).toBe(true);
    expect(isChecksum8Uri('/ab2h', 'x64')).toBe(true);
    expect(isChecksum8Uri('/ab2h', 'x86')).toBe(false);
    expect(isChecksum8Uri('/index.html')).toBe(false);
  });
});

describe('parseProbeTarget', () => {
  it('reads host:port, [v6]:port and URLs', () => {
    expect(parseProbeTarget('203.0.113.5:8080')).toEqual({ host: '203.0.113.5', port: 8080, schemes: ['http', 'https'], path: null });
    expect(parseProbeTarget('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443, schemes: ['https', 'http'], path: null });
    expect(parseProbeTarget('https://c2.example.test/')).toEqual({ host: 'c2.example.test', port: null, schemes: ['https'], path: null });
    expect(parseProbeTarget('http://c2.example.test:81/Kx9a')).toMatchObject({ port: 81, path: '/Kx9a' });
    expect(() => parseProbeTarget('ftp://x')).toThrow(/unsupported scheme/);
    expect(() => parseProbeTarget('host:1/path')).toThrow(/expected host:port/);
  });
});

describe('RateLimiter', () => {
  it('spaces requests globally and per host', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const limiter = new RateLimiter({ globalIntervalMs: 100, perHostIntervalMs: 1_000, now: () => now, sleep: async (ms) => void waits.push(ms) });
    await limiter.acquire('a');
    await limiter.acquire('b');
    await limiter.acquire('a');
    now += 50;
    await limiter.acquire('c');
    // b waits for the global gap, the second a for its host gap, c (50 ms later) for the global slot after a.
    expect(waits).toEqual([100, 1_000, 1_050]);
  });
});

describe(probeTeamServer.name, () => {
  let server: EmulatedTeamServer;
  beforeAll(async () => {
    server = await startEmulatedTeamServer({ stages: { x86: X86_STAGE, x64: X64_STAGE } });
  });
  afterAll(() => server.close());

  it('downloads both stages with checksum8 URIs and stager-like headers, and recovers both configs', async () => {
    const before = server.requests.length;
    const result = await probeTeamServer(`127.0.0.1:${server.port}`, { ...LOOPBACK, schemes: ['http'] });
    const ok = result.attempts.filter((a) => a.status === 200);
    expect(ok.map((a) => a.arch)).toEqual(['x86', 'x64']);
    expect(result.configs.map((c) => c.watermark)).toEqual([1234567890, 987654321]);
    expect(result.configs.map((c) => c.c2.hosts[0])).toEqual(['x86.c2.example.test', 'x64.c2.example.test']);
    const x86 = ok[0];
    expect(x86?.bodySize).toBe(X86_STAGE.length);
    expect(Buffer.from(x86?.body ?? []).equals(Buffer.from(X86_STAGE))).toBe(true);
    expect(x86?.headers['content-type']).toBe('application/octet-stream');
    const seen = server.requests.slice(before);
    for (const request of seen) {
      expect(isChecksum8Uri(request.url)).toBe(true);
      expect(request.headers['user-agent']).toMatch(/^Mozilla\/[45]\.0 \(compatible; MSIE|Trident/);
      expect(request.headers.host).toBe(`127.0.0.1:${server.port}`);
    }
  });

  it('gets 404 for invalid URIs and blocked User-Agents, as a team server answers', async () => {
    const base = { address: '127.0.0.1', maxBodyBytes: 1024, connectTimeoutMs: 2_000, readTimeoutMs: 2_000, totalTimeoutMs: 5_000 };
    const notStager = await fetchStage({ ...base, url: new URL(`${server.url}/ab2x`), headers: { Host: `127.0.0.1:${server.port}`, 'User-Agent': 'Mozilla/4.0' } });
    expect(notStager.status).toBe(404);
    expect(notStager.bodySize).toBe(0);
    const curl = await fetchStage({ ...base, url: new URL(`${server.url}/ab2g`), headers: { Host: `127.0.0.1:${server.port}`, 'User-Agent': 'curl/8.5.0' } });
    expect(curl.status).toBe(404);
    const result = await probeTeamServer(`${server.url}/index.html`, LOOPBACK);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]).toMatchObject({ status: 404, arch: null, configs: [] });
  });

  it('follows an explicit custom stager URI', async () => {
    const custom = await startEmulatedTeamServer({ stages: { x64: X64_STAGE }, customUris: { '/jquery-3.3.1.slim.min.js': 'x64' } });
    try {
      const result = await probeTeamServer(`${custom.url}/jquery-3.3.1.slim.min.js`, LOOPBACK);
      expect(result.configs.map((c) => c.watermark)).toEqual([987654321]);
    } finally {
      await custom.close();
    }
  });

  it('caps the body of a server that sends 100 MB', async () => {
    const flood = await startEmulatedTeamServer({ behaviour: 'flood', floodBytes: 100 * 1024 * 1024 });
    try {
      const started = Date.now();
      const result = await probeTeamServer(`${flood.url}/`, { ...LOOPBACK, archs: ['x86'], maxBodyBytes: 1024 * 1024 });
      const attempt = result.attempts[0];
      expect(attempt).toMatchObject({ status: 200, truncated: true, bodySize: 1024 * 1024, error: null });
      expect(attempt?.body.length).toBe(1024 * 1024);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await flood.close();
    }
  });

  it('gives up on a server that trickles forever (total timeout) and one that never answers (read timeout, retried)', async () => {
    const trickle = await startEmulatedTeamServer({ behaviour: 'trickle', trickleMs: 20 });
    const silent = await startEmulatedTeamServer({ behaviour: 'silent' });
    try {
      const started = Date.now();
      const slow = await probeTeamServer(`${trickle.url}/`, { ...LOOPBACK, retries: 2, backoffMs: 1, readTimeoutMs: 300, totalTimeoutMs: 600 });
      expect(slow.attempts[0]?.error).toMatchObject({ code: 'UPSTREAM_FAILED', reason: 'total-timeout' });
      // A tarpit is not asked again, nor for the other architecture.
      expect(slow.attempts).toHaveLength(1);
      expect(slow.attempts[0]?.tries).toBe(1);
      expect(Date.now() - started).toBeLessThan(3_000);

      const slept: number[] = [];
      const mute = await probeTeamServer(`${silent.url}/`, {
        ...LOOPBACK,
        archs: ['x86'],
        readTimeoutMs: 150,
        retries: 2,
        backoffMs: 10,
        sleep: async (ms) => void slept.push(ms),
      });
      expect(mute.attempts[0]?.error?.reason).toBe('read-timeout');
      expect(mute.attempts[0]?.tries).toBe(3);
      expect(slept).toEqual([10, 20]);
      expect(silent.connections).toBe(3);
    } finally {
      await trickle.close();
      await silent.close();
    }
  });

  it('refuses denied addresses before any connection', async () => {
    const dialed: string[] = [];
    const spy: Dialer = (o) => {
      dialed.push(o.host);
      return defaultDialer(o);
    };
    const strict: ProbeOptions = { ...LOOPBACK, allowLoopbackForTests: false, dial: spy };
    for (const target of ['127.0.0.1:' + server.port, '10.0.0.1:80', '[::1]:443', '169.254.169.254:80', 'http://169.254.169.254/latest/meta-data/', `localhost:${server.port}`]) {
      await expect(probeTeamServer(target, strict), target).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    // A name is judged by every address it resolves to.
    await expect(
      probeTeamServer('c2.example.test:80', { ...strict, lookup: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.1.2.3', family: 4 }] }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('c2.example.test resolves to 10.1.2.3') });
    expect(dialed).toEqual([]);
    const connectionsBefore = server.connections;
    await expect(probeTeamServer(`localhost:${server.port}`, { ...strict })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(server.connections).toBe(connectionsBefore);
  });

  it('goes through a CONNECT proxy', async () => {
    const proxy = await startConnectProxy();
    try {
      const result = await probeTeamServer(`127.0.0.1:${server.port}`, { ...LOOPBACK, schemes: ['http'], proxy: `http://127.0.0.1:${proxy.port}` });
      expect(result.configs).toHaveLength(2);
      expect(proxy.targets).toEqual([`127.0.0.1:${server.port}`, `127.0.0.1:${server.port}`]);
    } finally {
      await proxy.close();
    }
  });
});

describe('probeTeamServer over HTTPS', () => {
  let cert: TestCertificate | null = null;
  beforeAll(async () => {
    cert = await makeSelfSignedCertificate();
    if (cert === null && process.env.CI === 'true') throw new Error('openssl is required in CI for the HTTPS probe test');
  });

  it('accepts a self-signed certificate, records it, and recovers the config', async (context) => {
    if (cert === null) return context.skip('openssl not installed: cannot make a test certificate');
    const server = await startEmulatedTeamServer({ stages: { x86: X86_STAGE, x64: X64_STAGE }, tls: cert });
    try {
      const result = await probeTeamServer(`127.0.0.1:${server.port}`, LOOPBACK);
      const https = result.attempts.filter((a) => a.scheme === 'https');
      expect(https.map((a) => a.status)).toEqual([200, 200]);
      // The plain-HTTP attempt on a TLS port fails with an answer (400) or a closed socket, never a config.
      expect(result.attempts.filter((a) => a.scheme === 'http').every((a) => a.configs.length === 0)).toBe(true);
      expect(result.configs.map((c) => c.watermark)).toEqual([1234567890, 987654321]);
      const x509 = new X509Certificate(cert.cert);
      expect(https[0]?.tls).toMatchObject({
        serialNumber: '08BB00EE',
        fingerprint256: x509.fingerprint256,
        selfSigned: true,
        validTo: x509.validTo,
      });
      expect(https[0]?.tls?.subject).toContain('CN=Major Cobalt Strike');
    } finally {
      await server.close();
    }
  });
});

/** A minimal HTTP CONNECT proxy on 127.0.0.1 that only tunnels to 127.0.0.1. */
async function startConnectProxy(): Promise<{ port: number; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createNetServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.once('data', (head) => {
      const match = /^CONNECT (127\.0\.0\.1):(\d+) HTTP\/1\.1\r\n/.exec(head.toString('latin1'));
      if (!match?.[1] || !match[2]) return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      targets.push(`${match[1]}:${match[2]}`);
      const upstream = netConnect({ host: match[1], port: Number(match[2]) }, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
