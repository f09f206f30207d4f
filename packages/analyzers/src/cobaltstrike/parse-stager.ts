import { cString, latin1 } from './transform-programs.js';

/**
 * Cobalt Strike shellcode stagers (HTTP/HTTPS, DNS, SMB; x86 and x64), raw or embedded in a loader. Layout facts
 * (1768.py AnalyzeShellcode, CAPE CobaltStrikeStager): HTTP keeps the port as a `push imm32` / `mov r8d, imm32`,
 * the HttpOpenRequestA flags as a `push imm32` (INTERNET_FLAG_SECURE = HTTPS), then after a backward `call` a
 * 79-byte URI field + NUL and a 303-byte header field + NUL, and after a later backward call the host, a NUL and the
 * big-endian watermark. DNS: after a call, NUL + 63-byte domain; SMB: after a call, the pipe name, NUL, watermark.
 */
export type StagerKind = 'http' | 'https' | 'dns' | 'smb';

export interface StagerInfo {
  readonly kind: StagerKind;
  readonly arch: 'x86' | 'x64';
  readonly offset: number;
  readonly host: string | null;
  readonly port: number | null;
  readonly uri: string | null;
  readonly headers: readonly string[];
  readonly userAgent: string | null;
  readonly tls: boolean;
  readonly internetFlags: number | null;
  readonly pipeName: string | null;
  readonly watermark: number | null;
  /** The stage URL to fetch (HTTP/HTTPS), or null. */
  readonly url: string | null;
  /** checksum8 of the URI: 92 = x86 stage, 93 = x64 stage, else a custom `http-stager` URI. */
  readonly checksum8: number | null;
}

export const URI_FIELD = 80;
export const HEADER_FIELD = 304;
const INTERNET_FLAG_SECURE = 0x00800000;
const INTERNET_FLAG_RELOAD = 0x80000000;
const MAX_SCAN = 16 * 1024 * 1024;

/** WebServer.java checksum8: sum of the URI's characters without '/', mod 256; 0 for URIs shorter than 4. */
export function checksum8(uri: string): number {
  if (uri.length < 4) return 0;
  let sum = 0;
  for (const ch of uri.replaceAll('/', '')) sum = (sum + (ch.codePointAt(0) ?? 0)) % 256;
  return sum;
}

/** Which stage a checksum8 URI asks the team server for (x64 also needs `/` + 4 alphanumerics). */
export function stagerUriArch(uri: string): 'x86' | 'x64' | null {
  const c = checksum8(uri);
  if (c === 92) return 'x86';
  if (c === 93 && /^\/[A-Za-z0-9]{4}$/.test(uri)) return 'x64';
  return null;
}

function u32le(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}
function u32be(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

function indexOf(b: Uint8Array, needle: readonly number[], from: number, to: number): number {
  if (from >= to) return -1;
  // Native search: stager needles are looked for in whole executables, so this must stay cheap.
  const hay = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, to + needle.length - 1));
  const at = hay.indexOf(Buffer.from(needle), Math.max(0, from));
  return at >= 0 && at < to ? at : -1;
}

/** A backward relative call (`E8` + negative rel32 within 64 KiB) in [from, to); returns the offset after it. */
function findBackwardCall(b: Uint8Array, from: number, to: number, highBytes?: readonly number[]): number {
  const end = Math.min(to, b.length - 5);
  for (let i = Math.max(0, from); i < end; i++) {
    if (b[i] !== 0xe8 || b[i + 4] !== 0xff || b[i + 3] !== 0xff) continue;
    if (highBytes && !highBytes.includes(b[i + 2] as number)) continue;
    return i + 5;
  }
  return -1;
}

function field(b: Uint8Array, at: number, size: number): string {
  return cString(b.subarray(at, Math.min(b.length, at + size)));
}

function watermarkAt(b: Uint8Array, at: number): number | null {
  return at + 4 <= b.length ? u32be(b, at) : null;
}

