import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '@malpipe/core';

/**
 * Which addresses the server may connect to when a host is named by untrusted input (a sample URL, a team server
 * taken from a beacon config). By default anything that is not a public unicast address is refused: a name
 * pointing at 169.254.169.254 or 10.0.0.1 must not turn the platform into a proxy into its own network (SSRF).
 */
export interface AddressPolicy {
  /** Turns the deny-list off entirely (operator's explicit choice: a lab network, `--allow-private`). */
  readonly allowPrivate?: boolean;
  /** Allows loopback only (127.0.0.0/8, ::1), for tests against servers on 127.0.0.1. */
  readonly allowLoopbackForTests?: boolean;
  /** Denied networks allowed one by one, as CIDR (`10.20.0.0/16`, `127.0.0.1/32`); everything else stays refused. */
  readonly allowedNetworks?: readonly string[];
}

/** True when a connection to `address` (an IP literal) is allowed. */
export type AddressFilter = (address: string) => boolean;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to its addresses; injectable so tests never touch real DNS. */
export type HostLookup = (host: string) => Promise<readonly ResolvedAddress[]>;

interface DeniedRange {
  readonly network: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
  readonly label: string;
}

// IANA special-purpose registries (RFC 6890 and updates): everything that is not global unicast.
const DENIED_RANGES: readonly DeniedRange[] = [
  { network: '0.0.0.0', prefix: 8, family: 'ipv4', label: 'this network' },
  { network: '10.0.0.0', prefix: 8, family: 'ipv4', label: 'private' },
  { network: '100.64.0.0', prefix: 10, family: 'ipv4', label: 'carrier-grade NAT' },
  { network: '127.0.0.0', prefix: 8, family: 'ipv4', label: 'loopback' },
  { network: '169.254.0.0', prefix: 16, family: 'ipv4', label: 'link-local' },
  { network: '172.16.0.0', prefix: 12, family: 'ipv4', label: 'private' },
  { network: '192.0.0.0', prefix: 24, family: 'ipv4', label: 'IETF protocol assignments' },
  { network: '192.0.2.0', prefix: 24, family: 'ipv4', label: 'documentation' },
  { network: '192.88.99.0', prefix: 24, family: 'ipv4', label: '6to4 relay anycast' },
  { network: '192.168.0.0', prefix: 16, family: 'ipv4', label: 'private' },
  { network: '198.18.0.0', prefix: 15, family: 'ipv4', label: 'benchmarking' },
  { network: '198.51.100.0', prefix: 24, family: 'ipv4', label: 'documentation' },
  { network: '203.0.113.0', prefix: 24, family: 'ipv4', label: 'documentation' },
  { network: '224.0.0.0', prefix: 4, family: 'ipv4', label: 'multicast' },
  { network: '240.0.0.0', prefix: 4, family: 'ipv4', label: 'reserved' },
  { network: '::', prefix: 128, family: 'ipv6', label: 'unspecified' },
  { network: '::1', prefix: 128, family: 'ipv6', label: 'loopback' },
  { network: '64:ff9b:1::', prefix: 48, family: 'ipv6', label: 'NAT64 local use' },
  { network: '100::', prefix: 64, family: 'ipv6', label: 'discard' },
  { network: '2001::', prefix: 23, family: 'ipv6', label: 'IETF protocol assignments' },
  { network: '2001:db8::', prefix: 32, family: 'ipv6', label: 'documentation' },
  { network: '2002::', prefix: 16, family: 'ipv6', label: '6to4' },
  { network: '3fff::', prefix: 20, family: 'ipv6', label: 'documentation' },
  { network: 'fc00::', prefix: 7, family: 'ipv6', label: 'unique local' },
  { network: 'fe80::', prefix: 10, family: 'ipv6', label: 'link-local' },
  { network: 'fec0::', prefix: 10, family: 'ipv6', label: 'site-local' },
  { network: 'ff00::', prefix: 8, family: 'ipv6', label: 'multicast' },
];

const LISTS = DENIED_RANGES.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.network, range.prefix, range.family);
  return { range, list };
});

