import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '@malpipe/core';

/**
 * Which addresses the prober may connect to. Probing fetches from hosts named by malware, so by default it
 * refuses anything that is not a public unicast address: a config pointing at 169.254.169.254 or 10.0.0.1
 * must not turn the platform into a proxy into its own network (SSRF).
 */
export interface AddressPolicy {
  /** Turns the deny-list off entirely (operator's explicit choice: `--allow-private`). */
  readonly allowPrivate?: boolean;
  /** Allows loopback only (127.0.0.0/8, ::1), for tests against servers on 127.0.0.1. */
  readonly allowLoopbackForTests?: boolean;
}

/** Resolves a host name to its addresses; injectable so tests never touch real DNS. */
export type HostLookup = (host: string) => Promise<readonly { readonly address: string; readonly family: number }[]>;

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

/** `::ffff:a.b.c.d` and `::a.b.c.d` carry an IPv4 address that the kernel would reach: judge that one. */
function embeddedIpv4(address: string): string | null {
  const dotted = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] !== undefined && hex[2] !== undefined) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return null;
}

function isLoopback(address: string): boolean {
  const v4 = isIP(address) === 4 ? address : embeddedIpv4(address);
  if (v4 !== null) return v4.startsWith('127.');
  return address === '::1' || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(address);
}

/** Why `address` (an IP literal) is refused, or null when it is a public unicast address. */
export function deniedAddressReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const v4 = family === 6 ? embeddedIpv4(address) : null;
  const subject = v4 ?? address;
  const type = v4 !== null || family === 4 ? 'ipv4' : 'ipv6';
  for (const { range, list } of LISTS) {
    if (range.family === type && list.check(subject, type)) return `${range.label} (${range.network}/${range.prefix})`;
  }
  return null;
}

/** Whether the policy lets the prober connect to `address`. */
export function isAddressAllowed(address: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivate === true) return true;
  if (deniedAddressReason(address) === null) return true;
  return policy.allowLoopbackForTests === true && isLoopback(address);
}

const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves `host` and checks every address it resolves to (a name with one private address among public ones is
 * refused: the resolver could hand out either). Returns the addresses to connect to, which callers must pin so a
 * second resolution cannot rebind the name. Throws FORBIDDEN before any connection is made.
 */
export async function resolveAllowedAddresses(host: string, policy: AddressPolicy, lookup: HostLookup = systemLookup): Promise<readonly string[]> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  let addresses: readonly string[];
  if (isIP(bare) !== 0) {
    addresses = [bare];
  } else {
    try {
      addresses = (await lookup(bare)).map((a) => a.address);
    } catch (error) {
      throw new AppError('UPSTREAM_FAILED', `cannot resolve ${bare}: ${(error as Error).message}`, { cause: error, retryable: false });
    }
    if (addresses.length === 0) throw new AppError('UPSTREAM_FAILED', `${bare} resolves to no address`, { retryable: false });
  }
  for (const address of addresses) {
    if (!isAddressAllowed(address, policy)) {
      const via = address === bare ? '' : ` (${bare} resolves to ${address})`;
      throw new AppError('FORBIDDEN', `refusing to probe ${address}${via}: ${deniedAddressReason(address) ?? 'denied'} address`, {
        details: { host: bare, address },
      });
    }
  }
  return addresses;
}
