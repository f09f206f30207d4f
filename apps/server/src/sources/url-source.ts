import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { AppError } from '@malpipe/core';
import { checkHost, compileAddressPolicy, type AddressFilter } from '../net/address-policy.js';
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

export class UrlSource implements SampleSource {
  readonly name = 'url';
  readonly #allowPrivate: boolean;
  readonly #isAllowed: AddressFilter;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxRedirects: number;

  constructor(options: UrlSourceOptions = {}) {
    this.#allowPrivate = options.allowPrivate ?? false;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#maxRedirects = options.maxRedirects ?? 5;
    this.#isAllowed = compileAddressPolicy({
      allowPrivate: this.#allowPrivate,
      allowedNetworks: options.allowedNetworks ?? [],
    });
  }

  /** True when a connection to `address` is refused. */
  isRefused(address: string): boolean {
    return !this.#isAllowed(address);
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
    // Resolve, check every address, and connect to the one checked: the socket never sees another answer.
    const lookup: LookupFunction = (hostname, options, callback) => {
      checkHost(hostname, this.#isAllowed).then(
        ({ addresses, refused }) => {
          if (refused !== null) {
            callback(
              new AppError('URL_FORBIDDEN', `${hostname} resolves to ${refused.address}, a private or reserved address`),
              '',
              4,
            );
          } else if (options.all === true) {
            callback(null, [...addresses]);
          } else {
            callback(null, addresses[0].address, addresses[0].family);
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