/** The eight 16-bit groups of an IPv6 literal that `isIP` accepted (zone id dropped, `::` and dotted tails expanded). */
function ipv6Groups(address: string): readonly number[] {
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.replace(/%.*$/, '').split('::');
  const first = parse(head);
  if (tail === undefined) return first;
  const last = parse(tail);
  return [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/**
 * The IPv4 address an IPv6 literal carries and that the kernel or a NAT64 gateway would reach: IPv4-mapped
 * (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) and NAT64 well-known
 * prefix (`64:ff9b::a.b.c.d`), in any spelling (hex or dotted tail, zeros compressed or not). Null otherwise.
 */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (g.length !== 8) return null;
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const translated = zeros(0, 4) && g[4] === 0xffff && g[5] === 0;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  const compatible = zeros(0, 6) && !(g[6] === 0 && (g[7] ?? 0) <= 1);
  if (!mapped && !translated && !nat64 && !compatible) return null;
  const hi = g[6] ?? 0;
  const lo = g[7] ?? 0;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The address to judge and its family: the embedded IPv4 address of an IPv6 literal that carries one. */
function subjectOf(address: string): { readonly subject: string; readonly type: 'ipv4' | 'ipv6' } | null {
  const family = isIP(address);
  if (family === 0) return null;
  if (family === 4) return { subject: address, type: 'ipv4' };
  const v4 = embeddedIpv4(address);
  return v4 === null ? { subject: address, type: 'ipv6' } : { subject: v4, type: 'ipv4' };
}

/** Why `address` (an IP literal) is refused by default, or null when it is a public unicast address. */
export function deniedAddressReason(address: string): string | null {
  const judged = subjectOf(address);
  if (judged === null) return 'not an IP address';
  for (const { range, list } of LISTS) {
    if (range.family === judged.type && list.check(judged.subject, judged.type)) return `${range.label} (${range.network}/${range.prefix})`;
  }
  return null;
}

/** True when `address` (an IP literal) is in a private, loopback or otherwise non-public range. */
export function isPrivateAddress(address: string): boolean {
  return deniedAddressReason(address) !== null;
}

function isLoopback(address: string): boolean {
  const judged = subjectOf(address);
  if (judged === null) return false;
  if (judged.type === 'ipv4') return judged.subject.startsWith('127.');
  const g = ipv6Groups(judged.subject);
  return g.length === 8 && g.slice(0, 7).every((x) => x === 0) && g[7] === 1;
}

/** Parses `allowedNetworks` once. Throws CONFIG_INVALID on an entry that is not an address or CIDR. */
function allowListOf(networks: readonly string[]): BlockList | null {
  if (networks.length === 0) return null;
  const list = new BlockList();
  for (const network of networks) {
    const [address = '', prefix] = network.split('/');
    const family = isIP(address);
    if (family === 0) throw new AppError('CONFIG_INVALID', `allowed network "${network}" is not an IP address or CIDR`);
    list.addSubnet(address, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** Compiles a policy into a filter (CIDRs parsed once). Throws CONFIG_INVALID on a malformed `allowedNetworks` entry. */
export function compileAddressPolicy(policy: AddressPolicy): AddressFilter {
  if (policy.allowPrivate === true) return () => true;
  const allowed = allowListOf(policy.allowedNetworks ?? []);
  return (address) => {
    if (deniedAddressReason(address) === null) return true;
    if (policy.allowLoopbackForTests === true && isLoopback(address)) return true;
    if (allowed === null) return false;
    const judged = subjectOf(address);
    if (judged === null) return false;
    // An allowed network matches the address as written or the IPv4 address it carries.
    return allowed.check(judged.subject, judged.type) || allowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Whether `policy` allows a connection to `address` (an IP literal). */
export function isAddressAllowed(address: string, policy: AddressPolicy): boolean {
  return compileAddressPolicy(policy)(address);
}

export const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface CheckedHost {
  /** The host without IPv6 brackets. */
  readonly host: string;
  /** Every address the host resolves to (the literal itself for an IP), in resolver order; never empty. */
  readonly addresses: readonly [ResolvedAddress, ...ResolvedAddress[]];
  /** The first address the filter refuses, and why; null when every address is allowed. */
  readonly refused: { readonly address: string; readonly reason: string } | null;
}

/**
 * Resolves `host` and checks every address it resolves to: a name with one private address among public ones is
 * refused, as the resolver could hand out either. Callers connect only to the returned addresses (pinned), so a
 * second resolution cannot rebind the name, and turn `refused` into their own error. Lookup errors propagate as
 * thrown; an empty answer throws UPSTREAM_FAILED.
 */
export async function checkHost(host: string, isAllowed: AddressFilter, lookup: HostLookup = systemLookup): Promise<CheckedHost> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  const [first, ...rest] = family !== 0 ? [{ address: bare, family }] : await lookup(bare);
  if (first === undefined) throw new AppError('UPSTREAM_FAILED', `${bare} resolves to no address`, { retryable: false });
  const addresses = [first, ...rest] as const;
  const refused = addresses.find((a) => !isAllowed(a.address));
  return {
    host: bare,
    addresses,
    refused: refused === undefined ? null : { address: refused.address, reason: deniedAddressReason(refused.address) ?? 'denied' },
  };
}
