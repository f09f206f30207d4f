import { createHash, randomInt } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { AppError, isAppError, toAppError } from '@malpipe/core';
import { parseBeaconConfigs, stagerUriArch, type BeaconConfig, type FoundStager, type ParseBeaconOptions } from '@malpipe/analyzers/cobaltstrike/index';
import { checkHost, compileAddressPolicy, type AddressPolicy, type CheckedHost, type HostLookup } from '../../net/address-policy.js';
import { checksum8Uri, type RandomInt, type StageArch } from './checksum8-uri.js';
import { fetchFailureReason, fetchStage, type Dialer, type TlsCertificateInfo } from './fetch-stage.js';
import { RateLimiter, delay } from './rate-limiter.js';

export type ProbeScheme = 'http' | 'https';

const SCHEME_FATAL: ReadonlySet<string> = new Set(['tls', 'network', 'connect-timeout', 'proxy', 'read-timeout', 'total-timeout']);

/**
 * User-Agents of the IE era that stagers send (the default profile picks one of these per listener). Never curl,
 * wget or lynx (team servers answer those with 404) and never empty (the Sentinel-One/L8 signature).
 */
export const STAGER_USER_AGENTS = [
  'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)',
  'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; WOW64; Trident/5.0)',
  'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)',
  'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko',
] as const;

export const PROBE_DEFAULTS = Object.freeze({
  maxBodyBytes: 4 * 1024 * 1024,
  connectTimeoutMs: 10_000,
  readTimeoutMs: 15_000,
  totalTimeoutMs: 60_000,
  retries: 2,
  backoffMs: 1_000,
  globalIntervalMs: 200,
  perHostIntervalMs: 1_000,
});

export interface ProbeOptions extends Pick<AddressPolicy, 'allowPrivate' | 'allowLoopbackForTests'> {
  /** Schemes to try; default both for `host:port`, the URL's own for a URL. */
  readonly schemes?: readonly ProbeScheme[];
  readonly archs?: readonly StageArch[];
  /** Default: one of STAGER_USER_AGENTS; a stager's own UA when known. */
  readonly userAgent?: string;
  /** Extra request headers (e.g. a stager's header block or a Host override for fronted servers). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBodyBytes?: number;
  readonly connectTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly totalTimeoutMs?: number;
  /** Further tries after a network failure or timeout (not after an HTTP answer). */
  readonly retries?: number;
  /** First back-off delay; doubles on each retry. */
  readonly backoffMs?: number;
  /** Shared between probes of a process; default: a fresh limiter with PROBE_DEFAULTS intervals. */
  readonly rateLimiter?: RateLimiter;
  /** `http://host:port` of an outbound HTTP proxy (CONNECT). */
  readonly proxy?: string | null;
  readonly parse?: ParseBeaconOptions;
  readonly signal?: AbortSignal;
  /** Test seams. */
  readonly lookup?: HostLookup;
  readonly dial?: Dialer;
  readonly random?: RandomInt;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ProbeAttemptError {
  readonly code: string;
  /** connect-timeout, read-timeout, total-timeout, network, tls, proxy, aborted. */
  readonly reason: string | null;
  readonly message: string;
}

export interface ProbeAttempt {
  readonly url: string;
  readonly scheme: ProbeScheme;
  /** The stage asked for; null for a custom (non-checksum8) URI taken from a stager. */
  readonly arch: StageArch | null;
  readonly address: string;
  readonly startedAt: string;
  readonly status: number | null;
  readonly headers: IncomingHttpHeaders;
  readonly tls: TlsCertificateInfo | null;
  readonly bodySize: number;
  readonly truncated: boolean;
  /** The raw body as received (kept so parsing can be re-run offline). */
  readonly body: Uint8Array;
  readonly bodySha256: string | null;
  readonly configs: readonly BeaconConfig[];
  readonly stagers: readonly FoundStager[];
  readonly beaconDetected: boolean;
  readonly error: ProbeAttemptError | null;
  /** Tries spent on this URL (1 + retries used). */
  readonly tries: number;
  readonly durationMs: number;
}

export interface ProbeTarget {
  readonly host: string;
  readonly port: number | null;
  readonly schemes: readonly ProbeScheme[];
  /** An explicit path from a URL target (e.g. a stager's URI); null for the server root. */
  readonly path: string | null;
}

export interface ProbeResult {
  readonly target: string;
  readonly host: string;
  readonly addresses: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly attempts: readonly ProbeAttempt[];
  /** Every config recovered, in attempt order (x86 and x64 stages usually carry different configs). */
  readonly configs: readonly BeaconConfig[];
}

/** Parses `host:port`, `[v6]:port`, a bare host or an http(s) URL. Throws VALIDATION_FAILED. */
export function parseProbeTarget(target: string): ProbeTarget {
  const text = target.trim();
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(isUrl ? text : `http://${text}`);
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `not a URL or host:port: ${JSON.stringify(text.slice(0, 200))}`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('VALIDATION_FAILED', `unsupported scheme ${url.protocol} (http or https)`);
  if (url.username !== '' || url.password !== '') throw new AppError('VALIDATION_FAILED', 'credentials in probe targets are not supported');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === '') throw new AppError('VALIDATION_FAILED', 'probe target has no host');
  if (!isUrl && (url.pathname !== '/' || url.search !== '')) throw new AppError('VALIDATION_FAILED', `expected host:port, got ${JSON.stringify(text.slice(0, 200))}`);
  const port = url.port === '' ? null : Number(url.port);
  const path = isUrl && (url.pathname !== '/' || url.search !== '') ? `${url.pathname}${url.search}` : null;
  const schemes: ProbeScheme[] = isUrl ? [url.protocol === 'https:' ? 'https' : 'http'] : port === 443 || port === 8443 ? ['https', 'http'] : ['http', 'https'];
  return { host, port, schemes, path };
}

