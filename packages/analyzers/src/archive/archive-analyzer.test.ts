import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { AppError, type FileFormat } from '@malpipe/core';
import { describe, expect, it } from 'vitest';
import { buildStoredZip, buildZip } from '../../test/builders/build-zip.js';
import { buildTar, buildTarGz } from '../../test/builders/build-tar.js';
import { DEFAULT_LIMITS, type AnalyzerContext, type AnalyzerLimits, type SampleFacts } from '../analyzer.js';
import { archiveAnalyzer } from './archive-analyzer.js';
import { BoundedSink, ExtractionBudget } from './extraction-budget.js';
import { sanitizeMemberPath } from './sanitize-member-path.js';

function facts(format: FileFormat, options: { depth?: number; fileNames?: string[] } = {}): SampleFacts {
  return {
    sha256: '0'.repeat(64),
    size: 0,
    fileType: { kind: 'archive', format, mime: 'application/octet-stream', description: format, traits: [] },
    fileNames: options.fileNames ?? [],
    depth: options.depth ?? 0,
  };
}

function context(limits: Partial<AnalyzerLimits> = {}, archivePasswords: readonly string[] = ['infected']): AnalyzerContext {
  return { limits: { ...DEFAULT_LIMITS, ...limits }, archivePasswords };
}

function text(value: string): string {
  return Buffer.from(value).toString('utf8');
}

/** Rewrites the declared uncompressed size of every entry of a single-disk ZIP (a lying header). */
function lieAboutSizes(zip: Uint8Array, size: number): Uint8Array {
  const out = Buffer.from(zip);
  const eocd = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = out.readUInt32LE(eocd + 16);
  while (out.readUInt32LE(at) === 0x02014b50) {
    out.writeUInt32LE(size, at + 24);
    const local = out.readUInt32LE(at + 42);
    out.writeUInt32LE(size, local + 22);
    at += 46 + out.readUInt16LE(at + 28) + out.readUInt16LE(at + 30) + out.readUInt16LE(at + 32);
  }
  return new Uint8Array(out);
}

function gzipWithName(data: Uint8Array, name: string): Uint8Array {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  return new Uint8Array(Buffer.concat([header, Buffer.from(`${name}\0`, 'latin1'), deflateRawSync(data), trailer]));
}

