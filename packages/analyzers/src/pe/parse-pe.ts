import { createHash } from 'node:crypto';
import { ByteReader } from '../bytes/byte-reader.js';
import {
  CLR_FLAGS,
  DATA_DIRECTORY_NAMES,
  DEBUG_TYPE_NAMES,
  DLL_CHARACTERISTICS,
  FILE_CHARACTERISTICS,
  MACHINE_NAMES,
  PACKER_SECTION_NAMES,
  SECTION_CHARACTERISTICS,
  SECTION_MEM_EXECUTE,
  SECTION_MEM_READ,
  SECTION_MEM_WRITE,
  SUBSYSTEM_NAMES,
  decodeFlags,
  hex,
  type DataDirectoryName,
} from './pe-constants.js';
import { PeImage, adjustFileOffset, adjustVirtualAddress, type MappedSection } from './pe-image.js';
import type {
  PeAuthenticode,
  PeClrHeader,
  PeCodeView,
  PeDataDirectory,
  PeDebugEntry,
  PeInfo,
  PeOverlay,
  PeSection,
  PeTls,
} from './pe-types.js';
import { parseExports } from './parse-pe-exports.js';
import { computeImphash, parseDelayImports, parseImports } from './parse-pe-imports.js';
import { parseResources } from './parse-pe-resources.js';
import { parseRichHeader } from './parse-rich-header.js';
import { shannonEntropy } from './shannon-entropy.js';