function urlFor(scheme: ProbeScheme, host: string, port: number | null, path: string): URL {
  const h = isIP(host) === 6 ? `[${host}]` : host;
  return new URL(`${scheme}://${h}${port === null ? '' : `:${port}`}${path}`);
}

function hostHeader(url: URL): string {
  return url.host;
}

/**
 * Resolves the target and checks every address it resolves to. Returns the addresses to connect to (callers pin
 * them); throws FORBIDDEN before any connection is made, UPSTREAM_FAILED (not retryable) when the name does not resolve.
 */
async function resolveAllowedAddresses(host: string, options: ProbeOptions): Promise<readonly string[]> {
  let checked: CheckedHost;
  try {
    checked = await checkHost(host, compileAddressPolicy(options), options.lookup);
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError('UPSTREAM_FAILED', `cannot resolve ${host}: ${(error as Error).message}`, { cause: error, retryable: false });
  }
  if (checked.refused !== null) {
    const { address, reason } = checked.refused;
    const via = address === checked.host ? '' : ` (${checked.host} resolves to ${address})`;
    throw new AppError('FORBIDDEN', `refusing to probe ${address}${via}: ${reason} address`, { details: { host: checked.host, address } });
  }
  return checked.addresses.map((a) => a.address);
}

function attemptError(error: unknown): ProbeAttemptError {
  const appError = toAppError(error, 'UPSTREAM_FAILED');
  return { code: appError.code, reason: fetchFailureReason(appError), message: appError.message };
}

/**
 * Downloads the beacon stage from a suspected team server the way a stager does and parses it: for each scheme,
 * a random checksum8 URI per architecture (or the explicit URI of a URL target), realistic WinINet-like headers,
 * TLS without validation (certificate recorded), capped body and time, retries with exponential back-off on
 * network failures, a global and per-host rate limit, an optional proxy. The host is resolved first and every
 * address checked against the deny-list (throws FORBIDDEN before any connection); connections are pinned to the
 * checked address. An HTTP 404 is an answer, not an error: it is what a team server says without a stager.
 */
export async function probeTeamServer(target: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const parsed = parseProbeTarget(target);
  const startedAt = new Date().toISOString();
  const addresses = await resolveAllowedAddresses(parsed.host, options);
  const address = addresses[0] as string;
  const limiter = options.rateLimiter ?? new RateLimiter({ globalIntervalMs: PROBE_DEFAULTS.globalIntervalMs, perHostIntervalMs: PROBE_DEFAULTS.perHostIntervalMs });
  const sleep = options.sleep ?? delay;
  const random = options.random;
  const userAgent = options.userAgent ?? STAGER_USER_AGENTS[(random ?? randomInt)(STAGER_USER_AGENTS.length)] ?? STAGER_USER_AGENTS[0];
  const proxy = options.proxy ? new URL(options.proxy) : null;
  if (proxy !== null && proxy.protocol !== 'http:') throw new AppError('VALIDATION_FAILED', `unsupported proxy scheme ${proxy.protocol} (http only)`);
  const schemes = options.schemes ?? parsed.schemes;
  const archs = options.archs ?? ['x86', 'x64'];

  const attempts: ProbeAttempt[] = [];
  for (const scheme of schemes) {
    const paths: { path: string; arch: StageArch | null }[] =
      parsed.path !== null
        ? [{ path: parsed.path, arch: stagerUriArch(parsed.path.split('?')[0] ?? '') }]
        : archs.map((arch) => ({ path: checksum8Uri(arch, random), arch }));
    for (const { path, arch } of paths) {
      if (options.signal?.aborted === true) break;
      const url = urlFor(scheme, parsed.host, parsed.port, path);
      const attempt = await attemptWithRetries(url, scheme, arch, address, { ...options, userAgent, proxy, limiter, sleep });
      attempts.push(attempt);
      // A port that refused the connection or the handshake, or stalled, will do the same for the other architecture.
      if (attempt.status === null && SCHEME_FATAL.has(attempt.error?.reason ?? '')) break;
    }
  }
  return {
    target,
    host: parsed.host,
    addresses,
    startedAt,
    finishedAt: new Date().toISOString(),
    attempts,
    configs: attempts.flatMap((a) => a.configs),
  };
}

