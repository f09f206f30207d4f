import type { Indicator, IndicatorFlag } from '@malpipe/core';
import { DEFAULT_LIMITS } from '../analyzer.js';
import { domainFlags, isDomain, isHostName, looksLikeCodeName, looksLikeFileName } from './domain-name.js';
import { scanHashes } from './extract-hashes.js';
import { IndicatorSink } from './indicator-sink.js';
import { formatIpv6, ipv4Flags, ipv6Flags, parseIpv4, parseIpv6 } from './ip-address.js';
import { refang } from './refang.js';

export interface ExtractIocsOptions {
  /** Refang the text first (default true). Pass false when the caller already did. */
  readonly refang?: boolean;
  /** Default DEFAULT_LIMITS.maxIndicators; extraction stops there. */
  readonly maxIndicators?: number;
  /** Drop indicators flagged `reserved` (example.com, *.test, localhost, loopback...) instead of flagging them. */
  readonly dropReserved?: boolean;
  /** Characters of surrounding text kept as `context` (default 0: no context). Ignored with `contextAt`. */
  readonly snippetChars?: number;
  /** Describes where a match at `index` of the (refanged) text was seen, e.g. the offset of a binary string. */
  readonly contextAt?: (index: number, length: number) => string | undefined;
  /**
   * Shortest domain accepted outside a URL (also applies to e-mail domains); default 0. Binary strings are
   * full of short random runs (`a.cg`, `bv.tn`), so the ioc analyser asks for 6 there.
   */
  readonly minBareDomainLength?: number;
}

/** The longest URL kept; a longer run is skipped rather than cut into a wrong value. */
export const MAX_URL_LENGTH = 2048;

/**
 * Extracts network indicators and digests from text: URLs (http, https, ftp), domains (delegated TLDs only),
 * IPv4, IPv6, `ip:port`, e-mail addresses, MD5/SHA-1/SHA-256/SHA-512. Values are normalised (refanged,
 * lower-case hosts, e-mail addresses and digests, RFC 5952 IPv6), deduplicated, and bounded by
 * `maxIndicators`. Special-use names and addresses are flagged `reserved`, RFC 1918-style addresses `private`.
 *
 * False-positive rules (each has table tests):
 * - a bare `name.ext` whose TLD is also a file extension (`.zip .sh .py .so .md .cc .app`...) is a file name
 *   unless it follows `://`, `//` or `@` or starts with `www.`; non-TLD extensions (`.exe .dll .php`) fail the
 *   TLD check;
 * - code names are not domains: Java/Android packages, reverse-DNS package names (`com.x.y`), PascalCase .NET
 *   namespaces (`System.Net`), script receivers (`this.name`, `user.email`), a PascalCase last label
 *   (`x.Name`), and any token followed by `(`;
 * - an IPv4 address preceded by a letter or a dot (`v1.2.3.4`, `1.1.2.3.4`), followed by `.digit`, or
 *   directly after the word version/ver/v/build/release/rev (optionally `:`, `=`, a quote, whitespace) is a
 *   version number, and so is one right after `Product/` (`Chrome/120.0.0.0`): the rules look only at what
 *   comes before, so `1.2.3.4 version 2` and `http://1.2.3.4/` stay IPs;
 * - octets with leading zeros are refused (octal ambiguity);
 * - IPv6 needs at least three groups written in its RFC 5952 form (`Db::Add` is C++, `::1` too short to matter);
 * - digests: see `scanHashes`.
 */
export function extractIocs(text: string, options: ExtractIocsOptions = {}): Indicator[] {
  const source = options.refang === false ? text : refang(text);
  const snippetChars = Math.max(0, options.snippetChars ?? 0);
  const contextAt =
    options.contextAt ??
    (snippetChars > 0 ? (index: number, length: number) => snippet(source, index, length, snippetChars) : undefined);
  const sink = new IndicatorSink({
    maxIndicators: options.maxIndicators ?? DEFAULT_LIMITS.maxIndicators,
    dropReserved: options.dropReserved ?? false,
    ...(contextAt === undefined ? {} : { contextAt }),
  });
  scanUrls(source, sink);
  const minBareDomainLength = options.minBareDomainLength ?? 0;
  scanEmails(source, sink, minBareDomainLength);
  scanDomains(source, sink, minBareDomainLength);
  scanIpv4(source, sink);
  scanIpv6(source, sink);
  scanHashes(source, sink);
  return sink.indicators;
}

