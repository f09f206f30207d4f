import { ByteReader } from '../bytes/byte-reader.js';
import { shannonEntropy } from '../pe/shannon-entropy.js';
import type { ElfDynamic, ElfInfo, ElfProgramHeader, ElfSection } from './elf-types.js';

/** Bounds on hostile headers (real binaries have a few dozen of each). */
export const MAX_PROGRAM_HEADERS = 4096;
export const MAX_SECTIONS = 10_000;
const MAX_DYNAMIC_ENTRIES = 10_000;
const MAX_NEEDED = 1024;
const MAX_NOTES = 256;
const MAX_STRING = 4096;

const OS_ABI_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'SYSV'],
  [1, 'HPUX'],
  [2, 'NETBSD'],
  [3, 'GNU'],
  [6, 'SOLARIS'],
  [7, 'AIX'],
  [8, 'IRIX'],
  [9, 'FREEBSD'],
  [10, 'TRU64'],
  [11, 'MODESTO'],
  [12, 'OPENBSD'],
  [64, 'ARM_AEABI'],
  [97, 'ARM'],
  [255, 'STANDALONE'],
]);

const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NONE'],
  [1, 'REL'],
  [2, 'EXEC'],
  [3, 'DYN'],
  [4, 'CORE'],
]);

const MACHINE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'none'],
  [2, 'sparc'],
  [3, 'i386'],
  [4, 'm68k'],
  [8, 'mips'],
  [10, 'mips-rs3-le'],
  [15, 'parisc'],
  [18, 'sparc32plus'],
  [20, 'ppc'],
  [21, 'ppc64'],
  [22, 's390'],
  [40, 'arm'],
  [42, 'sh'],
  [43, 'sparcv9'],
  [50, 'ia64'],
  [62, 'x86-64'],
  [83, 'avr'],
  [92, 'openrisc'],
  [94, 'xtensa'],
  [106, 'blackfin'],
  [164, 'hexagon'],
  [183, 'aarch64'],
  [243, 'riscv'],
  [247, 'bpf'],
  [258, 'loongarch'],
]);

const SEGMENT_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NULL'],
  [1, 'LOAD'],
  [2, 'DYNAMIC'],
  [3, 'INTERP'],
  [4, 'NOTE'],
  [5, 'SHLIB'],
  [6, 'PHDR'],
  [7, 'TLS'],
  [0x6474e550, 'GNU_EH_FRAME'],
  [0x6474e551, 'GNU_STACK'],
  [0x6474e552, 'GNU_RELRO'],
  [0x6474e553, 'GNU_PROPERTY'],
  [0x6474e554, 'GNU_SFRAME'],
]);

const SECTION_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NULL'],
  [1, 'PROGBITS'],
  [2, 'SYMTAB'],
  [3, 'STRTAB'],
  [4, 'RELA'],
  [5, 'HASH'],
  [6, 'DYNAMIC'],
  [7, 'NOTE'],
  [8, 'NOBITS'],
  [9, 'REL'],
  [10, 'SHLIB'],
  [11, 'DYNSYM'],
  [14, 'INIT_ARRAY'],
  [15, 'FINI_ARRAY'],
  [16, 'PREINIT_ARRAY'],
  [17, 'GROUP'],
  [18, 'SYMTAB_SHNDX'],
  [19, 'RELR'],
  [0x6ffffff5, 'GNU_ATTRIBUTES'],
  [0x6ffffff6, 'GNU_HASH'],
  [0x6ffffff7, 'GNU_LIBLIST'],
  [0x6ffffffd, 'VERDEF'],
  [0x6ffffffe, 'VERNEED'],
  [0x6fffffff, 'VERSYM'],
]);

/** Section flag letters in readelf's order of bits. */
const SECTION_FLAG_LETTERS: readonly (readonly [number, string])[] = [
  [0x1, 'W'],
  [0x2, 'A'],
  [0x4, 'X'],
  [0x10, 'M'],
  [0x20, 'S'],
  [0x40, 'I'],
  [0x80, 'L'],
  [0x100, 'O'],
  [0x200, 'G'],
  [0x400, 'T'],
  [0x800, 'C'],
];

const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;
const PT_GNU_STACK = 0x6474e551;
const PF_X = 1;
const PF_W = 2;
const PF_R = 4;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Endian- and class-aware field reads over a ByteReader. */
class ElfReader {
  readonly reader: ByteReader;
  readonly is64: boolean;
  readonly little: boolean;