describe('archiveAnalyzer', () => {
  it('accepts zip, ooxml, gzip and tar only', () => {
    for (const format of ['zip', 'ooxml', 'gzip', 'tar'] as const) expect(archiveAnalyzer.accepts(facts(format))).toBe(true);
    for (const format of ['7z', 'pe32', 'rar'] as const) expect(archiveAnalyzer.accepts(facts(format))).toBe(false);
  });

  describe('zip', () => {
    it('extracts plain, ZipCrypto and AES members and records the password that opened each', async () => {
      const zip = await buildZip([
        { name: 'readme.txt', data: Buffer.from('plain text') },
        { name: 'dir/', data: new Uint8Array(0), directory: true },
        { name: 'dir/zipcrypto.bin', data: Buffer.from('zipcrypto secret'), password: 'infected', encryption: 'zipcrypto' },
        { name: 'aes.bin', data: Buffer.from('aes secret'), password: 'infected', encryption: 'aes' },
      ]);
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context({}, ['wrong', 'infected']));
      expect(out.warnings).toEqual([]);
      expect(out.result.encrypted).toBe(true);
      expect(out.result.entries).toEqual([
        { path: 'readme.txt', size: 10, compressedSize: expect.any(Number), encrypted: false, extracted: true },
        { path: 'dir', storedPath: 'dir/', size: 0, compressedSize: 0, encrypted: false, extracted: false, reason: 'DIRECTORY' },
        { path: 'dir/zipcrypto.bin', size: 16, compressedSize: expect.any(Number), encrypted: true, encryption: 'zipcrypto', extracted: true, password: 'infected' },
        { path: 'aes.bin', size: 10, compressedSize: expect.any(Number), encrypted: true, encryption: 'aes', extracted: true, password: 'infected' },
      ]);
      expect(out.children?.map((c) => [c.name, c.relation, c.detail, Buffer.from(c.bytes).toString()])).toEqual([
        ['readme.txt', 'extracted', 'readme.txt', 'plain text'],
        ['zipcrypto.bin', 'extracted', 'dir/zipcrypto.bin', 'zipcrypto secret'],
        ['aes.bin', 'extracted', 'aes.bin', 'aes secret'],
      ]);
      expect(out.result.extractedBytes).toBe(36);
    });

    it('marks members it cannot open as WRONG_PASSWORD with a warning instead of throwing', async () => {
      const zip = await buildZip([
        { name: 'a.bin', data: randomBytes(2000), password: 'secret', encryption: 'zipcrypto' },
        { name: 'b.bin', data: randomBytes(2000), password: 'secret', encryption: 'aes' },
      ]);
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context({}, ['infected', 'malware']));
      expect(out.result.entries.map((e) => [e.path, e.extracted, e.reason])).toEqual([
        ['a.bin', false, 'WRONG_PASSWORD'],
        ['b.bin', false, 'WRONG_PASSWORD'],
      ]);
      expect(out.children).toEqual([]);
      expect(out.warnings).toHaveLength(2);
      expect(out.warnings?.[0]).toMatch(/no password opened "a.bin"/);
    });

    it('stops a ratio bomb whose header declares its real size before inflating anything', async () => {
      const zip = await buildZip([{ name: 'zeros.bin', data: { zeros: 32 * 1024 * 1024 }, level: 9 }, { name: 'ok.txt', data: Buffer.from('fine') }]);
      expect(zip.length).toBeLessThan(200_000);
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context());
      expect(out.result.entries[0]).toMatchObject({ path: 'zeros.bin', extracted: false, reason: 'COMPRESSION_RATIO', size: 32 * 1024 * 1024 });
      expect(out.result.entries[1]).toMatchObject({ path: 'ok.txt', extracted: true });
      expect(out.warnings?.join('\n')).toMatch(/zeros.bin.*COMPRESSION_RATIO/);
    });

    it('stops a member that inflates past the size its header declares (a lying bomb)', async () => {
      const zip = lieAboutSizes(await buildZip([{ name: 'liar.bin', data: { zeros: 32 * 1024 * 1024 }, level: 9 }]), 1000);
      const before = process.memoryUsage().arrayBuffers;
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context());
      // zip.js checks the declared size while inflating; the ratio bound (BoundedSink) backs it up.
      expect(out.result.entries[0]).toMatchObject({ path: 'liar.bin', extracted: false, reason: 'CORRUPT', size: 1000 });
      expect(out.warnings?.join('\n')).toMatch(/liar.bin" is corrupt/);
      // The 32 MiB output was never held.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(48 * 1024 * 1024);
    });

    it('skips members over maxChildBytes', async () => {
      const zip = await buildZip([{ name: 'big.bin', data: randomBytes(5000) }, { name: 'small.bin', data: randomBytes(500) }]);
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context({ maxChildBytes: 1000 }));
      expect(out.result.entries.map((e) => [e.path, e.extracted, e.reason])).toEqual([
        ['big.bin', false, 'TOO_LARGE'],
        ['small.bin', true, undefined],
      ]);
    });

    it('throws ARCHIVE_BOMB past maxTotalExtractedBytes', async () => {
      const zip = await buildZip([1, 2, 3].map((i) => ({ name: `part${i}.bin`, data: randomBytes(4000) })));
      const run = archiveAnalyzer.analyze(zip, facts('zip'), context({ maxTotalExtractedBytes: 10_000 }));
      await expect(run).rejects.toBeInstanceOf(AppError);
      await expect(run).rejects.toMatchObject({ code: 'ARCHIVE_BOMB' });
    });

    it('extracts at most maxChildren members and lists the rest', async () => {
      const zip = buildStoredZip([1, 2, 3, 4, 5].map((i) => ({ name: `f${i}.txt`, data: Buffer.from(`file ${i}`) })));
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context({ maxChildren: 2 }));
      expect(out.children).toHaveLength(2);
      expect(out.result.entries.map((e) => e.reason ?? 'ok')).toEqual(['ok', 'ok', 'TOO_MANY_ENTRIES', 'TOO_MANY_ENTRIES', 'TOO_MANY_ENTRIES']);
      expect(out.warnings).toEqual(['more than 2 members: the rest are listed but not extracted']);
    });

    it('refuses an archive listing absurdly many entries with ARCHIVE_BOMB', async () => {
      const zip = buildStoredZip(Array.from({ length: 10_001 }, (_, i) => ({ name: `${i}`, data: new Uint8Array([i & 0xff]) })));
      await expect(archiveAnalyzer.analyze(zip, facts('zip'), context({ maxChildren: 10 }))).rejects.toMatchObject({ code: 'ARCHIVE_BOMB' });
      // Directory entries count too: listing alone must stay bounded.
      const dirs = buildTar(Array.from({ length: 10_001 }, (_, i) => ({ name: `d${i}/`, type: '5' as const })));
      await expect(archiveAnalyzer.analyze(dirs, facts('tar'), context({ maxChildren: 10 }))).rejects.toMatchObject({ code: 'ARCHIVE_BOMB' });
    });

    it('extracts nothing at the depth limit', async () => {
      const zip = await buildZip([{ name: 'inner.zip', data: Buffer.from('PK nested') }]);
      const out = await archiveAnalyzer.analyze(zip, facts('zip', { depth: 3 }), context({ maxDepth: 3 }));
      expect(out.children).toEqual([]);
      expect(out.result.entries[0]).toMatchObject({ path: 'inner.zip', extracted: false, reason: 'MAX_DEPTH' });
      expect(out.warnings?.join()).toMatch(/depth 3 reached the limit of 3/);
      const shallower = await archiveAnalyzer.analyze(zip, facts('zip', { depth: 2 }), context({ maxDepth: 3 }));
      expect(shallower.children).toHaveLength(1);
    });

    it('extracts members with traversal names under sanitised names, flagged unsafe', async () => {
      const names = ['../../etc/passwd', '/abs/root.txt', 'C:\\Windows\\evil.exe', 'a\\..\\..\\b.txt', 'nul\u0000.txt', './ok/./x.txt', '..'];
      const zip = buildStoredZip(names.map((name, i) => ({ name, data: Buffer.from(`payload ${i}`) })));
      const out = await archiveAnalyzer.analyze(zip, facts('zip'), context());
      expect(out.result.entries.map((e) => [e.path, e.storedPath, e.unsafePath ?? false, e.extracted])).toEqual([
        ['etc/passwd', '../../etc/passwd', true, true],
        ['abs/root.txt', '/abs/root.txt', true, true],
        ['Windows/evil.exe', 'C:\\Windows\\evil.exe', true, true],
        ['a/b.txt', 'a\\..\\..\\b.txt', true, true],
        ['nul_.txt', 'nul\u0000.txt', true, true],
        ['ok/x.txt', './ok/./x.txt', false, true],
        ['member-6', '..', true, true],
      ]);
      expect(out.children?.map((c) => c.detail)).toEqual(['etc/passwd', 'abs/root.txt', 'Windows/evil.exe', 'a/b.txt', 'nul_.txt', 'ok/x.txt', 'member-6']);
      expect(out.warnings?.filter((w) => w.startsWith('unsafe member path'))).toHaveLength(6);
    });

    it('returns warnings, not exceptions, for garbage and truncated archives', async () => {
      const garbage = await archiveAnalyzer.analyze(new Uint8Array(randomBytes(4096)), facts('zip'), context());
      expect(garbage.result.entries).toEqual([]);
      expect(garbage.warnings?.[0]).toMatch(/^zip: cannot read archive/);

      const first = randomBytes(5000);
      const zip = await buildZip([{ name: 'a.bin', data: first, level: 0 }, { name: 'b.bin', data: randomBytes(5000), level: 0 }]);
      const truncated = await archiveAnalyzer.analyze(zip.subarray(0, 7000), facts('zip'), context());
      expect(truncated.result.entries.map((e) => [e.path, e.extracted, e.reason])).toEqual([
        ['a.bin', true, undefined],
        ['b.bin', false, 'TRUNCATED'],
      ]);
      expect(Buffer.from(truncated.children?.[0]?.bytes ?? []).equals(first)).toBe(true);
      expect(truncated.warnings?.join('\n')).toMatch(/cannot read archive[\s\S]*recovered 2 entries from local headers/);

      const text = Buffer.from('deflated member '.repeat(400));
      const deflated = await buildZip([{ name: 'd.txt', data: text }, { name: 'e.txt', data: randomBytes(3000) }]);
      const cut = await archiveAnalyzer.analyze(deflated.subarray(0, deflated.length - 1500), facts('zip'), context());
      expect(cut.result.entries.map((e) => [e.path, e.extracted, e.reason])).toEqual([
        ['d.txt', true, undefined],
        ['e.txt', false, 'TRUNCATED'],
      ]);
      expect(Buffer.from(cut.children?.[0]?.bytes ?? []).equals(text)).toBe(true);

      const corrupt = Buffer.from(buildStoredZip([{ name: 'c.txt', data: Buffer.from('original content') }]));
      corrupt[36] = 0x58; // flip a data byte (30-byte header + 5-byte name): CRC-32 no longer matches
      const crc = await archiveAnalyzer.analyze(new Uint8Array(corrupt), facts('zip'), context());
      expect(crc.result.entries[0]).toMatchObject({ path: 'c.txt', extracted: false, reason: 'CORRUPT' });
    });

    it('treats OOXML as a zip of parts', async () => {
      const docx = await buildZip([
        { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
        { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
        { name: 'word/vbaProject.bin', data: Buffer.from('macro storage') },
      ]);
      const out = await archiveAnalyzer.analyze(docx, facts('ooxml'), context());
      expect(out.result.format).toBe('ooxml');
      expect(out.children?.map((c) => c.detail)).toEqual(['[Content_Types].xml', 'word/document.xml', 'word/vbaProject.bin']);
    });
  });

  describe('gzip', () => {
    it('decompresses to one child named from the header', async () => {
      const data = Buffer.from('#!/bin/sh\necho hello\n'.repeat(50));
      const out = await archiveAnalyzer.analyze(gzipWithName(data, 'dropper.sh'), facts('gzip'), context());
      expect(out.result).toMatchObject({ format: 'gzip', extractedCount: 1 });
      expect(out.result.entries[0]).toMatchObject({ path: 'dropper.sh', size: data.length, extracted: true });
      expect(out.children?.[0]).toMatchObject({ name: 'dropper.sh', relation: 'decompressed', detail: 'dropper.sh' });
      expect(Buffer.from(out.children?.[0]?.bytes ?? []).equals(data)).toBe(true);
    });

    it('names the child after the sample when the header has no name', async () => {
      const out = await archiveAnalyzer.analyze(new Uint8Array(gzipSync(Buffer.from('payload'))), facts('gzip', { fileNames: ['x/report.pdf.gz'] }), context());
      expect(out.children?.[0]?.name).toBe('report.pdf');
    });

    it('keeps the partial output of a truncated stream, with a warning', async () => {
      const data = randomBytes(200_000);
      const gz = gzipSync(data);
      const out = await archiveAnalyzer.analyze(new Uint8Array(gz.subarray(0, gz.length / 2)), facts('gzip'), context());
      expect(out.result.entries[0]).toMatchObject({ extracted: true, partial: true });
      expect(out.warnings?.[0]).toMatch(/^gzip: .*partial output/);
      const child = out.children?.[0]?.bytes ?? new Uint8Array();
      expect(child.length).toBeGreaterThan(0);
      expect(Buffer.from(child).equals(data.subarray(0, child.length))).toBe(true);
    });

    it('reports garbage as CORRUPT', async () => {
      const out = await archiveAnalyzer.analyze(new Uint8Array([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), facts('gzip'), context());
      expect(out.result.entries[0]).toMatchObject({ extracted: false, reason: 'CORRUPT' });
    });

    it('stops a gzip bomb at the ratio bound', async () => {
      const gz = gzipSync(Buffer.alloc(32 * 1024 * 1024), { level: 9 });
      const out = await archiveAnalyzer.analyze(new Uint8Array(gz), facts('gzip'), context());
      expect(out.result.entries[0]).toMatchObject({ extracted: false, reason: 'COMPRESSION_RATIO' });
      expect(out.children).toEqual([]);
    });

    it('expands tar.gz in one step, and only within depth', async () => {
      const tgz = buildTarGz([
        { name: 'pkg/', type: '5' },
        { name: 'pkg/run.sh', data: Buffer.from('#!/bin/sh\n') },
      ]);
      const out = await archiveAnalyzer.analyze(tgz, facts('gzip'), context());
      expect(out.result.format).toBe('tar+gzip');
      expect(out.children?.map((c) => [c.detail, c.relation])).toEqual([['pkg/run.sh', 'extracted']]);

      const deep = await archiveAnalyzer.analyze(tgz, facts('gzip', { depth: 4 }), context({ maxDepth: 5 }));
      expect(deep.result.format).toBe('gzip');
      expect(deep.children?.map((c) => c.relation)).toEqual(['decompressed']);
      expect(deep.warnings?.join()).toMatch(/holds a tar, not expanded/);
    });
  });

  describe('tar', () => {
    it('lists files, directories and links, with GNU and PAX long names', async () => {
      const long = `deep/${'x'.repeat(120)}/file.bin`;
      const tar = buildTar([
        { name: 'bin/', type: '5' },
        { name: 'bin/tool', data: Buffer.from('ELF-ish') },
        { name: long, data: Buffer.from('gnu long') },
        { name: `${long}.pax`, data: Buffer.from('pax long'), longName: 'pax' },
        { name: 'link', type: '2' },
        { name: 'empty.txt' },
      ]);
      const out = await archiveAnalyzer.analyze(tar, facts('tar'), context());
      expect(out.warnings).toEqual([]);
      expect(out.result.entries.map((e) => [e.path, e.extracted, e.reason])).toEqual([
        ['bin', false, 'DIRECTORY'],
        ['bin/tool', true, undefined],
        [long, true, undefined],
        [`${long}.pax`, true, undefined],
        ['link', false, 'NOT_A_FILE'],
        ['empty.txt', false, 'EMPTY'],
      ]);
      expect(out.children?.map((c) => text(Buffer.from(c.bytes).toString()))).toEqual(['ELF-ish', 'gnu long', 'pax long']);
    });

    it('reads GNU-format headers', async () => {
      const out = await archiveAnalyzer.analyze(buildTar([{ name: 'a.txt', data: Buffer.from('a') }], 'gnu'), facts('tar'), context());
      expect(out.children?.map((c) => c.detail)).toEqual(['a.txt']);
    });

    it('flags truncated members and stops at corrupt headers', async () => {
      const truncated = buildTar([{ name: 'ok.txt', data: Buffer.from('ok') }, { name: 'cut.bin', data: randomBytes(100), declaredSize: 5000 }]);
      const out = await archiveAnalyzer.analyze(truncated, facts('tar'), context());
      expect(out.result.entries.map((e) => [e.path, e.reason ?? 'ok'])).toEqual([
        ['ok.txt', 'ok'],
        ['cut.bin', 'TRUNCATED'],
      ]);
      expect(out.warnings?.join()).toMatch(/cut.bin.*truncated/);

      const corrupt = Buffer.from(buildTar([{ name: 'a.txt', data: Buffer.from('a') }, { name: 'b.txt', data: Buffer.from('b') }]));
      corrupt.writeUInt8(corrupt.readUInt8(1024) ^ 0xff, 1024); // first byte of the second header's name
      const bad = await archiveAnalyzer.analyze(new Uint8Array(corrupt), facts('tar'), context());
      expect(bad.children).toHaveLength(1);
      expect(bad.warnings?.join()).toMatch(/bad header checksum at offset 1024/);
    });

    it('applies the same path and size rules as zip', async () => {
      const tar = buildTar([{ name: '../escape.sh', data: Buffer.from('x') }, { name: 'big', data: randomBytes(3000) }]);
      const out = await archiveAnalyzer.analyze(tar, facts('tar'), context({ maxChildBytes: 1000 }));
      expect(out.result.entries.map((e) => [e.path, e.unsafePath ?? false, e.reason ?? 'ok'])).toEqual([
        ['escape.sh', true, 'ok'],
        ['big', false, 'TOO_LARGE'],
      ]);
    });
  });
});

describe(sanitizeMemberPath.name, () => {
  it.each([
    ['a/b/c.txt', 'a/b/c.txt', false],
    ['../x', 'x', true],
    ['/etc/shadow', 'etc/shadow', true],
    ['D:evil', 'evil', true],
    ['\\\\server\\share\\f', 'server/share/f', true],
    ['a//b/./c', 'a/b/c', false],
    ['', 'fallback', false],
  ])('%j -> %j', (stored, path, unsafe) => {
    expect(sanitizeMemberPath(stored, 'fallback')).toEqual({ path, unsafe });
  });
});

describe(BoundedSink.name, () => {
  it('refuses the chunk that crosses the bound and keeps nothing after it', () => {
    const sink = new BoundedSink(new ExtractionBudget({ ...DEFAULT_LIMITS, maxChildBytes: 10 }).memberLimit(null));
    sink.push(new Uint8Array(6));
    expect(() => sink.push(new Uint8Array(6))).toThrow(/exceeds 10 bytes/);
    expect(sink.exceeded).toBe('TOO_LARGE');
    expect(sink.size).toBe(6);
  });
});
