import { randomInt } from 'node:crypto';
import { checksum8, stagerUriArch } from '@malpipe/analyzers/cobaltstrike/index';

export type StageArch = 'x86' | 'x64';

/** WebServer.java: a checksum8 of 92 asks for the x86 stage, 93 (with `/` + 4 alphanumerics) for x64. */
export const CHECKSUM8_TARGETS: Readonly<Record<StageArch, number>> = { x86: 92, x64: 93 };

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A source of random integers in [0, max); injectable so tests can replay a sequence. */
export type RandomInt = (max: number) => number;

/**
 * A random stager URI for `arch`: `/` + 4 alphanumerics whose character sum mod 256 is 92 (x86) or 93 (x64), as
 * real stagers and the NSE/SigStrike scanners send. Fixed URIs (`/ab2g`, `/ab2h`) are what scanners are known
 * by, so they are never preferred. The first three characters are random; the fourth makes the sum; rejection
 * keeps it alphanumeric.
 */
export function checksum8Uri(arch: StageArch, random: RandomInt = randomInt): string {
  const target = CHECKSUM8_TARGETS[arch];
  for (let attempt = 0; attempt < 10_000; attempt++) {
    let head = '';
    let sum = 0;
    for (let i = 0; i < 3; i++) {
      const ch = ALPHANUMERIC[random(ALPHANUMERIC.length)] ?? 'a';
      head += ch;
      sum += ch.charCodeAt(0);
    }
    // The last code must bring the sum to target mod 256; alphanumerics span 48..122, so try the few candidates.
    const need = (((target - sum) % 256) + 256) % 256;
    const last = String.fromCharCode(need);
    if (ALPHANUMERIC.includes(last)) return `/${head}${last}`;
  }
  // Unreachable with a uniform source (about 1 in 4 heads succeed); a broken source must not loop forever.
  throw new Error(`no checksum8 URI found for ${arch}: the random source is degenerate`);
}

/** Whether `uri` is a checksum8 stager URI (for `arch`, or for either when omitted), by the team server's rule. */
export function isChecksum8Uri(uri: string, arch?: StageArch): boolean {
  const found = stagerUriArch(uri);
  return arch === undefined ? found !== null : found === arch;
}

export { checksum8 };
