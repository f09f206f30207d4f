import type { IndicatorFlag } from '@malpipe/core';
import { RESERVED_DOMAINS, RESERVED_TLDS, TLDS } from './tlds.js';

const LABEL = /^(?:[a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$/;

/**
 * A syntactically valid host name of two labels or more whose last label is a delegated TLD or a
 * special-use name (`example`, `test`, `localhost`...). Case-insensitive; a trailing root dot is refused.
 * This is syntax only: `setup.zip` is a domain here, `looksLikeFileName` is the extraction heuristic.
 */
export function isDomain(value: string): boolean {
  if (value.length < 3 || value.length > 253) return false;
  const labels = value.toLowerCase().split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] ?? '';
  if (!TLDS.has(tld) && !RESERVED_TLDS.has(tld)) return false;
  return labels.every((label) => LABEL.test(label));
}

/** `localhost` or a valid domain: what may follow `http://` besides an IP literal. */
export function isHostName(value: string): boolean {
  return value.toLowerCase() === 'localhost' || isDomain(value);
}

/** `reserved` for special-use names (RFC 2606, RFC 6761, mDNS `.local`). Expects a lower-case name. */
export function domainFlags(domain: string): IndicatorFlag[] {
  if (domain === 'localhost') return ['reserved'];
  const tld = domain.slice(domain.lastIndexOf('.') + 1);
  if (RESERVED_TLDS.has(tld)) return ['reserved'];
  for (const reserved of RESERVED_DOMAINS) {
    if (domain === reserved || domain.endsWith(`.${reserved}`)) return ['reserved'];
  }
  return [];
}

/**
 * TLDs that are also common file extensions. Without a host context (a scheme, `www.`, an `@`) a bare
 * `name.<ext>` is far more often a file than a domain in samples and reports: `payload.sh`, `libc.so`,
 * `README.md`, `invoice.pdf.zip`, `Makefile.in`, `logging.cc`, `Main.java`, `lure.one`. `.com` stays a
 * domain (COM executables are rare next to com domains). Extensions that are not TLDs (`.exe`, `.dll`,
 * `.php`, `.txt`...) need no entry: the TLD check already refuses them.
 */
export const FILE_EXTENSION_TLDS: ReadonlySet<string> = new Set([
  'ac', 'am', 'app', 'cab', 'cc', 'do', 'in', 'java', 'la', 'md', 'mk', 'ml', 'mo', 'mov', 'one', 'pl', 'pm',
  'ps', 'pub', 'py', 'rs', 'run', 'sh', 'so', 'tf', 'website', 'zip',
]);

export function looksLikeFileName(domain: string): boolean {
  if (domain.startsWith('www.')) return false;
  return FILE_EXTENSION_TLDS.has(domain.slice(domain.lastIndexOf('.') + 1));
}

/** First labels of Java/Kotlin/Android package names (`java.lang.String`, `android.app`). */
const JAVA_ROOTS = new Set(['java', 'javax', 'android', 'androidx', 'kotlin', 'kotlinx', 'dalvik', 'sun', 'jdk', 'scala']);
/** Reverse-DNS package roots: `com.google.android.gms`, `org.apache.commons.io`, with three labels or more. */
const REVERSE_DNS_ROOTS = new Set(['com', 'org', 'net', 'io']);
/** .NET namespace roots, refused when written PascalCase (`System.Net`, `System.IO`, `Microsoft.Win32`). */
const DOTNET_ROOTS = new Set(['system', 'microsoft', 'mscorlib', 'windows', 'newtonsoft', 'mono']);
/**
 * Script receivers: `this.name`, `window.open`, `user.email`, `item.link`. Many new gTLDs are English words
 * (`.name .email .link .data .app .host`), so a property access reads as a domain without this list.
 */
const SCRIPT_RECEIVERS = new Set([
  'this', 'self', 'window', 'document', 'console', 'math', 'json', 'object', 'array', 'string', 'wscript',
  'navigator', 'location', 'module', 'exports', 'event', 'err', 'req', 'res', 'args', 'opts', 'ctx', 'user',
  'obj', 'item', 'node', 'el', 'elem', 'element', 'props', 'state', 'params', 'options', 'settings', 'result',
  'msg', 'form', 'input', 'model', 'target',
]);

/**
 * True when a dotted token is a code identifier rather than a host. `original` keeps the token's case,
 * because case is the clue for .NET names: `System.Net` is a namespace, `system.net` may be a host.
 */
export function looksLikeCodeName(original: string): boolean {
  const labels = original.split('.');
  const first = labels[0] ?? '';
  const firstLower = first.toLowerCase();
  if (JAVA_ROOTS.has(firstLower) && first === firstLower) return true;
  if (REVERSE_DNS_ROOTS.has(firstLower) && labels.length >= 3) return true;
  if (SCRIPT_RECEIVERS.has(firstLower)) return true;
  const tld = labels[labels.length - 1] ?? '';
  if (DOTNET_ROOTS.has(firstLower) && /^[A-Z][a-z]/.test(first) && tld !== tld.toLowerCase()) return true;
  // A PascalCase last label is a property or a type (`x.Name`, `Foo.Link`); hosts are written lower-case
  // or all upper-case.
  return /^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*$/.test(tld);
}