/** True for an http, https or ftp URL with a valid host (domain with a known TLD, localhost, IPv4, [IPv6]). */
export function isUrl(value: string): boolean {
  const match = /^(?:https?|ftp):\/\//i.exec(value);
  if (match === null || value.length > MAX_URL_LENGTH) return false;
  const end = scanUrlRun(value, 0, match[0].length);
  return end === value.length && parseUrl(value, match[0].length) !== null;
}

// ---------------------------------------------------------------------------------------------------------
// URLs

const URL_START = /\b(?:https?|ftp):\/\//gi;
/** RFC 3986 characters minus the ones that delimit URLs in prose and code: quotes, `<>`, `[]`, `{}`, `|`, `\`, `^`, `` ` ``. */
const URL_CHAR = new Uint8Array(128);
for (let code = 0x21; code < 0x7f; code++) URL_CHAR[code] = 1;
for (const char of '"\'<>[]{}|\\^`') URL_CHAR[char.charCodeAt(0)] = 0;

const TRAILING_PUNCTUATION = '.,;:!?*\'"';
const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{', '>': '<' };

/** End of the URL characters from `authorityStart`, at most MAX_URL_LENGTH + 1 characters after `start`. */
function scanUrlRun(text: string, start: number, authorityStart: number): number {
  let end = authorityStart;
  // An IPv6 literal host is the one place brackets belong in a URL.
  if (text[end] === '[') {
    const close = text.indexOf(']', end);
    if (close > end && close - end <= 47) end = close + 1;
  }
  const limit = Math.min(text.length, start + MAX_URL_LENGTH + 1);
  while (end < limit) {
    const code = text.charCodeAt(end);
    if (code >= 128 || URL_CHAR[code] !== 1) break;
    end++;
  }
  return end;
}

/** Cuts trailing punctuation and unbalanced closing brackets: `(see http://x.com/a).` -> `http://x.com/a`. */
function trimUrl(url: string, minLength: number): string {
  let end = url.length;
  while (end > minLength) {
    const last = url[end - 1]!;
    if (TRAILING_PUNCTUATION.includes(last)) {
      end--;
      continue;
    }
    const opener = CLOSERS[last];
    if (opener !== undefined) {
      const body = url.slice(0, end);
      if (count(body, opener) < count(body, last)) {
        end--;
        continue;
      }
    }
    break;
  }
  return url.slice(0, end);
}

function count(text: string, char: string): number {
  let n = 0;
  for (let index = text.indexOf(char); index >= 0; index = text.indexOf(char, index + 1)) n++;
  return n;
}

interface ParsedUrl {
  /** Normalised: lower-case scheme and host, path kept as written. */
  readonly value: string;
  readonly flags: IndicatorFlag[];
}

function parseUrl(url: string, authorityStart: number): ParsedUrl | null {
  const scheme = url.slice(0, authorityStart).toLowerCase();
  let authorityEnd = url.length;
  for (const delimiter of ['/', '?', '#']) {
    const at = url.indexOf(delimiter, authorityStart);
    if (at >= 0 && at < authorityEnd) authorityEnd = at;
  }
  const authority = url.slice(authorityStart, authorityEnd);
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostPort = authority.slice(at + 1);
  let host: string;
  let port = '';
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return null;
    host = hostPort.slice(1, close);
    port = hostPort.slice(close + 1);
  } else {
    const colon = hostPort.indexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    port = colon >= 0 ? hostPort.slice(colon) : '';
  }
  if (port !== '' && !isPortSuffix(port)) return null;
  let flags: IndicatorFlag[];
  let normalisedHost: string;
  if (hostPort.startsWith('[')) {
    const groups = parseIpv6(host);
    if (groups === null) return null;
    normalisedHost = `[${formatIpv6(groups)}]`;
    flags = ipv6Flags(groups);
  } else if (/^[0-9.]+$/.test(host)) {
    const octets = parseIpv4(host);
    if (octets === null) return null;
    normalisedHost = host;
    flags = ipv4Flags(octets);
  } else {
    if (!isHostName(host)) return null;
    normalisedHost = host.toLowerCase();
    flags = domainFlags(normalisedHost);
  }
  return { value: `${scheme}${userinfo}${normalisedHost}${port}${url.slice(authorityEnd)}`, flags };
}