function isPrintableHost(s: string): boolean {
  return s.length > 0 && s.length <= 255 && /^[\x21-\x7e\u00a0-\u00ff]+$/.test(s);
}

function archOf(b: Uint8Array, offset: number, x64Hint: boolean): 'x86' | 'x64' {
  // The x64 block_api prologue: cld; and rsp, -16.
  if (x64Hint || indexOf(b, [0xfc, 0x48, 0x83, 0xe4, 0xf0], Math.max(0, offset - 4096), offset + 1) >= 0) return 'x64';
  return 'x86';
}

// `push 'wini'` (x86) and `mov r14, 'wininet'` (x64): the stager loads wininet before anything else, so the
// port and flags are searched only in the code right after one of these (a beacon DLL imports wininet too).
const WININET_X86 = [0x68, 0x77, 0x69, 0x6e, 0x69];
const WININET_X64 = [0x77, 0x69, 0x6e, 0x69, 0x6e, 0x65, 0x74];
const HTTP_WINDOW = 1024;

function parseHttp(b: Uint8Array, limit: number): StagerInfo | null {
  for (const needle of [WININET_X86, WININET_X64]) {
    let from = 0;
    for (let hits = 0; hits < 16; hits++) {
      const at = indexOf(b, needle, from, limit);
      if (at < 0) break;
      const found = parseHttpAt(b, at, Math.min(limit, at + HTTP_WINDOW));
      if (found) return found;
      from = at + 1;
    }
  }
  return null;
}

function parseHttpAt(b: Uint8Array, start: number, limit: number): StagerInfo | null {
  for (let i = start; i + 6 < limit; i++) {
    let port = -1;
    let x64 = false;
    let portEnd = -1;
    if (b[i] === 0x51 && b[i + 1] === 0x51 && b[i + 2] === 0x68) {
      port = u32le(b, i + 3);
      portEnd = i + 7;
    } else if (b[i] === 0x41 && b[i + 1] === 0xb8) {
      port = u32le(b, i + 2);
      portEnd = i + 6;
      x64 = true;
    } else continue;
    if (port <= 0 || port > 0xffff) continue;
    // HttpOpenRequestA flags: the push imm32 followed by `push edx; push edx` (CAPE's template), else the first
    // push with INTERNET_FLAG_RELOAD that is not an API hash (a hash push is followed by `call ebp`, FF D5).
    let flags = -1;
    let flagsEnd = -1;
    let fallback = -1;
    for (let j = portEnd; j < Math.min(limit, portEnd + 120) - 7; j++) {
      if (b[j] !== 0x68) continue;
      const v = u32le(b, j + 1);
      if ((v & INTERNET_FLAG_RELOAD) === 0) continue;
      if (b[j + 5] === 0x52 && b[j + 6] === 0x52) {
        flags = v;
        flagsEnd = j + 5;
        break;
      }
      if (fallback < 0 && !(b[j + 5] === 0xff && b[j + 6] === 0xd5)) fallback = j;
    }
    if (flags < 0 && fallback >= 0) {
      flags = u32le(b, fallback + 1);
      flagsEnd = fallback + 5;
    }
    if (flags < 0) continue;
    const uriAt = findBackwardCall(b, flagsEnd, flagsEnd + 300);
    if (uriAt < 0 || uriAt + URI_FIELD + HEADER_FIELD > b.length) continue;
    const uri = field(b, uriAt, URI_FIELD);
    if (!uri.startsWith('/')) continue;
    const headerText = field(b, uriAt + URI_FIELD, HEADER_FIELD);
    const headers = headerText.split('\r\n').filter((h) => h !== '');
    const ua = headers.find((h) => h.toLowerCase().startsWith('user-agent:'));
    const afterHeaders = uriAt + URI_FIELD + HEADER_FIELD;
    const hostAt = findBackwardCall(b, afterHeaders, afterHeaders + 400);
    let host: string | null = null;
    let watermark: number | null = null;
    if (hostAt >= 0) {
      const raw = b.subarray(hostAt, Math.min(b.length, hostAt + 256));
      const nul = raw.indexOf(0);
      const text = latin1(nul < 0 ? raw : raw.subarray(0, nul));
      if (isPrintableHost(text)) {
        host = text;
        watermark = nul < 0 ? null : watermarkAt(b, hostAt + nul + 1);
      }
    }
    const tls = (flags & INTERNET_FLAG_SECURE) !== 0;
    const kind: StagerKind = tls ? 'https' : 'http';
    const defaultPort = tls ? 443 : 80;
    return {
      kind,
      arch: archOf(b, i, x64),
      offset: i,
      host,
      port,
      uri,
      headers,
      userAgent: ua === undefined ? null : ua.slice(ua.indexOf(':') + 1).trim(),
      tls,
      internetFlags: flags,
      pipeName: null,
      watermark,
      url: host === null ? null : `${kind}://${host}${port === defaultPort ? '' : `:${port}`}${uri}`,
      checksum8: checksum8(uri),
    };
  }
  return null;
}

