import { randomBytes } from 'node:crypto';
import { identifyFile } from './identify-file.js';
const seen: Record<string, number> = {};
for (let i = 0; i < 100000; i++) { const b = new Uint8Array(randomBytes(1024)); const t = identifyFile(b); if (t.kind !== 'data') { const k = `${t.format} ${t.traits.join(',')} ${Buffer.from(b.subarray(0,4)).toString('hex')}`; seen[k] = (seen[k] ?? 0) + 1; } }
console.log(seen);