function isPortSuffix(port: string): boolean {
  if (!/^:[0-9]{1,5}$/.test(port)) return false;
  const number = Number(port.slice(1));
  return number >= 1 && number <= 65535;
}

function scanUrls(text: string, sink: IndicatorSink): void {
  for (const match of text.matchAll(URL_START)) {
    if (sink.full) return;
    const start = match.index;
    const authorityStart = match[0].length;
    const end = scanUrlRun(text, start, start + authorityStart);
    const raw = text.slice(start, end);
    if (raw.length > MAX_URL_LENGTH) continue;
    // Text cut by an ellipsis ("http://evil.com/very/lo…", NFKC turns … into ...) is not a real URL.
    if (raw.endsWith('...')) continue;
    const url = trimUrl(raw, authorityStart);
    const parsed = parseUrl(url, authorityStart);
    if (parsed !== null) sink.add('url', parsed.value, start, url.length, parsed.flags);
  }
}

// ---------------------------------------------------------------------------------------------------------
// E-mail addresses and domains

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

function scanEmails(text: string, sink: IndicatorSink, minDomainLength: number): void {
  for (const match of text.matchAll(EMAIL)) {
    if (sink.full) return;
    const address = match[0];
    const at = address.indexOf('@');
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) continue;
    if (domain.length > 253 || domain.length < minDomainLength || !isDomain(domain)) continue;
    if (isUrlUserinfo(text, match.index)) continue;
    const value = address.toLowerCase();
    sink.add('email', value, match.index, address.length, domainFlags(value.slice(at + 1)));
  }
}

