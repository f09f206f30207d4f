import { randomFillSync } from 'node:crypto';
const size = 16 * 1024 * 1024;
const bytes = new Uint8Array(size);
for (let o = 0; o < size; o += 65536) randomFillSync(bytes.subarray(o, o + 65536));
const rnd = new TextDecoder().decode(bytes).normalize('NFKC');
const para = 'The loader (SHA-256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824) contacts https://evil.com/gate.php and 203.0.113.7:8443, drops payload.dll into C:\\Users\\Public and sets persistence. See https://example.org/report for details. ';
const rep = para.repeat(Math.ceil(size / para.length)).slice(0, size);
const res: Record<string, RegExp> = {
  DOMAIN_A: /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g,
  DOMAIN_B: /[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*/g,
  DOMAIN_C: /[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g,
  HEX_A: /(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}/g,
  HEX_C: /[0-9A-Fa-f]{32,}/g,
  IPV4_A: /(?<![0-9A-Za-z.])[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])(?::[0-9]{1,5}(?![0-9]))?/g,
  IPV4_B: /(?:^|[^0-9A-Za-z.])([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])(?::[0-9]{1,5}(?![0-9]))?)/g,
  IPV6_A: /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z:]|\.[0-9A-Za-z])/g,
  IPV6_B: /(?:^|[^0-9A-Za-z:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?)(?![0-9A-Za-z:]|\.[0-9A-Za-z])/g,
  IPV6_C: /[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*/g,
  EMAIL_A: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g,
  EMAIL_B: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g,
};
for (const [name, s] of [['random', rnd], ['report', rep]] as const) for (const [k, re] of Object.entries(res)) { const t = performance.now(); let n = 0; for (const _ of s.matchAll(re)) n++; console.log(name, k, (performance.now() - t).toFixed(0), n); }
