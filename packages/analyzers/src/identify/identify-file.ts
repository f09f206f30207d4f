import type { FileFormat, FileKind, FileType } from '@malpipe/core';
import { identifyCafebabe, identifyElf, identifyMacho, identifyPe } from './identify-executable.js';
import { classifyText, decodeText } from './identify-text.js';
import { listZipNames } from './list-zip-names.js';
import { SHELLCODE_THRESHOLD, scoreShellcode } from './score-shellcode.js';

/** Identification never looks further than this into a sample (ZIP end records excepted, read by offset). */
export const IDENTIFY_WINDOW_BYTES = 4 * 1024 * 1024;

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (offset + signature.length > bytes.length) return false;
  return signature.every((b, i) => bytes[offset + i] === b);
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

function type(kind: FileKind, format: FileFormat, mime: string, description: string, traits: string[] = []): FileType {
  return { kind, format, mime, description, traits };
}

const OOXML_APPS: readonly (readonly [string, string, string])[] = [
  ['word/', 'word', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ['xl/', 'excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  ['ppt/', 'powerpoint', 'application/vnd.openxmlformats-officedocument.presentationml.presentation'],
];

function identifyZip(bytes: Uint8Array): FileType {
  const { names, encrypted } = listZipNames(bytes);
  const traits: string[] = encrypted ? ['encrypted'] : [];
  if (names.includes('[Content_Types].xml')) {
    const app = OOXML_APPS.find(([prefix]) => names.some((n) => n.startsWith(prefix)));
    if (app !== undefined) {
      traits.push(app[1]);
      if (names.some((n) => n.toLowerCase().endsWith('vbaproject.bin'))) traits.push('macros');
      return type('document', 'ooxml', app[2], `Microsoft Office Open XML (${app[1]})`, traits);
    }
  }
  if (names.includes('AndroidManifest.xml') && names.some((n) => /^classes\d*\.dex$/.test(n))) {
    return type('archive', 'zip', 'application/vnd.android.package-archive', 'Android package (APK)', ['apk', ...traits]);
  }
  if (names.includes('META-INF/MANIFEST.MF') || names.some((n) => n.endsWith('.class'))) {
    return type('archive', 'zip', 'application/java-archive', 'Java archive (JAR)', ['jar', ...traits]);
  }
  return type('archive', 'zip', 'application/zip', `Zip archive, ${names.length} entr${names.length === 1 ? 'y' : 'ies'}`, traits);
}

const LNK_HEADER = [0x4c, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46];

function identifyByMagic(bytes: Uint8Array): FileType | null {
  const executable = identifyPe(bytes) ?? identifyElf(bytes) ?? identifyMacho(bytes) ?? identifyCafebabe(bytes);
  if (executable) return executable;

  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06]) || startsWith(bytes, [0x50, 0x4b, 0x07, 0x08])) {
    return identifyZip(bytes);
  }
  if (startsWith(bytes, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return type('archive', '7z', 'application/x-7z-compressed', '7-zip archive');
  if (startsWith(bytes, ascii('Rar!\x1a\x07\x01\x00'))) return type('archive', 'rar', 'application/vnd.rar', 'RAR archive v5', ['rar5']);
  if (startsWith(bytes, ascii('Rar!\x1a\x07\x00'))) return type('archive', 'rar', 'application/vnd.rar', 'RAR archive v4', ['rar4']);
  if (startsWith(bytes, [0x1f, 0x8b, 0x08])) return type('archive', 'gzip', 'application/gzip', 'gzip compressed data');
  if (startsWith(bytes, ascii('BZh')) && (bytes[3] ?? 0) >= 0x31 && (bytes[3] ?? 0) <= 0x39 && startsWith(bytes, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4)) {
    return type('archive', 'bzip2', 'application/x-bzip2', 'bzip2 compressed data');
  }
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return type('archive', 'xz', 'application/x-xz', 'XZ compressed data');
  if (startsWith(bytes, ascii('MSCF\0\0\0\0'))) return type('archive', 'cab', 'application/vnd.ms-cab-compressed', 'Microsoft Cabinet archive');
  if (startsWith(bytes, ascii('ustar'), 257)) {
    const gnu = startsWith(bytes, ascii('ustar  \0'), 257);
    return type('archive', 'tar', 'application/x-tar', gnu ? 'GNU tar archive' : 'POSIX tar archive', [gnu ? 'gnu' : 'ustar']);
  }
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    return type('document', 'ole', 'application/x-ole-storage', 'OLE2 compound document (Composite Document File V2)');
  }
  if (startsWith(bytes, ascii('{\\rt'))) return type('document', 'rtf', 'text/rtf', 'Rich Text Format document');
  if (startsWith(bytes, LNK_HEADER)) return type('document', 'lnk', 'application/x-ms-shortcut', 'MS Windows shortcut (LNK)');
  if (startsWith(bytes, ascii('EMiL'))) return type('memory', 'memory-image', 'application/octet-stream', 'LiME memory image', ['lime']);
  if (startsWith(bytes, ascii('PAGEDU64'))) return type('memory', 'memory-image', 'application/octet-stream', 'MS Windows 64-bit crash dump', ['crashdump', 'x64']);
  if (startsWith(bytes, ascii('PAGEDUMP'))) return type('memory', 'memory-image', 'application/octet-stream', 'MS Windows 32-bit crash dump', ['crashdump', 'x86']);
  if (startsWith(bytes, ascii('MDMP\x93\xa7'))) return type('memory', 'memory-image', 'application/x-dmp', 'MS Windows minidump', ['minidump']);

  // PDF readers accept the header anywhere in the first 1024 bytes; droppers use that to hide it.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1024));
  const pdfAt = head.indexOf('%PDF-');
  if (pdfAt >= 0) return type('document', 'pdf', 'application/pdf', `PDF document${pdfAt > 0 ? ` (header at offset ${pdfAt})` : ''}`, pdfAt > 0 ? ['header-offset'] : []);
  return null;
}

/**
 * What a sample is, decided by its content: magic numbers and structure first, then text and script
 * heuristics, then raw shellcode. `fileName` is only a tie-breaker between script languages. Reads at most
 * IDENTIFY_WINDOW_BYTES of the input (plus small records at known offsets), never executes or decompresses.
 *
 * @example identifyFile(readBytes('/bin/ls')) // { kind: 'executable', format: 'elf64', traits: ['dyn', 'x64', ...] }
 */
export function identifyFile(bytes: Uint8Array, fileName?: string): FileType {
  if (bytes.length === 0) return type('data', 'unknown', 'application/x-empty', 'empty');
  const byMagic = identifyByMagic(bytes);
  if (byMagic) return byMagic;

  const window = bytes.subarray(0, IDENTIFY_WINDOW_BYTES);
  const decoded = decodeText(window);
  if (decoded) return classifyText(decoded, fileName);

  const shellcode = scoreShellcode(window);
  if (shellcode.score >= SHELLCODE_THRESHOLD) {
    return type('shellcode', 'shellcode', 'application/octet-stream', `possible x86/x64 shellcode (${shellcode.reasons.join(', ')})`, [...shellcode.reasons]);
  }
  return type('data', 'unknown', 'application/octet-stream', 'data');
}