/** `ftp://user:pw@host`: the `pw@host` part is credentials and a host, not an address. */
function isUrlUserinfo(text: string, index: number): boolean {
  // Only the preceding MAX_URL_LENGTH characters are searched, so many addresses in a big text stay linear.
  const before = text.slice(Math.max(0, index - MAX_URL_LENGTH), index);
  const scheme = before.lastIndexOf('://');
  return scheme >= 0 && !/[\s/?#]/.test(before.slice(scheme + 3));
}

const ALPHABETIC = /[\p{Script=Latin}\p{Script=Cyrillic}\p{Script=Greek}\p{Script=Armenian}]/u;
const DOMAIN_TOKEN = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g;

function scanDomains(text: string, sink: IndicatorSink, minBareLength: number): void {
  for (const match of text.matchAll(DOMAIN_TOKEN)) {
    if (sink.full) return;
    const token = match[0];
    const index = match.index;
    if (token.length > 253 || token.includes('_')) continue;
    const after = text[index + token.length];
    // The local part of an e-mail address, or a method call.
    if (after === '@' || after === '(') continue;
    // "exаmple.com" with a Cyrillic "а": the ASCII tail "mple.com" is a fragment, not a domain. CJK text may
    // touch a domain directly ("C2はevil.comです"), so only alphabetic scripts count.
    if (ALPHABETIC.test(text[index - 1] ?? '') || ALPHABETIC.test(text[index + token.length] ?? '')) continue;
    const domain = token.toLowerCase();
    if (!isDomain(domain)) continue;
    const urlHost = text.slice(Math.max(0, index - 2), index) === '//';
    if (!urlHost && token.length < minBareLength) continue;
    const hostContext = urlHost || text[index - 1] === '@';
    if (!hostContext && (looksLikeFileName(domain) || looksLikeCodeName(token))) continue;
    sink.add('domain', domain, index, token.length, domainFlags(domain));
  }
}

// ---------------------------------------------------------------------------------------------------------
// IP addresses

const IPV4 = /(?<![0-9A-Za-z.])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])(?::[0-9]{1,5}(?![0-9]))?/g;
/** The rule for version numbers: one of these words right before the number. */
const VERSION_CONTEXT =
  /(?:\bversion|\bver\.?|\bv\.?|\bbuild|\brelease|\brev(?:ision)?|fileversion|productversion|assemblyversion)\s*[:=]?\s*["']?$/i;

function scanIpv4(text: string, sink: IndicatorSink): void {
  for (const match of text.matchAll(IPV4)) {
    if (sink.full) return;
    const token = match[0];
    const index = match.index;
    const colon = token.indexOf(':');
    const address = colon >= 0 ? token.slice(0, colon) : token;
    const octets = parseIpv4(address);
    if (octets === null) continue;
    if (VERSION_CONTEXT.test(text.slice(Math.max(0, index - 24), index))) continue;
    if (isProductVersion(text, index)) continue;
    const flags = ipv4Flags(octets);
    sink.add('ipv4', address, index, address.length, flags);
    if (colon >= 0 && isPortSuffix(token.slice(colon))) sink.add('ip-port', token, index, token.length, flags);
    else if (colon < 0 && text[index - 1] === '[' && text[index + token.length] === ']') {
      // "[1.2.3.4]:443", the bracketed form some tools print.
      const port = /^:[0-9]{1,5}(?![0-9])/.exec(text.slice(index + token.length + 1, index + token.length + 8));
      if (port !== null && isPortSuffix(port[0])) {
        sink.add('ip-port', `${address}${port[0]}`, index - 1, token.length + 2 + port[0].length, flags);
      }
    }
  }
}

/** "Chrome/120.0.0.0": a product token (a letter, then "/") outside a URL introduces a version (User-Agent). */
function isProductVersion(text: string, index: number): boolean {
  if (text[index - 1] !== '/' || !/[A-Za-z]/.test(text[index - 2] ?? '')) return false;
  const before = text.slice(Math.max(0, index - MAX_URL_LENGTH), index);
  const tokenStart = Math.max(before.lastIndexOf(' '), before.lastIndexOf('\n'), before.lastIndexOf('\t'));
  return !before.slice(tokenStart + 1).includes('://');
}

const IPV6 =
  /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z:]|\.[0-9A-Za-z])/g;

function scanIpv6(text: string, sink: IndicatorSink): void {
  for (const match of text.matchAll(IPV6)) {
    if (sink.full) return;
    const token = match[0];
    const index = match.index;
    const groups = parseIpv6(token);
    if (groups === null) continue;
    const value = formatIpv6(groups);
    // Counted on the canonical form so that the rule gives the same answer for every spelling.
    if (value.split(/[:.]/).filter((group) => group !== '').length < 3) continue;
    const flags = ipv6Flags(groups);
    sink.add('ipv6', value, index, token.length, flags);
    if (text[index - 1] === '[' && text[index + token.length] === ']') {
      const port = /^:[0-9]{1,5}(?![0-9])/.exec(text.slice(index + token.length + 1, index + token.length + 8));
      if (port !== null && isPortSuffix(port[0])) {
        sink.add('ip-port', `[${value}]${port[0]}`, index - 1, token.length + 2 + port[0].length, flags);
      }
    }
  }
}

function snippet(text: string, index: number, length: number, chars: number): string {
  return text
    .slice(Math.max(0, index - chars), Math.min(text.length, index + length + chars))
    .replace(/\s+/g, ' ')
    .trim();
}