const DNSAPI = [0x69, 0x50, 0x68, 0x64, 0x6e];
const DNS_WATERMARK_STUB = [0x89, 0xd7, 0x81, 0xc7];

function parseDns(b: Uint8Array, limit: number): StagerInfo | null {
  const at = indexOf(b, DNSAPI, 0, limit);
  if (at < 0) return null;
  const callEnd = findBackwardCall(b, at + 5, at + 300);
  if (callEnd < 0 || b[callEnd] !== 0) return null;
  const domain = field(b, callEnd + 1, 63);
  if (!isPrintableHost(domain)) return null;
  const stub = indexOf(b, DNS_WATERMARK_STUB, callEnd + 64, callEnd + 64 + 200);
  const watermark = stub >= 0 && b[stub + 8] === 0xff && b[stub + 9] === 0xe7 ? watermarkAt(b, stub + 10) : null;
  return {
    kind: 'dns', arch: archOf(b, at, false), offset: at, host: domain, port: null, uri: null, headers: [], userAgent: null,
    tls: false, internetFlags: null, pipeName: null, watermark, url: null, checksum8: null,
  };
}

const SMB_PIPE_ARGS = [0x68, 0x00, 0xb0, 0x04, 0x00, 0x68, 0x00, 0xb0, 0x04, 0x00, 0x6a, 0x01, 0x6a, 0x06, 0x6a, 0x03];

function parseSmb(b: Uint8Array, limit: number): StagerInfo | null {
  const at = indexOf(b, SMB_PIPE_ARGS, 0, limit);
  if (at < 0) return null;
  const callEnd = findBackwardCall(b, at + SMB_PIPE_ARGS.length, at + 300);
  if (callEnd < 0) return null;
  const raw = b.subarray(callEnd, Math.min(b.length, callEnd + 141));
  const nul = raw.indexOf(0);
  if (nul < 3) return null;
  const pipeName = latin1(raw.subarray(0, nul));
  if (!isPrintableHost(pipeName.replaceAll(' ', '_'))) return null;
  return {
    kind: 'smb', arch: archOf(b, at, false), offset: at, host: null, port: null, uri: null, headers: [], userAgent: null,
    tls: false, internetFlags: null, pipeName, watermark: watermarkAt(b, callEnd + nul + 1), url: null, checksum8: null,
  };
}

/** The stager in `bytes` (HTTP(S) first, then DNS, then SMB), or null. Only the first 16 MiB are searched. */
export function parseStager(bytes: Uint8Array): StagerInfo | null {
  const limit = Math.min(bytes.length, MAX_SCAN);
  return parseHttp(bytes, limit) ?? parseDns(bytes, limit) ?? parseSmb(bytes, limit);
}
