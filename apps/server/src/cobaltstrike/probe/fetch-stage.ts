import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { AppError } from '@malpipe/core';

/** Opens a TCP connection; injectable so tests can prove a refused target never reaches the network. */
export type Dialer = (options: { readonly host: string; readonly port: number }) => Socket;

export const defaultDialer: Dialer = (options) => netConnect({ host: options.host, port: options.port });

/** The server's certificate as the stager saw it (validation is off, as in WinINet stagers, but it is recorded). */
export interface TlsCertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  /** SHA-256 of the DER certificate, upper-case hex with colons (as openssl prints it). */
  readonly fingerprint256: string;
  /** Serial number, upper-case hex. The default keystore certificate has serial 8BB00EE (146473198). */
  readonly serialNumber: string;
  readonly selfSigned: boolean;
}

export interface StageRequest {
  readonly url: URL;
  /** The resolved, policy-checked address to connect to (pinned: no second DNS lookup). */
  readonly address: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly maxBodyBytes: number;
  readonly connectTimeoutMs: number;
  /** Longest silence while reading. */
  readonly readTimeoutMs: number;
  /** Cap on the whole exchange: defeats servers that trickle a byte just often enough. */
  readonly totalTimeoutMs: number;
  /** `http://host:port` of an HTTP proxy; requests go through a CONNECT tunnel. */
  readonly proxy?: URL | null;
  readonly dial?: Dialer;
  readonly signal?: AbortSignal;
}

export interface StageResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
  /** Bytes received (equals body length; at most maxBodyBytes). */
  readonly bodySize: number;
  /** The server had more to send than maxBodyBytes. */
  readonly truncated: boolean;
  readonly tls: TlsCertificateInfo | null;
  readonly durationMs: number;
}

/** Why a fetch failed; timeouts and network errors are worth a retry, a refused policy is not. */
export type FetchFailure = 'connect-timeout' | 'read-timeout' | 'total-timeout' | 'network' | 'tls' | 'proxy' | 'aborted';

// A TLS handshake failure means the port speaks plain HTTP, and a server that trickled past the total cap is a
// tarpit: asking again will not change either.
const NOT_RETRYABLE: ReadonlySet<FetchFailure> = new Set(['aborted', 'tls', 'total-timeout']);

function failure(reason: FetchFailure, message: string, cause?: unknown): AppError {
  return new AppError('UPSTREAM_FAILED', message, { cause, retryable: !NOT_RETRYABLE.has(reason), details: { reason } });
}

export function fetchFailureReason(error: unknown): FetchFailure | null {
  if (!(error instanceof AppError)) return null;
  const reason = error.details?.reason;
  return typeof reason === 'string' ? (reason as FetchFailure) : null;
}

function nameString(name: PeerCertificate['subject'] | undefined): string {
  if (name === undefined || name === null) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

export function describeCertificate(cert: PeerCertificate): TlsCertificateInfo {
  const subject = nameString(cert.subject);
  const issuer = nameString(cert.issuer);
  const fingerprint256 =
    cert.fingerprint256 ||
    (cert.raw ? (createHash('sha256').update(cert.raw).digest('hex').toUpperCase().match(/../g) ?? []).join(':') : '');
  return {
    subject,
    issuer,
    validFrom: cert.valid_from,
    validTo: cert.valid_to,
    fingerprint256,
    serialNumber: (cert.serialNumber ?? '').toUpperCase(),
    selfSigned: subject !== '' && subject === issuer,
  };
}

function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** Reads the proxy's CONNECT answer; resolves once the tunnel is up (anything but 2xx is a proxy failure). */
function openTunnel(socket: Socket, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 16 * 1024) done(failure('proxy', 'proxy answered CONNECT with an oversized header'));
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (status === undefined || !status.startsWith('2')) return done(failure('proxy', `proxy refused CONNECT ${target}: ${status ?? 'bad answer'}`));
      // Bytes after the header belong to the tunnelled stream.
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      done(null);
    };
    const onError = (error: Error): void => done(failure('proxy', `proxy connection failed: ${error.message}`, error));
    const onClose = (): void => done(failure('proxy', 'proxy closed the connection during CONNECT'));
    const done = (error: AppError | null): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

function waitConnected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!socket.connecting) return resolve();
    socket.once('connect', () => resolve());
    socket.once('error', (error) => reject(failure('network', `connect failed: ${error.message}`, error)));
  });
}