interface AttemptSettings extends Omit<ProbeOptions, 'proxy' | 'userAgent'> {
  readonly userAgent: string;
  readonly proxy: URL | null;
  readonly limiter: RateLimiter;
  readonly sleep: (ms: number) => Promise<void>;
}

async function attemptWithRetries(url: URL, scheme: ProbeScheme, arch: StageArch | null, address: string, s: AttemptSettings): Promise<ProbeAttempt> {
  const retries = Math.max(0, s.retries ?? PROBE_DEFAULTS.retries);
  const backoff = s.backoffMs ?? PROBE_DEFAULTS.backoffMs;
  const startedAt = new Date().toISOString();
  const started = Date.now();
  const base = { url: url.href, scheme, arch, address, startedAt };
  let lastError: ProbeAttemptError | null = null;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    if (attempt > 1) await s.sleep(backoff * 2 ** (attempt - 2));
    await s.limiter.acquire(address);
    try {
      const response = await fetchStage({
        url,
        address,
        headers: {
          Host: hostHeader(url),
          'User-Agent': s.userAgent,
          // WinINet's request shape for an INTERNET_FLAG_RELOAD | NO_CACHE_WRITE GET.
          Connection: 'Keep-Alive',
          'Cache-Control': 'no-cache',
          ...s.headers,
        },
        maxBodyBytes: s.maxBodyBytes ?? PROBE_DEFAULTS.maxBodyBytes,
        connectTimeoutMs: s.connectTimeoutMs ?? PROBE_DEFAULTS.connectTimeoutMs,
        readTimeoutMs: s.readTimeoutMs ?? PROBE_DEFAULTS.readTimeoutMs,
        totalTimeoutMs: s.totalTimeoutMs ?? PROBE_DEFAULTS.totalTimeoutMs,
        proxy: s.proxy,
        ...(s.dial === undefined ? {} : { dial: s.dial }),
        ...(s.signal === undefined ? {} : { signal: s.signal }),
      });
      const parsed = response.status >= 200 && response.status < 300 && response.bodySize > 0 ? parseBeaconConfigs(response.body, s.parse) : null;
      return {
        ...base,
        status: response.status,
        headers: response.headers,
        tls: response.tls,
        bodySize: response.bodySize,
        truncated: response.truncated,
        body: response.body,
        bodySha256: response.bodySize > 0 ? createHash('sha256').update(response.body).digest('hex') : null,
        configs: parsed?.configs ?? [],
        stagers: parsed?.stagers ?? [],
        beaconDetected: parsed?.beaconDetected ?? false,
        error: null,
        tries: attempt,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      lastError = attemptError(error);
      const retryable = error instanceof AppError ? error.retryable : true;
      if (!retryable || s.signal?.aborted === true) {
        return failedAttempt(base, lastError, attempt, started);
      }
    }
  }
  return failedAttempt(base, lastError ?? { code: 'UPSTREAM_FAILED', reason: null, message: 'no attempt made' }, retries + 1, started);
}

function failedAttempt(
  base: Pick<ProbeAttempt, 'url' | 'scheme' | 'arch' | 'address' | 'startedAt'>,
  error: ProbeAttemptError,
  tries: number,
  started: number,
): ProbeAttempt {
  return {
    ...base,
    status: null,
    headers: {},
    tls: null,
    bodySize: 0,
    truncated: false,
    body: new Uint8Array(0),
    bodySha256: null,
    configs: [],
    stagers: [],
    beaconDetected: false,
    error,
    tries,
    durationMs: Date.now() - started,
  };
}
