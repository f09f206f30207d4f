import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createYaraEngine } from '@malpipe/yara-engine';
import { atomQuality, buildGoodwareDb, extractStrings, generateStringRules, GoodwareStringDb } from './generate-string-rules.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const file = (...parts: (string | Uint8Array)[]): Uint8Array =>
  new Uint8Array(Buffer.concat([Buffer.from('MZ'), ...parts.flatMap((p) => [typeof p === 'string' ? Buffer.from(`\0${p}\0`) : Buffer.from(p), randomBytes(40)])]));

describe('atomQuality', () => {
  it('follows libyara atoms.c on its documented examples', () => {
    expect(atomQuality(Uint8Array.of(1, 2, 3, 4))).toBe(88);
    expect(atomQuality(Uint8Array.of(0x61, 0x61))).toBe(38);
    expect(atomQuality(Uint8Array.of(0, 0, 0, 0))).toBeLessThan(20);
  });
});

describe('extractStrings', () => {
  it('finds ASCII and UTF-16LE runs', () => {
    const s = extractStrings(new Uint8Array(Buffer.concat([Buffer.from('\0hello world\0\0'), Buffer.from('wide-text!', 'utf16le')])));
    expect(s.has('a:hello world')).toBe(true);
    expect(s.has('w:wide-text!')).toBe(true);
  });
});

describe('generateStringRules', () => {
  it('keeps family strings, drops goodware strings, and matches every sample but no goodware', async () => {
    const common = ['GetProcAddress', 'kernel32.dll', 'Microsoft Visual C++ Runtime'];
    const goodware = [file(...common, 'Some normal program text'), file(...common, 'Copyright Contoso Ltd.')];
    const db = await buildGoodwareDb(goodware);
    expect(db.has('a:GetProcAddress')).toBe(true);
    const samples = [1, 2, 3].map((i) => file(...common, 'C:\\Users\\dev\\hui\\loader.pdb', `http://203.0.113.${i}/gate.php`, 'svchost.bin', `variant-${i}-x7Qz`));
    const rule = generateStringRules(samples.map((bytes) => ({ sha256: sha(bytes), bytes })), db, { name: 'Family', date: '2026-11-27' });
    const values = rule.strings.map((s) => s.value);
    expect(values).toContain('a:C:\\Users\\dev\\hui\\loader.pdb');
    expect(values).not.toContain('a:GetProcAddress');
    const compiled = await (await createYaraEngine('yara-x')).compile([{ namespace: 'gen', source: rule.source }]);
    for (const s of samples) expect(await compiled.scan(s)).toHaveLength(1);
    for (const g of goodware) expect(await compiled.scan(g)).toHaveLength(0);
    compiled.dispose();
  });

  it('keeps memory bounded: the goodware set has a fixed size whatever is added', () => {
    const db = new GoodwareStringDb({ bytes: 1024 });
    for (let i = 0; i < 5000; i++) db.add(`a:string-${i}`);
    expect(db.count).toBe(5000);
    expect(db.has('a:string-42')).toBe(true);
  });
});