  constructor(reader: ByteReader, is64: boolean, little: boolean) {
    this.reader = reader;
    this.is64 = is64;
    this.little = little;
  }

  u16(offset: number): number {
    return this.little ? this.reader.u16le(offset) : this.reader.u16be(offset);
  }

  u32(offset: number): number {
    return this.little ? this.reader.u32le(offset) : this.reader.u32be(offset);
  }

  u64(offset: number): bigint {
    return this.little ? this.reader.u64le(offset) : this.reader.u64be(offset);
  }

  /** An address or offset field: 4 bytes in ELF32, 8 in ELF64. */
  word(offset: number): bigint {
    return this.is64 ? this.u64(offset) : BigInt(this.u32(offset));
  }

  /** A size or offset as a number; values beyond 2^53 only ever fail bounds checks, so precision loss is harmless. */
  wordNumber(offset: number): number {
    return Number(this.word(offset));
  }
}

const hex = (value: bigint | number): string => `0x${value.toString(16)}`;

function permissionsOf(flags: number): string {
  return (
    ((flags & PF_R) !== 0 ? 'r' : '-') +
    ((flags & PF_W) !== 0 ? 'w' : '-') +
    ((flags & PF_X) !== 0 ? 'x' : '-')
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Parses an ELF file (32/64-bit, little/big-endian) from its bytes. Pure and total: never throws; malformed
 * structures are reported in `warnings`, every table is bounded, and reads outside the file are refused.
 *
 * @example
 *   const info = parseElf(bytes);
 *   info.interpreter; // '/lib64/ld-linux-x86-64.so.2'
 *   info.dynamic?.needed; // ['libc.so.6']
 */
export function parseElf(bytes: Uint8Array): ElfInfo {
  const info: Mutable<ElfInfo> = {
    class: null,
    endianness: null,
    size: bytes.length,
    entropy: shannonEntropy(bytes),
    header: null,
    programHeaders: [],
    interpreter: null,
    sections: [],
    dynamic: null,
    symbols: { static: 0, dynamic: 0 },
    buildId: null,
    stripped: true,
    anomalies: [],
    warnings: [],
  };
  const warnings: string[] = [];
  const anomalies: string[] = [];
  try {
    parseInto(new ByteReader(bytes), info, warnings, anomalies);
  } catch (error) {
    warnings.push(`ELF parsing stopped: ${errorMessage(error)}`);
  }
  info.warnings = warnings;
  info.anomalies = anomalies;
  return info;
}

function parseInto(
  reader: ByteReader,
  info: Mutable<ElfInfo>,
  warnings: string[],
  anomalies: string[],
): void {
  if (!reader.has(0, 16) || reader.u32be(0) !== 0x7f454c46) {
    warnings.push('no ELF magic');
    return;
  }
  const elfClass = reader.u8(4);
  const data = reader.u8(5);
  if (elfClass !== 1 && elfClass !== 2) {
    warnings.push(`invalid ELF class ${elfClass}`);
    return;
  }
  if (data !== 1 && data !== 2) {
    warnings.push(`invalid ELF data encoding ${data}`);
    return;
  }
  const is64 = elfClass === 2;
  info.class = is64 ? 'elf64' : 'elf32';
  info.endianness = data === 1 ? 'little' : 'big';
  const r = new ElfReader(reader, is64, data === 1);
  const headerSize = is64 ? 64 : 52;
  if (!reader.has(0, headerSize)) {
    warnings.push('file ends inside the ELF header');
    return;
  }

  const a = is64 ? 8 : 4; // size of an address field
  const type = r.u16(16);
  const machine = r.u16(18);
  const entry = r.word(24);
  const phoff = r.wordNumber(24 + a);
  const shoff = r.wordNumber(24 + 2 * a);
  const flagsAt = 24 + 3 * a;
  const phentsize = r.u16(flagsAt + 6);
  let phnum = r.u16(flagsAt + 8);
  const shentsize = r.u16(flagsAt + 10);
  let shnum = r.u16(flagsAt + 12);
  let shstrndx = r.u16(flagsAt + 14);
  const expectedPhentsize = is64 ? 56 : 32;
  const expectedShentsize = is64 ? 64 : 40;

  // Extended numbering: counts that do not fit 16 bits live in section header 0.
  if (shoff !== 0 && shentsize >= expectedShentsize && reader.has(shoff, expectedShentsize)) {
    if (shnum === 0) shnum = r.wordNumber(shoff + (is64 ? 32 : 20));
    if (shstrndx === 0xffff) shstrndx = r.u32(shoff + (is64 ? 40 : 24));
    if (phnum === 0xffff) phnum = r.u32(shoff + (is64 ? 44 : 28));
  }

  const ehsize = r.u16(flagsAt + 4);
  if (ehsize !== headerSize) anomalies.push(`e_ehsize is ${ehsize} (expected ${headerSize})`);

  // Program headers.
  const programHeaders: ElfProgramHeader[] = [];
  if (phnum > 0 && phentsize < expectedPhentsize) {
    anomalies.push(`e_phentsize is ${phentsize} (expected ${expectedPhentsize})`);
  } else {
    if (phnum > MAX_PROGRAM_HEADERS)
      warnings.push(`only the first ${MAX_PROGRAM_HEADERS} of ${phnum} program headers are read`);
    for (let i = 0; i < Math.min(phnum, MAX_PROGRAM_HEADERS); i++) {
      const at = phoff + i * phentsize;
      if (!reader.has(at, expectedPhentsize)) {
        warnings.push(`program header table is truncated after ${i} of ${phnum} entries`);
        break;
      }
      const segmentType = r.u32(at);
      const flags = is64 ? r.u32(at + 4) : r.u32(at + 24);
      programHeaders.push({
        type: segmentType,
        typeName: SEGMENT_TYPE_NAMES.get(segmentType) ?? hex(segmentType),
        offset: is64 ? Number(r.u64(at + 8)) : r.u32(at + 4),
        virtualAddress: hex(is64 ? r.u64(at + 16) : BigInt(r.u32(at + 8))),
        fileSize: is64 ? Number(r.u64(at + 32)) : r.u32(at + 16),
        memorySize: is64 ? Number(r.u64(at + 40)) : r.u32(at + 20),
        flags,
        permissions: permissionsOf(flags),
        align: is64 ? Number(r.u64(at + 48)) : r.u32(at + 28),
      });
    }
  }
  info.programHeaders = programHeaders;

  const interpreters = programHeaders.filter((p) => p.type === PT_INTERP);
  if (interpreters.length > 1) anomalies.push(`${interpreters.length} PT_INTERP segments`);
  const interp = interpreters[0];
  if (interp !== undefined) {
    if (reader.has(interp.offset, 1))
      info.interpreter = reader.cString(interp.offset, Math.min(interp.fileSize, MAX_STRING));
    else warnings.push('PT_INTERP points outside the file');
  }
  for (const segment of programHeaders) {
    if (
      segment.type === PT_LOAD &&
      segment.fileSize > 0 &&
      segment.offset + segment.fileSize > reader.length
    ) {
      anomalies.push(`LOAD segment at offset ${hex(segment.offset)} extends past the end of the file`);
    }
    if (segment.type === PT_LOAD && (segment.flags & PF_W) !== 0 && (segment.flags & PF_X) !== 0) {
      anomalies.push(`LOAD segment at ${segment.virtualAddress} is writable and executable`);
    }
    if (segment.type === PT_GNU_STACK && (segment.flags & PF_X) !== 0)
      anomalies.push('executable stack (GNU_STACK has X)');
  }
  const loads = programHeaders.filter((p) => p.type === PT_LOAD);
  const inSegment = (address: bigint, segment: ElfProgramHeader): boolean => {
    const start = BigInt(segment.virtualAddress);
    return address >= start && address < start + BigInt(segment.memorySize);
  };
  if ((type === 2 || type === 3) && entry !== 0n && loads.length > 0) {
    const home = loads.find((segment) => inSegment(entry, segment));
    if (home === undefined) anomalies.push(`entry point ${hex(entry)} lies outside every LOAD segment`);
    else if ((home.flags & PF_X) === 0)
      anomalies.push(`entry point ${hex(entry)} lies in a non-executable segment`);
  }

  info.header = {
    osAbi: reader.u8(7),
    osAbiName: OS_ABI_NAMES.get(reader.u8(7)) ?? `UNKNOWN(${reader.u8(7)})`,
    abiVersion: reader.u8(8),
    type,
    typeName: TYPE_NAMES.get(type) ?? hex(type),
    isPie: type === 3 && interp !== undefined,
    machine,
    machineName: MACHINE_NAMES.get(machine) ?? `unknown(${machine})`,
    version: r.u32(20),
    entry: hex(entry),
    flags: r.u32(flagsAt),
    headerSize: ehsize,
    programHeaderOffset: phoff,
    programHeaderEntrySize: phentsize,
    programHeaderCount: phnum,
    sectionHeaderOffset: shoff,
    sectionHeaderEntrySize: shentsize,
    sectionHeaderCount: shnum,
    sectionNameIndex: shstrndx,
  };

  // Section headers.
  const sections: Mutable<ElfSection>[] = [];
  if (shoff === 0 || shnum === 0) {
    if (type === 2 || type === 3) anomalies.push('no section header table');
  } else if (shentsize < expectedShentsize) {
    anomalies.push(`e_shentsize is ${shentsize} (expected ${expectedShentsize})`);
  } else {
    let hashBudget = 2 * reader.length + (1 << 20);
    if (shnum > MAX_SECTIONS)
      warnings.push(`only the first ${MAX_SECTIONS} of ${shnum} section headers are read`);
    for (let i = 0; i < Math.min(shnum, MAX_SECTIONS); i++) {
      const at = shoff + i * shentsize;
      if (!reader.has(at, expectedShentsize)) {
        warnings.push(`section header table is truncated after ${i} of ${shnum} entries`);
        break;
      }
      const sectionType = r.u32(at + 4);
      const flags = Number(r.word(at + 8));
      const offset = r.wordNumber(at + 8 + 2 * a);
      const size = r.wordNumber(at + 8 + 3 * a);
      let entropy: number | null = 0;
      if (sectionType !== SHT_NOBITS && size > 0) {
        if (reader.has(offset, size)) {
          // Hostile files can declare thousands of sections covering the whole file: bound the bytes hashed.
          hashBudget -= size;
          if (hashBudget >= 0) entropy = shannonEntropy(reader.slice(offset, size));
          else {
            entropy = null;
            if (hashBudget + size >= 0)
              warnings.push('sections overlap too much: entropy of the remaining sections is skipped');
          }
        } else
          anomalies.push(
            `section ${i} data (offset ${hex(offset)}, size ${size}) extends past the end of the file`,
          );
      }
      sections.push({
        index: i,
        name: '',
        type: sectionType,
        typeName: SECTION_TYPE_NAMES.get(sectionType) ?? hex(sectionType),
        flags,
        flagLetters: SECTION_FLAG_LETTERS.filter(([bit]) => (flags & bit) !== 0)
          .map(([, letter]) => letter)
          .join(''),
        address: hex(r.word(at + 8 + a)),
        offset,
        size,
        link: r.u32(at + 8 + 4 * a),
        info: r.u32(at + 12 + 4 * a),
        addressAlign: r.wordNumber(at + 16 + 4 * a),
        entrySize: r.wordNumber(at + 16 + 5 * a),
        entropy,
      });
    }
    const names = sections[shstrndx];
    if (shstrndx === 0 || names === undefined) {
      if (sections.length > 0) anomalies.push(`section name table index ${shstrndx} is invalid`);
    } else {
      for (const section of sections) {
        const nameOffset = r.u32(shoff + section.index * shentsize);
        if (nameOffset < names.size && reader.has(names.offset + nameOffset, 1)) {
          section.name = reader.cString(
            names.offset + nameOffset,
            Math.min(MAX_STRING, names.size - nameOffset),
          );
        }
      }
    }
  }
  info.sections = sections;

  const symbolCount = (section: ElfSection): number => {
    const size = section.entrySize > 0 ? section.entrySize : is64 ? 24 : 16;
    return Math.floor(section.size / size);
  };
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  info.symbols = {
    static: symtab === undefined ? 0 : symbolCount(symtab),
    dynamic: dynsym === undefined ? 0 : symbolCount(dynsym),
  };
  info.stripped = symtab === undefined;

  const attempt = (what: string, run: () => void): void => {
    try {
      run();
    } catch (error) {
      warnings.push(`${what}: ${errorMessage(error)}`);
    }
  };
  attempt('dynamic section', () => (info.dynamic = parseDynamic(r, sections, programHeaders, warnings)));
  attempt('notes', () => (info.buildId = findBuildId(r, sections, programHeaders)));

  // UPX writes its "UPX!" marker near the start of packed ELF files.
  const head = reader.slice(0, Math.min(reader.length, 0x400));
  if (Buffer.from(head.buffer, head.byteOffset, head.byteLength).includes('UPX!'))
    anomalies.push('UPX marker (packed with UPX)');
}

/** Maps a virtual address to a file offset through the LOAD segments. */
function addressToOffset(address: bigint, programHeaders: readonly ElfProgramHeader[]): number | null {
  for (const segment of programHeaders) {
    if (segment.type !== PT_LOAD) continue;
    const start = BigInt(segment.virtualAddress);
    if (address >= start && address < start + BigInt(segment.fileSize))
      return segment.offset + Number(address - start);
  }
  return null;
}

function parseDynamic(
  r: ElfReader,
  sections: readonly ElfSection[],
  programHeaders: readonly ElfProgramHeader[],
  warnings: string[],
): ElfDynamic | null {
  const section = sections.find((s) => s.type === SHT_DYNAMIC);
  const segment = programHeaders.find((p) => p.type === PT_DYNAMIC);
  const offset = section?.offset ?? segment?.offset;
  const size = section?.size ?? segment?.fileSize;
  if (offset === undefined || size === undefined) return null;
  const entrySize = r.is64 ? 16 : 8;
  const entries: { tag: bigint; value: bigint }[] = [];
  for (let i = 0; i < Math.min(Math.floor(size / entrySize), MAX_DYNAMIC_ENTRIES); i++) {
    const at = offset + i * entrySize;
    if (!r.reader.has(at, entrySize)) {
      warnings.push('dynamic section runs out of the file');
      break;
    }
    const tag = r.word(at);
    if (tag === 0n) break; // DT_NULL
    entries.push({ tag, value: r.word(at + entrySize / 2) });
  }
  // Strings come from the section linked to .dynamic, else from DT_STRTAB mapped through the LOAD segments.
  let strtabOffset: number | null = null;
  let strtabSize = 0;
  const linked = section === undefined ? undefined : sections[section.link];
  if (linked !== undefined && linked.type === SHT_STRTAB) {
    strtabOffset = linked.offset;
    strtabSize = linked.size;
  } else {
    const strtab = entries.find((e) => e.tag === 5n);
    const strsz = entries.find((e) => e.tag === 10n);
    if (strtab !== undefined) {
      strtabOffset = addressToOffset(strtab.value, programHeaders);
      strtabSize = strsz === undefined ? MAX_STRING : Number(strsz.value);
    }
  }
  const stringAt = (value: bigint): string | null => {
    if (strtabOffset === null || value >= BigInt(strtabSize)) return null;
    const at = strtabOffset + Number(value);
    return r.reader.has(at, 1)
      ? r.reader.cString(at, Math.min(MAX_STRING, strtabSize - Number(value)))
      : null;
  };
  if (strtabOffset === null && entries.length > 0) warnings.push('dynamic string table not found');
  const needed: string[] = [];
  let soname: string | null = null;
  let rpath: string | null = null;
  let runpath: string | null = null;
  for (const { tag, value } of entries) {
    if (tag === 1n && needed.length < MAX_NEEDED) {
      const name = stringAt(value);
      if (name !== null) needed.push(name);
    } else if (tag === 14n) soname = stringAt(value);
    else if (tag === 15n) rpath = stringAt(value);
    else if (tag === 29n) runpath = stringAt(value);
  }
  return { needed, soname, rpath, runpath, entryCount: entries.length };
}

/** Walks note entries (namesz, descsz, type, name, desc; 4- or 8-byte aligned) for NT_GNU_BUILD_ID. */
function findBuildIdIn(r: ElfReader, offset: number, size: number, alignment: number): string | null {
  const align = (value: number): number => Math.ceil(value / alignment) * alignment;
  let at = offset;
  const end = Math.min(offset + size, r.reader.length);
  for (let i = 0; i < MAX_NOTES && at + 12 <= end; i++) {
    const nameSize = r.u32(at);
    const descSize = r.u32(at + 4);
    const noteType = r.u32(at + 8);
    const nameAt = at + 12;
    const descAt = nameAt + align(nameSize);
    if (descAt + descSize > end) return null;
    const name = r.reader.cString(nameAt, Math.min(nameSize, 16));
    if (name === 'GNU' && noteType === 3)
      return Buffer.from(r.reader.slice(descAt, Math.min(descSize, 64))).toString('hex');
    at = descAt + align(descSize);
  }
  return null;
}

function findBuildId(
  r: ElfReader,
  sections: readonly ElfSection[],
  programHeaders: readonly ElfProgramHeader[],
): string | null {
  for (const section of sections) {
    if (section.type !== SHT_NOTE) continue;
    const found = findBuildIdIn(r, section.offset, section.size, section.addressAlign === 8 ? 8 : 4);
    if (found !== null) return found;
  }
  for (const segment of programHeaders) {
    if (segment.type !== PT_NOTE) continue;
    const found = findBuildIdIn(r, segment.offset, segment.fileSize, segment.align === 8 ? 8 : 4);
    if (found !== null) return found;
  }
  return null;
}
