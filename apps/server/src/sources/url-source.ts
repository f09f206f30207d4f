import { createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError } from '@malpipe/core';
import type { SampleRef, SampleSource, SourceLookup } from './sample-source.js';

/**
 * Any HTTP(S) URL as a SampleSource, safe against SSRF: every address a host name resolves to must be public
 * (private, loopback, link-local, CGNAT, multicast, documentation and reserved ranges are refused, IPv4-mapped
 * and NAT64 IPv6 included), the connection is made to the very address that was checked (no DNS rebinding
 * between check and connect), every redirect is checked again, and size and total time are bounded.
 */
export interface UrlSourceOptions {
  /** Allow private and loopback addresses (a lab network, or tests on 127.0.0.1). Default false. */
  readonly allowPrivate?: boolean;
  /** Private networks allowed one by one, as CIDR (`10.20.0.0/16`, `127.0.0.1/32`); everything else stays refused. */
  readonly allowedNetworks?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly maxRedirects?: number;
}

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** True when `address` (an IP literal) is in a private, loopback or otherwise non-public range. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) reach an IPv4 host: judge that host.
  const embedded = /^(?:::ffff:|64:ff9b::)(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (embedded !== null) {
    const hi = parseInt(embedded[1] ?? '0', 16);
    const lo = parseInt(embedded[2] ?? '0', 16);
    return isPrivateAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1] !== undefined) return isPrivateAddress(dotted[1]);
  return BLOCKED.check(address, 'ipv6');
}

export class UrlSource implements SampleSource {
  readonly name = 'url';
  readonly #allowPrivate: boolean;
  readonly #allowed = new BlockList();
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxRedirects: number;

  constructor(options: UrlSourceOptions = {}) {
    this.#allowPrivate = options.allowPrivate ?? false;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#maxRedirects = options.maxRedirects ?? 5;
    for (const network of options.allowedNetworks ?? []) {
      const [address = '', prefix] = network.split('/');
      const family = isIP(address);
      if (family === 0)
        throw new AppError('CONFIG_INVALID', `allowed network "${network}" is not an IP address or CIDR`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      this.#allowed.addSubnet(
        address,
        prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix),
        type,
      );
    }
  }

  /** True when a connection to `address` is refused. */
  isRefused(address: string): boolean {
    if (this.#allowPrivate || !isPrivateAddress(address)) return false;
    return !this.#allowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }

  accepts(ref: SampleRef): boolean {
    return ref.url !== undefined;
  }

  async lookup(ref: SampleRef, signal: AbortSignal): Promise<SourceLookup> {
    if (ref.url === undefined) throw new AppError('UNSUPPORTED_INPUT', 'the url source fetches URLs only');
    const fetched = await this.fetchUrl(ref.url, signal);
    if (fetched === null) return { status: 'not-found' };
    const sha256 = createHash('sha256').update(fetched.bytes).digest('hex');
    return {
      status: 'found',
      sha256,
      report: null,
      file: { bytes: fetched.bytes, fileName: fetched.fileName, tags: [] },
      fileError: null,
    };
  }

  test(): Promise<string> {
    return Promise.resolve(this.#allowPrivate ? 'ready (private addresses allowed)' : 'ready');
  }

  /** GETs `url` following checked redirects; null on 404/410. Throws URL_FORBIDDEN, SAMPLE_TOO_LARGE, UPSTREAM_FAILED. */
  async fetchUrl(
    url: string,
    signal?: AbortSignal,
  ): Promise<{
    readonly bytes: Uint8Array;
    readonly fileName: string | null;
    readonly finalUrl: string;
  } | null> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let current = parseHttpUrl(url);
    for (let hop = 0; hop <= this.#maxRedirects; hop++) {
      const response = await this.#request(current, combined);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location !== undefined) {
        response.resume();
        current = parseHttpUrl(new URL(response.headers.location, current).toString());
        continue;
      }
      if (status === 404 || status === 410) {
        response.resume();
        return null;
      }
      if (status < 200 || status >= 300) {
        response.resume();
        throw new AppError('UPSTREAM_FAILED', `${redact(current)}: HTTP ${status}`);
      }
      const bytes = await this.#readBody(response, current, combined);
      return { bytes, fileName: fileNameOf(current, response), finalUrl: current.toString() };
    }
    throw new AppError('UPSTREAM_FAILED', `${redact(current)}: more than ${this.#maxRedirects} redirects`);
  }

  #request(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && this.isRefused(host)) {
      return Promise.reject(
        new AppError('URL_FORBIDDEN', `${redact(url)}: ${host} is a private or reserved address`),
      );
    }
    const isRefused = (address: string): boolean => this.isRefused(address);
    // Resolve, check every address, and connect to the one checked: the socket never sees another answer.
    const lookup: LookupFunction = (hostname, options, callback) => {
      dnsLookup(hostname, { all: true, verbatim: true }).then(
        (addresses) => {
          const refused = addresses.find((a) => isRefused(a.address));
          const first = addresses[0];
          if (refused !== undefined) {
            callback(
              new AppError(
                'URL_FORBIDDEN',
                `${hostname} resolves to ${refused.address}, a private or reserved address`,
              ),
              '',
              4,
            );
          } else if (first === undefined) {
            callback(new AppError('UPSTREAM_FAILED', `${hostname} does not resolve`), '', 4);
          } else if (options.all === true) {
            callback(null, addresses);
          } else {
            callback(null, first.address, first.family);
          }
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 4),
      );
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request(
        url,
        { method: 'GET', lookup, signal, agent: false, headers: { 'user-agent': 'malpipe', accept: '*/*' } },
        resolve,
      );
      request.on('error', (error) =>
        reject(error instanceof AppError ? error : toUpstream(error, url, signal)),
      );
      request.end();
    });
  }

  async #readBody(response: IncomingMessage, url: URL, signal: AbortSignal): Promise<Uint8Array> {
    const announced = Number(response.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(announced) && announced > this.#maxBytes) {
      response.destroy();
      throw new AppError(
        'SAMPLE_TOO_LARGE',
        `${redact(url)}: ${announced} bytes, over the ${this.#maxBytes}-byte limit`,
      );
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of response) {
        const buffer = chunk as Buffer;
        total += buffer.byteLength;
        if (total > this.#maxBytes) {
          response.destroy();
          throw new AppError('SAMPLE_TOO_LARGE', `${redact(url)}: over the ${this.#maxBytes}-byte limit`);
        }
        chunks.push(buffer);
      }
    } catch (error) {
      throw error instanceof AppError ? error : toUpstream(error, url, signal);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }
}

function parseHttpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', 'not a valid URL', { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AppError('URL_FORBIDDEN', `${url.protocol} URLs are not fetched`);
  if (url.username !== '' || url.password !== '')
    throw new AppError('URL_FORBIDDEN', 'URLs with credentials are not fetched');
  return url;
}

function toUpstream(error: unknown, url: URL, signal: AbortSignal): AppError {
  const reason = signal.aborted
    ? 'timed out or cancelled'
    : error instanceof Error
      ? error.message
      : String(error);
  return new AppError('UPSTREAM_FAILED', `${redact(url)}: ${reason}`, { cause: error });
}

/** Logs and errors show scheme, host and path only: query strings may carry tokens. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function fileNameOf(url: URL, response: IncomingMessage): string | null {
  const disposition = response.headers['content-disposition'];
  const quoted = disposition === undefined ? null : /filename="?([^";]+)"?/i.exec(disposition);
  let name = quoted?.[1] ?? url.pathname.split('/').pop() ?? '';
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed %-escape: keep the name as sent.
  }
  return name === '' ? null : name.slice(0, 255);
}
