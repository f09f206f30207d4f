import type { IndicatorFlag } from '@malpipe/core';

/**
 * Strict dotted-quad IPv4: four decimal octets 0-255 and no leading zeros, because `010.1.1.1` means 8.1.1.1
 * to inet_aton (octal) and 10.1.1.1 to a reader; an indicator must not be ambiguous.
 */
export function isIpv4(value: string): boolean {
  return parseIpv4(value) !== null;
}

/** The four octets of a strict dotted quad, or null. */
export function parseIpv4(value: string): [number, number, number, number] | null {
  const parts = value.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    octets.push(octet);
  }
  return octets as [number, number, number, number];
}

/** `private` for RFC 1918 and CGNAT space, `reserved` for other special-purpose ranges (RFC 6890). */
export function ipv4Flags(octets: readonly [number, number, number, number]): IndicatorFlag[] {
  const [a, b, c] = octets;
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127)) {
    return ['private'];
  }
  const reserved =
    a === 0 || // "this network"
    a === 127 || // loopback
    (a === 169 && b === 254) || // link-local
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // IETF protocol assignments, TEST-NET-1
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224; // multicast, reserved, broadcast
  return reserved ? ['reserved'] : [];
}

/** Full IPv6 validation (RFC 4291 text forms, with an optional embedded dotted quad; no zone index). */
export function isIpv6(value: string): boolean {
  return parseIpv6(value) !== null;
}

/** The eight 16-bit groups of an IPv6 address, or null. */
export function parseIpv6(value: string): number[] | null {
  if (value.length < 2 || value.length > 45) return null;
  let text = value;
  let quadGroups: number[] = [];
  if (text.includes('.')) {
    // An embedded dotted quad ("::ffff:1.2.3.4") stands for the last two groups.
    const lastColon = text.lastIndexOf(':');
    const quad = lastColon < 0 ? null : parseIpv4(text.slice(lastColon + 1));
    if (quad === null) return null;
    quadGroups = [(quad[0] << 8) | quad[1], (quad[2] << 8) | quad[3]];
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === null || rest === null) return null;
  const explicit = head.length + rest.length + quadGroups.length;
  if (halves.length === 2) {
    const zeros = 8 - explicit;
    if (zeros < 1) return null;
    return [...head, ...new Array<number>(zeros).fill(0), ...rest, ...quadGroups];
  }
  return explicit === 8 ? [...head, ...quadGroups] : null;
}

function parseGroups(half: string): number[] | null {
  if (half === '') return [];
  const groups: number[] = [];
  for (const group of half.split(':')) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return null;
    groups.push(Number.parseInt(group, 16));
  }
  return groups;
}

/** RFC 5952 text form: lower-case, no leading zeros, the longest run (>= 2) of zero groups as "::". */
export function formatIpv6(groups: readonly number[]): string {
  if (groups.length === 8 && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return `::ffff:${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Flags for an IPv6 address (RFC 6890 / RFC 4193), IPv4-mapped addresses taking their IPv4 flags. */
export function ipv6Flags(groups: readonly number[]): IndicatorFlag[] {
  const first = groups[0] ?? 0;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return ipv4Flags([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  }
  if ((first & 0xfe00) === 0xfc00) return ['private'];
  const allZeroPrefix = groups.slice(0, 7).every((g) => g === 0);
  const reserved =
    (allZeroPrefix && ((groups[7] ?? 0) === 0 || groups[7] === 1)) || // unspecified, loopback
    (first & 0xffc0) === 0xfe80 || // link-local
    (first & 0xff00) === 0xff00 || // multicast
    (first === 0x2001 && groups[1] === 0x0db8); // documentation
  return reserved ? ['reserved'] : [];
}
