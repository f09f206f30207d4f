import { mkdirSync, writeFileSync } from 'node:fs';
import { checkRuleset, formatCheckReport } from '@malpipe/yara-ci';
export function synthGoodware(dir: string): void {
  mkdirSync(dir, { recursive: true });
  let seed = 12345;
  const next = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 16; };
  const words = ['kernel', 'library', 'version', 'system', 'config', 'module', 'loader', 'object', 'symbol', 'string'];
  for (let f = 0; f < 4; f += 1) {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < 1024 * 1024) {
      const kind = next() % 3;
      let chunk: Buffer;
      if (kind === 0) chunk = Buffer.from(`${words[next() % 10]}_${words[next() % 10]} ${next() % 1000}\0`);
      else if (kind === 1) chunk = Buffer.alloc(16 + (next() % 64));
      else chunk = Buffer.from(Array.from({ length: 32 }, () => next() & 0xff));
      parts.push(chunk); size += chunk.length;
    }
    writeFileSync(`${dir}/goodware-${f}.bin`, Buffer.concat(parts).subarray(0, 1024 * 1024));
  }
}
synthGoodware('/tmp/ycitest/gw');
const report = await checkRuleset(process.argv[2] ?? '/tmp/ycitest/slow', { goodwareDir: '/tmp/ycitest/gw' });
process.stdout.write(formatCheckReport(report));
