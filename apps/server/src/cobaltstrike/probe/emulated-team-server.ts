import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { checksum8 } from '@malpipe/analyzers/cobaltstrike/index';
import type { StageArch } from './checksum8-uri.js';

/**
 * A loopback stand-in for a Cobalt Strike team server's web listener, for tests (kept in src so any test can
 * use it). It follows WebServer.java's `_serve` as far as staging goes: curl/wget/lynx User-Agents get an empty
 * 404, OPTIONS gets the Allow header, strict checksum8 URIs (`/` + 4 characters; x64 before x86) and then
 * non-strict x86 URIs (longer paths) get the stage of their architecture, `uri_x86`/`uri_x64` custom URIs get
 * theirs, everything else an empty `404 text/plain`. It serves bytes it is given (e.g. a synthetic XorEncoded
 * stage from the test builders): it holds no beacon of its own.
 *
 * `behaviour` turns it into a hostile server: `trickle` answers 200 and sends one byte every `trickleMs` forever,
 * `flood` sends `floodBytes` (default 100 MB) as fast as the client reads, `silent` accepts and never answers.
 */
export interface EmulatedTeamServerOptions {
  readonly stages?: Partial<Record<StageArch, Uint8Array>>;
  /** `http-stager { set uri_x86 / uri_x64 }`: custom URIs bound to a stage. */
  readonly customUris?: Readonly<Record<string, StageArch>>;
  /** PEM key and certificate: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly behaviour?: 'team-server' | 'trickle' | 'flood' | 'silent';
  readonly trickleMs?: number;
  readonly floodBytes?: number;
  /** Server headers from the profile's http-stager block (e.g. Content-Type: application/json). */
  readonly stageHeaders?: Readonly<Record<string, string>>;
}

export interface EmulatedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly served: StageArch | null;
  readonly status: number;
}

export interface EmulatedTeamServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  /** `http://127.0.0.1:port` or `https://...`. */
  readonly url: string;
  readonly requests: readonly EmulatedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

const BLOCKED_AGENTS = ['lynx', 'curl', 'wget'];

/** Which stage a request path asks for, by the team server's matching order. */
export function stageForUri(path: string, customUris: Readonly<Record<string, StageArch>> = {}): StageArch | null {
  const custom = customUris[path] ?? customUris[path.replace(/\/$/, '')];
  if (custom !== undefined) return custom;
  const strict = path.length === 5;
  const sum = checksum8(path);
  if (strict && sum === 93 && /^\/[A-Za-z0-9]{4}$/.test(path)) return 'x64';
  if (sum === 92) return 'x86';
  return null;
}

export async function startEmulatedTeamServer(options: EmulatedTeamServerOptions = {}): Promise<EmulatedTeamServer> {
  const requests: EmulatedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const record = (status: number, served: StageArch | null): void => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, served, status });
    };
    res.on('error', () => undefined);
    const behaviour = options.behaviour ?? 'team-server';
    if (behaviour === 'silent') return record(0, null);
    if (behaviour === 'trickle') {
      record(200, null);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const timer = setInterval(() => {
        if (res.destroyed) {
          clearInterval(timer);
          timers.delete(timer);
          return;
        }
        res.write(Uint8Array.of(0x41));
      }, options.trickleMs ?? 50);
      timers.add(timer);
      return;
    }
    if (behaviour === 'flood') {
      record(200, null);
      const total = options.floodBytes ?? 100 * 1024 * 1024;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) });
      const chunk = new Uint8Array(64 * 1024).fill(0x90);
      let sent = 0;
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
      return;
    }
    const agent = (req.headers['user-agent'] ?? '').toLowerCase();
    if (BLOCKED_AGENTS.some((a) => agent.startsWith(a))) {
      record(404, null);
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '0' }).end();
      return;
    }
    if (req.method === 'OPTIONS') {
      record(200, null);
      res.writeHead(200, { Allow: 'OPTIONS,GET,HEAD,POST', 'Content-Length': '0' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const arch = req.method === 'GET' || req.method === 'HEAD' ? stageForUri(path, options.customUris) : null;
    const stage = arch === null ? undefined : options.stages?.[arch];
    if (arch === null || stage === undefined) {
      record(404, null);
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '0' }).end();
      return;
    }
    record(200, arch);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(stage.length), ...options.stageHeaders });
    res.end(req.method === 'HEAD' ? undefined : stage);
  };

  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createHttpServer(handler);
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    host: '127.0.0.1',
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