function startTls(socket: Socket, servername: string | undefined): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // Stagers call WinINet with SECURITY_FLAG_IGNORE_*: team servers run on self-signed certificates.
    const tls = tlsConnect({ socket, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (error) => reject(failure('tls', `TLS handshake failed: ${error.message}`, error)));
  });
}

/**
 * One GET of a stage URL on node:net/tls/http, so every socket, timeout and byte is under control: connect to
 * the pinned address (or a CONNECT tunnel through `proxy`), optional TLS without validation (certificate
 * recorded), the request with the caller's headers, and a body read that stops at `maxBodyBytes`. Redirects are
 * not followed (a stage is never redirected by a team server; a redirect could point at a denied address).
 */
export async function fetchStage(req: StageRequest): Promise<StageResponse> {
  const started = Date.now();
  const port = Number(req.url.port || (req.url.protocol === 'https:' ? 443 : 80));
  const dial = req.dial ?? defaultDialer;
  const sockets: Duplex[] = [];
  let timeoutError: AppError | null = null;
  const destroyAll = (error: AppError): void => {
    timeoutError ??= error;
    for (const s of sockets) s.destroy(error);
  };
  const total = setTimeout(() => destroyAll(failure('total-timeout', `no complete answer within ${req.totalTimeoutMs} ms`)), req.totalTimeoutMs);
  const onAbort = (): void => destroyAll(failure('aborted', 'probe aborted'));
  req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (req.signal?.aborted === true) throw failure('aborted', 'probe aborted');
    const via = req.proxy ?? null;
    const raw = via === null ? dial({ host: req.address, port }) : dial({ host: via.hostname.replace(/^\[|\]$/g, ''), port: Number(via.port || 80) });
    sockets.push(raw);
    // Failures reach the caller through the awaited steps below; this listener only keeps a late socket error
    // (a reset after the answer, a destroy with our own timeout error) from becoming an uncaught exception.
    raw.on('error', () => undefined);
    const connectTimer = setTimeout(() => destroyAll(failure('connect-timeout', `no connection within ${req.connectTimeoutMs} ms`)), req.connectTimeoutMs);
    try {
      await waitConnected(raw);
      if (via !== null) await openTunnel(raw, hostPort(req.address, port));
    } finally {
      clearTimeout(connectTimer);
    }
    let socket: Socket = raw;
    let tls: TlsCertificateInfo | null = null;
    if (req.url.protocol === 'https:') {
      const host = req.url.hostname.replace(/^\[|\]$/g, '');
      const handshakeTimer = setTimeout(() => destroyAll(failure('connect-timeout', `no TLS handshake within ${req.connectTimeoutMs} ms`)), req.connectTimeoutMs);
      try {
        const secure = await startTls(raw, isIP(host) === 0 ? host : undefined);
        sockets.push(secure);
        secure.on('error', () => undefined);
        socket = secure;
        const cert = secure.getPeerCertificate();
        tls = cert && Object.keys(cert).length > 0 ? describeCertificate(cert) : null;
      } finally {
        clearTimeout(handshakeTimer);
      }
    }
    const response = await exchange(req, socket, destroyAll);
    return { ...response, tls, durationMs: Date.now() - started };
  } catch (error) {
    throw timeoutError ?? (error instanceof AppError ? error : failure('network', (error as Error).message, error));
  } finally {
    clearTimeout(total);
    req.signal?.removeEventListener('abort', onAbort);
    for (const s of sockets) s.destroy();
  }
}

function exchange(
  req: StageRequest,
  socket: Socket,
  destroyAll: (error: AppError) => void,
): Promise<Omit<StageResponse, 'tls' | 'durationMs'>> {
  return new Promise((resolve, reject) => {
    socket.setTimeout(req.readTimeoutMs, () => destroyAll(failure('read-timeout', `server silent for ${req.readTimeoutMs} ms`)));
    const client = httpRequest({
      createConnection: () => socket,
      method: 'GET',
      path: `${req.url.pathname}${req.url.search}`,
      headers: { ...req.headers },
      setHost: false,
    });
    client.on('error', (error) => reject(error instanceof AppError ? error : failure('network', error.message, error)));
    client.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const finish = (): void => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks, size)), bodySize: size, truncated });
      };
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = req.maxBodyBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          truncated = true;
          // Enough: stop the download at once rather than draining a 100 MB answer.
          res.destroy();
          finish();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.once('end', finish);
      res.on('error', (error) => {
        if (!truncated) reject(error instanceof AppError ? error : failure('network', error.message, error));
      });
      res.once('close', () => {
        if (!truncated && !res.complete) reject(failure('network', 'connection closed before the body was complete'));
      });
    });
    client.end();
  });
}