/** pefile reads at most 0x800 section headers; Windows loads at most 96. */
export const MAX_SECTIONS = 0x800;
const WINDOWS_MAX_SECTIONS = 96;
const MAX_DEBUG_ENTRIES = 64;
const MAX_TLS_CALLBACKS = 64;
const MAX_PDB_PATH = 1024;
const HIGH_ENTROPY = 7.2;
const HASH_BUDGET_SLACK = 1 << 20;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function emptyInfo(bytes: Uint8Array): Mutable<PeInfo> {
  return {
    format: null,
    size: bytes.length,
    entropy: shannonEntropy(bytes),
    dosHeader: null,
    fileHeader: null,
    optionalHeader: null,
    dataDirectories: [],
    sections: [],
    imports: [],
    delayImports: [],
    imphash: null,
    exports: null,
    resources: null,
    versionInfo: null,
    richHeader: null,
    debug: [],
    codeView: null,
    tls: null,
    authenticode: null,
    clr: null,
    overlay: null,
    anomalies: [],
    warnings: [],
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses a PE (Portable Executable) image from its bytes. Pure and total: it never throws; whatever cannot be
 * parsed is left empty with the reason in `warnings`, and every count, depth and string length is bounded, so
 * hostile files cost at most a few passes over their bytes.
 *
 * @example
 *   const info = parsePe(bytes);
 *   info.imphash; // 'f34d5f2d4577ed6d9ceec516c1f5a744'
 *   info.versionInfo?.strings.OriginalFilename;
 */
export function parsePe(bytes: Uint8Array): PeInfo {
  const info = emptyInfo(bytes);
  const warnings: string[] = [];
  const anomalies: string[] = [];
  try {
    parseInto(new ByteReader(bytes), info, warnings, anomalies);
  } catch (error) {
    warnings.push(`PE parsing stopped: ${errorMessage(error)}`);
  }
  info.warnings = warnings;
  info.anomalies = anomalies;
  return info;
}

function parseInto(reader: ByteReader, info: Mutable<PeInfo>, warnings: string[], anomalies: string[]): void {
  if (!reader.has(0, 0x40) || reader.u16le(0) !== 0x5a4d) {
    warnings.push(reader.length < 0x40 ? 'file is too small for a DOS header' : 'no MZ signature');
    return;
  }
  const peOffset = reader.u32le(0x3c);
  if (!reader.has(peOffset, 24)) {
    warnings.push(`e_lfanew (0x${peOffset.toString(16)}) points outside the file`);
    return;
  }
  info.dosHeader = { peHeaderOffset: peOffset };
  if (reader.u32le(peOffset) !== 0x00004550) {
    warnings.push(`no PE signature at e_lfanew (0x${peOffset.toString(16)})`);
    return;
  }

  const attempt = (what: string, run: () => void): void => {
    try {
      run();
    } catch (error) {
      warnings.push(`${what}: ${errorMessage(error)}`);
    }
  };
  attempt('Rich header', () => {
    info.richHeader = parseRichHeader(reader, peOffset);
    if (info.richHeader !== null && !info.richHeader.checksumValid)
      anomalies.push('Rich header checksum does not match its key (edited header?)');
  });

  // File header (IMAGE_FILE_HEADER).
  const fh = peOffset + 4;
  const machine = reader.u16le(fh);
  const numberOfSections = reader.u16le(fh + 2);
  const timestamp = reader.u32le(fh + 4);
  const sizeOfOptionalHeader = reader.u16le(fh + 16);
  const characteristics = reader.u16le(fh + 18);
  const isDll = (characteristics & 0x2000) !== 0;
  info.fileHeader = {
    machine,
    machineName: MACHINE_NAMES.get(machine) ?? `UNKNOWN(${hex(machine)})`,
    numberOfSections,
    timestamp,
    timestampIso: new Date(timestamp * 1000).toISOString(),
    pointerToSymbolTable: reader.u32le(fh + 8),
    numberOfSymbols: reader.u32le(fh + 12),
    sizeOfOptionalHeader,
    characteristics,
    characteristicsFlags: decodeFlags(characteristics, FILE_CHARACTERISTICS),
    isDll,
  };
  if (sizeOfOptionalHeader === 0) anomalies.push('zero-size optional header');
  if (numberOfSections === 0) anomalies.push('no sections');
  if (numberOfSections > WINDOWS_MAX_SECTIONS)
    anomalies.push(`${numberOfSections} sections (Windows loads at most ${WINDOWS_MAX_SECTIONS})`);

  // Optional header. Read even when SizeOfOptionalHeader is too small, as the loader does.
  const oh = fh + 20;
  if (!reader.has(oh, 2)) {
    warnings.push('file ends before the optional header');
    return;
  }
  const magic = reader.u16le(oh);
  let is64: boolean;
  if (magic === 0x20b) is64 = true;
  else if (magic === 0x10b) is64 = false;
  else {
    anomalies.push(`unknown optional header magic ${hex(magic)}; parsed as PE32`);
    is64 = false;
  }
  info.format = is64 ? 'pe32+' : 'pe32';
  const fixedSize = is64 ? 112 : 96;
  if (!reader.has(oh, fixedSize)) {
    warnings.push('file ends inside the optional header');
    return;
  }
  const imageBase = is64 ? reader.u64le(oh + 24) : BigInt(reader.u32le(oh + 28));
  const sectionAlignment = reader.u32le(oh + 32);
  const fileAlignment = reader.u32le(oh + 36);
  const entryPoint = reader.u32le(oh + 16);
  const sizeOfHeaders = reader.u32le(oh + 60);
  const checksum = reader.u32le(oh + 64);
  const subsystem = reader.u16le(oh + 68);
  const dllCharacteristics = reader.u16le(oh + 70);
  const numberOfRvaAndSizes = reader.u32le(oh + (is64 ? 108 : 92));
  const version = (offset: number): string => `${reader.u16le(offset)}.${reader.u16le(offset + 2)}`;

  // Data directories: at most 16, and only those present in the file.
  if (numberOfRvaAndSizes > 16)
    anomalies.push(`NumberOfRvaAndSizes is ${numberOfRvaAndSizes} (more than 16)`);
  const directories: PeDataDirectory[] = [];
  const directoryStart = oh + fixedSize;
  for (let i = 0; i < Math.min(numberOfRvaAndSizes, 16); i++) {
    if (!reader.has(directoryStart + i * 8, 8)) {
      warnings.push('file ends inside the data directories');
      break;
    }
    directories.push({
      name: DATA_DIRECTORY_NAMES[i] ?? 'RESERVED',
      virtualAddress: reader.u32le(directoryStart + i * 8),
      size: reader.u32le(directoryStart + i * 8 + 4),
    });
  }
  info.dataDirectories = directories;
  const directory = (name: DataDirectoryName): PeDataDirectory | null => {
    const found = directories.find((d) => d.name === name);
    return found !== undefined && found.virtualAddress !== 0 ? found : null;
  };

  // Section table.
  const sectionTable = oh + sizeOfOptionalHeader;
  const mapped: MappedSection[] = [];
  const sections: PeSection[] = [];
  // Real sections do not overlap, so hashing them costs at most the file size; hostile ones may all cover it.
  let hashBudget = 2 * reader.length + HASH_BUDGET_SLACK;
  if (numberOfSections > MAX_SECTIONS)
    warnings.push(`only the first ${MAX_SECTIONS} of ${numberOfSections} sections are read`);
  for (let i = 0; i < Math.min(numberOfSections, MAX_SECTIONS); i++) {
    const at = sectionTable + i * 40;
    if (!reader.has(at, 40)) {
      warnings.push(`section table is truncated after ${i} of ${numberOfSections} sections`);
      break;
    }
    const name = reader.cString(at, 8);
    const virtualSize = reader.u32le(at + 8);
    const virtualAddress = reader.u32le(at + 12);
    const rawSize = reader.u32le(at + 16);
    const rawOffset = reader.u32le(at + 20);
    const sectionCharacteristics = reader.u32le(at + 36);
    const adjustedOffset = adjustFileOffset(rawOffset, fileAlignment);
    mapped.push({
      name,
      virtualAddress: adjustVirtualAddress(virtualAddress, sectionAlignment, fileAlignment),
      virtualSize,
      rawOffset: adjustedOffset,
      rawSize,
      characteristics: sectionCharacteristics,
    });
    const available =
      rawSize === 0 || adjustedOffset >= reader.length
        ? 0
        : Math.min(rawSize, reader.length - adjustedOffset);
    const data = reader.slice(Math.min(adjustedOffset, reader.length), available);
    if (rawSize > 0 && adjustedOffset + rawSize > reader.length)
      anomalies.push(`section ${name} raw data extends past the end of the file`);
    const permissions =
      ((sectionCharacteristics & SECTION_MEM_READ) !== 0 ? 'r' : '-') +
      ((sectionCharacteristics & SECTION_MEM_WRITE) !== 0 ? 'w' : '-') +
      ((sectionCharacteristics & SECTION_MEM_EXECUTE) !== 0 ? 'x' : '-');
    const hashed = data.length <= hashBudget;
    hashBudget -= data.length;
    if (!hashed && hashBudget + data.length >= 0)
      warnings.push('sections overlap too much: entropy and md5 of the remaining sections are skipped');
    const entropy = hashed ? shannonEntropy(data) : null;
    sections.push({
      name,
      virtualAddress,
      virtualSize,
      rawOffset,
      rawSize,
      characteristics: sectionCharacteristics,
      characteristicsFlags: decodeFlags(sectionCharacteristics, SECTION_CHARACTERISTICS),
      permissions,
      entropy,
      md5: hashed ? createHash('md5').update(data).digest('hex') : null,
    });
    const packer = PACKER_SECTION_NAMES.get(name.toLowerCase());
    if (packer !== undefined) anomalies.push(`section name ${name} suggests ${packer}`);
    if (permissions === 'rwx' || permissions === '-wx')
      anomalies.push(`section ${name} is writable and executable`);
    if (entropy !== null && entropy >= HIGH_ENTROPY && data.length >= 1024)
      anomalies.push(`section ${name} has high entropy (${entropy})`);
  }
  info.sections = sections;
  const image = new PeImage(reader, is64, imageBase, mapped, warnings, anomalies);

  const entrySection = image.sectionOf(entryPoint);
  if (entryPoint === 0) {
    if (!isDll) anomalies.push('entry point is zero');
  } else if (entrySection === null) {
    anomalies.push(`entry point ${hex(entryPoint)} lies outside every section`);
  } else if (
    (entrySection.characteristics & SECTION_MEM_EXECUTE) === 0 &&
    (entrySection.characteristics & 0x20) === 0
  ) {
    anomalies.push(`entry point lies in non-executable section ${entrySection.name}`);
  }

  const computedChecksum = computePeChecksum(reader.bytes, oh + 64);
  if (checksum !== 0 && checksum !== computedChecksum) {
    anomalies.push(`header checksum ${hex(checksum)} does not match the computed ${hex(computedChecksum)}`);
  }
  info.optionalHeader = {
    magic,
    linkerVersion: `${reader.u8(oh + 2)}.${reader.u8(oh + 3)}`,
    sizeOfCode: reader.u32le(oh + 4),
    sizeOfInitializedData: reader.u32le(oh + 8),
    sizeOfUninitializedData: reader.u32le(oh + 12),
    addressOfEntryPoint: entryPoint,
    entryPointSection: entrySection?.name ?? null,
    baseOfCode: reader.u32le(oh + 20),
    imageBase: hex(imageBase),
    sectionAlignment,
    fileAlignment,
    operatingSystemVersion: version(oh + 40),
    imageVersion: version(oh + 44),
    subsystemVersion: version(oh + 48),
    sizeOfImage: reader.u32le(oh + 56),
    sizeOfHeaders,
    checksum,
    computedChecksum,
    subsystem,
    subsystemName: SUBSYSTEM_NAMES.get(subsystem) ?? `UNKNOWN(${subsystem})`,
    dllCharacteristics,
    dllCharacteristicsFlags: decodeFlags(dllCharacteristics, DLL_CHARACTERISTICS),
    numberOfRvaAndSizes,
  };

  const imports = directory('IMPORT');
  if (imports === null) anomalies.push('no import directory');
  else
    attempt('imports', () => {
      info.imports = parseImports(image, imports.virtualAddress);
      info.imphash = computeImphash(info.imports);
    });
  const delayImports = directory('DELAY_IMPORT');
  if (delayImports !== null)
    attempt(
      'delay imports',
      () => (info.delayImports = parseDelayImports(image, delayImports.virtualAddress)),
    );
  const exports = directory('EXPORT');
  if (exports !== null)
    attempt('exports', () => (info.exports = parseExports(image, exports.virtualAddress, exports.size)));
  const resources = directory('RESOURCE');
  if (resources !== null)
    attempt('resources', () => {
      const parsed = parseResources(image, resources.virtualAddress);
      info.resources = parsed.resources;
      info.versionInfo = parsed.versionInfo;
    });
  const debug = directory('DEBUG');
  if (debug !== null)
    attempt('debug directory', () => {
      const parsed = parseDebug(image, debug.virtualAddress, debug.size);
      info.debug = parsed.entries;
      info.codeView = parsed.codeView;
    });
  const tls = directory('TLS');
  if (tls !== null) attempt('TLS directory', () => (info.tls = parseTls(image, tls.virtualAddress)));
  const clr = directory('CLR_RUNTIME_HEADER');
  if (clr !== null) attempt('CLR header', () => (info.clr = parseClr(image, clr.virtualAddress)));
  const security = directory('SECURITY');
  if (security !== null) {
    info.authenticode = parseSecurity(reader, security.virtualAddress, security.size);
    if (!info.authenticode.withinFile) anomalies.push('security directory points past the end of the file');
  }
  attempt(
    'overlay',
    () =>
      (info.overlay = findOverlay(image, oh, sizeOfOptionalHeader, sections, directories, info.authenticode)),
  );
}

/**
 * The PE checksum as Windows' CheckSumMappedFile (and pefile) compute it: 32-bit one's-complement-style sum of
 * the file's dwords, skipping the CheckSum field, folded to 16 bits, plus the file length.
 */
export function computePeChecksum(bytes: Uint8Array, checksumOffset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const skip = Math.floor(checksumOffset / 4);
  const whole = Math.floor(bytes.length / 4);
  let sum = 0;
  for (let i = 0; i < whole; i++) {
    if (i === skip) continue;
    sum += view.getUint32(i * 4, true);
    if (sum >= 0x1_0000_0000) sum = (sum % 0x1_0000_0000) + Math.floor(sum / 0x1_0000_0000);
  }
  const remainder = bytes.length % 4;
  if (remainder !== 0 && whole !== skip) {
    let last = 0;
    for (let j = 0; j < remainder; j++) last |= bytes[whole * 4 + j]! << (8 * j);
    sum += last >>> 0;
    if (sum >= 0x1_0000_0000) sum = (sum % 0x1_0000_0000) + Math.floor(sum / 0x1_0000_0000);
  }
  sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  sum = sum + Math.floor(sum / 0x10000);
  return (sum & 0xffff) + bytes.length;
}

function formatGuid(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const hexBytes = (from: number, to: number): string =>
    Array.from(bytes.subarray(from, to), (b) => b.toString(16).padStart(2, '0')).join('');
  return [
    view.getUint32(0, true).toString(16).padStart(8, '0'),
    view.getUint16(4, true).toString(16).padStart(4, '0'),
    view.getUint16(6, true).toString(16).padStart(4, '0'),
    hexBytes(8, 10),
    hexBytes(10, 16),
  ]
    .join('-')
    .toUpperCase();
}

function parseCodeView(data: Uint8Array): PeCodeView | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const pathFrom = (start: number): string => {
    const slice = data.subarray(start, Math.min(data.length, start + MAX_PDB_PATH));
    const nul = slice.indexOf(0);
    return Buffer.from(nul >= 0 ? slice.subarray(0, nul) : slice).toString('utf8');
  };
  if (data.length >= 24 && view.getUint32(0, true) === 0x53445352) {
    return {
      signature: 'RSDS',
      guid: formatGuid(data.subarray(4, 20)),
      age: view.getUint32(20, true),
      pdbPath: pathFrom(24),
    };
  }
  if (data.length >= 16 && view.getUint32(0, true) === 0x3031424e) {
    return {
      signature: 'NB10',
      guid: view.getUint32(8, true).toString(16).padStart(8, '0').toUpperCase(),
      age: view.getUint32(12, true),
      pdbPath: pathFrom(16),
    };
  }
  return null;
}

function parseDebug(
  image: PeImage,
  rva: number,
  size: number,
): { entries: PeDebugEntry[]; codeView: PeCodeView | null } {
  const entries: PeDebugEntry[] = [];
  let codeView: PeCodeView | null = null;
  const count = Math.min(Math.floor(size / 28), MAX_DEBUG_ENTRIES);
  for (let i = 0; i < count; i++) {
    const raw = image.bytesAt(rva + i * 28, 28);
    if (raw === null || raw.length < 28) {
      image.warnings.push('debug directory runs out of the file');
      break;
    }
    const view = new DataView(raw.buffer, raw.byteOffset, 28);
    const type = view.getUint32(12, true);
    const dataSize = view.getUint32(16, true);
    const dataRva = view.getUint32(20, true);
    const rawOffset = view.getUint32(24, true);
    entries.push({
      type,
      typeName: DEBUG_TYPE_NAMES.get(type) ?? `UNKNOWN(${type})`,
      timestamp: view.getUint32(4, true),
      size: dataSize,
      rawOffset,
    });
    if (type === 2 && codeView === null) {
      const length = Math.min(dataSize, 24 + MAX_PDB_PATH);
      const data = image.reader.has(rawOffset, length)
        ? image.reader.slice(rawOffset, length)
        : dataRva !== 0
          ? image.bytesAt(dataRva, length)
          : null;
      codeView = data === null ? null : parseCodeView(data);
      if (codeView === null) image.warnings.push('CodeView debug entry is unreadable');
    }
  }
  return { entries, codeView };
}

function parseTls(image: PeImage, rva: number): PeTls {
  const callbacksVa = image.pointerAt(rva + (image.is64 ? 24 : 12));
  const callbacks: string[] = [];
  let callbackCount = 0;
  if (callbacksVa === null) image.warnings.push('TLS directory lies outside the file');
  else if (callbacksVa !== 0n) {
    const tableRva = image.vaToRva(callbacksVa);
    if (tableRva === null)
      image.warnings.push(`TLS callback table address ${hex(callbacksVa)} is outside the image`);
    else {
      const step = image.is64 ? 8 : 4;
      for (let i = 0; i < MAX_TLS_CALLBACKS; i++) {
        const callback = image.pointerAt(tableRva + i * step);
        if (callback === null || callback === 0n) break;
        callbacks.push(hex(callback));
        callbackCount++;
      }
    }
  }
  return { callbackCount, callbacks };
}

function parseClr(image: PeImage, rva: number): PeClrHeader | null {
  const raw = image.bytesAt(rva, 24);
  if (raw === null || raw.length < 24) {
    image.warnings.push('CLR header lies outside the file');
    return null;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, 24);
  const metadataRva = view.getUint32(8, true);
  const flags = view.getUint32(16, true);
  let runtimeVersion: string | null = null;
  const root = image.bytesAt(metadataRva, 16 + 256);
  if (root !== null && root.length >= 16) {
    const rootView = new DataView(root.buffer, root.byteOffset, root.byteLength);
    if (rootView.getUint32(0, true) === 0x424a5342) {
      const length = Math.min(rootView.getUint32(12, true), root.length - 16, 255);
      const versionBytes = root.subarray(16, 16 + length);
      const nul = versionBytes.indexOf(0);
      runtimeVersion = Buffer.from(nul >= 0 ? versionBytes.subarray(0, nul) : versionBytes).toString(
        'latin1',
      );
    } else image.warnings.push('CLR metadata root has no BSJB signature');
  }
  return {
    headerVersion: `${view.getUint16(4, true)}.${view.getUint16(6, true)}`,
    runtimeVersion,
    flags,
    flagNames: decodeFlags(flags, CLR_FLAGS),
    entryPointToken: view.getUint32(20, true),
  };
}

/** The security directory's address is a file offset (the signature is not mapped into memory). */
function parseSecurity(reader: ByteReader, offset: number, size: number): PeAuthenticode {
  const withinFile = reader.has(offset, size);
  const certificateType = reader.has(offset, 8) ? reader.u16le(offset + 6) : null;
  return { offset, size, withinFile, certificateType };
}

/**
 * Overlay = bytes after the furthest end of the headers, section raw data and data directories (except the
 * security directory), as pefile's get_overlay_data_start_offset computes it. A trailing Authenticode signature
 * is therefore reported as overlay, flagged `isSignatureOnly`.
 */
function findOverlay(
  image: PeImage,
  optionalHeaderOffset: number,
  sizeOfOptionalHeader: number,
  sections: readonly PeSection[],
  directories: readonly PeDataDirectory[],
  authenticode: PeAuthenticode | null,
): PeOverlay | null {
  const length = image.reader.length;
  let end = 0;
  const consider = (offset: number, size: number): void => {
    if (offset + size <= length && offset + size > end) end = offset + size;
  };
  consider(optionalHeaderOffset, sizeOfOptionalHeader);
  // pefile takes PointerToRawData unadjusted here.
  for (const section of sections) consider(section.rawOffset, section.rawSize);
  for (const directory of directories) {
    if (directory.name === 'SECURITY') continue;
    const offset = image.rvaToOffset(directory.virtualAddress);
    if (offset !== null) consider(offset, directory.size);
  }
  if (end >= length) return null;
  const isSignatureOnly =
    authenticode !== null &&
    authenticode.withinFile &&
    authenticode.offset === end &&
    authenticode.offset + authenticode.size === length;
  return {
    offset: end,
    size: length - end,
    entropy: shannonEntropy(image.reader.slice(end, length - end)),
    isSignatureOnly,
  };
}
