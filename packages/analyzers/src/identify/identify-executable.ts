import type { FileType } from '@malpipe/core';
import { ByteReader } from '../bytes/byte-reader.js';

// PE COFF machine values (PE/COFF specification, "Machine Types").
const PE_MACHINES: Readonly<Record<number, string>> = {
  0x014c: 'x86',
  0x8664: 'x64',
  0xaa64: 'arm64',
  0x01c0: 'arm',
  0x01c4: 'arm',
  0x0200: 'ia64',
};

// ELF e_machine values (System V gABI).
const ELF_MACHINES: Readonly<Record<number, string>> = {
  2: 'sparc',
  3: 'x86',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  43: 'sparc64',
  62: 'x64',
  183: 'arm64',
  243: 'riscv',
};
const ELF_TYPES: Readonly<Record<number, string>> = { 1: 'rel', 2: 'exec', 3: 'dyn', 4: 'core' };

// Mach-O cputype values (<mach/machine.h>); 0x01000000 is CPU_ARCH_ABI64.
const MACHO_CPUS: Readonly<Record<number, string>> = {
  7: 'x86',
  0x01000007: 'x64',
  12: 'arm',
  0x0100000c: 'arm64',
  0x0200000c: 'arm64_32',
  18: 'ppc',
  0x01000012: 'ppc64',
};
const MACHO_FILETYPES: Readonly<Record<number, string>> = {
  1: 'object',
  2: 'execute',
  4: 'core',
  6: 'dylib',
  7: 'dylinker',
  8: 'bundle',
  11: 'dsym',
  12: 'kext',
};

const ARCH_LABEL: Readonly<Record<string, string>> = { x86: 'Intel 80386', x64: 'x86-64', arm64: 'ARM64', arm: 'ARM' };

function archLabel(arch: string): string {
  return ARCH_LABEL[arch] ?? arch;
}

/** PE32 / PE32+ / .NET, or a bare MS-DOS executable when the MZ stub has no valid PE header. */
export function identifyPe(bytes: Uint8Array): FileType | null {
  const r = new ByteReader(bytes);
  if (!r.has(0, 0x40) || r.u16le(0) !== 0x5a4d) return null;
  const peOffset = r.u32le(0x3c);
  if (!r.has(peOffset, 24) || r.u32le(peOffset) !== 0x00004550) {
    // "MZ" alone is two bytes; also require a plausible DOS header (last-page bytes < 512, header of 2-64 paragraphs).
    const headerParagraphs = r.u16le(8);
    if (r.u16le(2) >= 512 || headerParagraphs < 2 || headerParagraphs > 64 || r.u16le(4) === 0) return null;
    return { kind: 'executable', format: 'unknown', mime: 'application/x-dosexec', description: 'MS-DOS executable', traits: ['msdos'] };
  }
  const machine = r.u16le(peOffset + 4);
  const optionalSize = r.u16le(peOffset + 20);
  const characteristics = r.u16le(peOffset + 22);
  const optional = peOffset + 24;
  const magic = r.has(optional, 2) ? r.u16le(optional) : 0;
  const is64 = magic === 0x20b;
  const arch = PE_MACHINES[machine] ?? `machine-0x${machine.toString(16)}`;
  const isDll = (characteristics & 0x2000) !== 0;
  const traits = [isDll ? 'dll' : 'exe', arch];

  // CLR runtime header = data directory 14; directories start at 96 (PE32) or 112 (PE32+) in the optional header.
  const countOffset = optional + (is64 ? 108 : 92);
  const clrOffset = optional + (is64 ? 112 : 96) + 14 * 8;
  let dotnet = false;
  if ((magic === 0x10b || magic === 0x20b) && optionalSize >= clrOffset + 8 - optional && r.has(clrOffset, 8) && r.has(countOffset, 4)) {
    dotnet = r.u32le(countOffset) > 14 && r.u32le(clrOffset) !== 0 && r.u32le(clrOffset + 4) !== 0;
  }
  if (dotnet) traits.push('dotnet');
  const bits = is64 ? 'PE32+' : 'PE32';
  return {
    kind: 'executable',
    format: dotnet ? 'dotnet' : is64 ? 'pe32+' : 'pe32',
    mime: 'application/vnd.microsoft.portable-executable',
    description: `${bits} executable${isDll ? ' (DLL)' : ''} ${archLabel(arch)}${dotnet ? ' Mono/.Net assembly' : ''}`,
    traits,
  };
}

export function identifyElf(bytes: Uint8Array): FileType | null {
  const r = new ByteReader(bytes);
  if (!r.has(0, 20) || r.u32be(0) !== 0x7f454c46) return null;
  const elfClass = r.u8(4);
  const data = r.u8(5);
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) return null;
  const little = data === 1;
  const type = little ? r.u16le(16) : r.u16be(16);
  const machine = little ? r.u16le(18) : r.u16be(18);
  const arch = ELF_MACHINES[machine] ?? `machine-${machine}`;
  const typeTrait = ELF_TYPES[type] ?? `type-${type}`;
  const mime =
    typeTrait === 'dyn' ? 'application/x-sharedlib' : typeTrait === 'rel' ? 'application/x-object' : typeTrait === 'core' ? 'application/x-coredump' : 'application/x-executable';
  return {
    kind: 'executable',
    format: elfClass === 1 ? 'elf32' : 'elf64',
    mime,
    description: `ELF ${elfClass === 1 ? '32' : '64'}-bit ${little ? 'LSB' : 'MSB'} ${typeTrait} ${archLabel(arch)}`,
    traits: [typeTrait, arch, little ? 'little-endian' : 'big-endian'],
  };
}

/** Thin Mach-O in either byte order, 32 or 64 bit. */
export function identifyMacho(bytes: Uint8Array): FileType | null {
  const r = new ByteReader(bytes);
  if (!r.has(0, 28)) return null;
  const magic = r.u32be(0);
  if (magic !== 0xfeedface && magic !== 0xfeedfacf && magic !== 0xcefaedfe && magic !== 0xcffaedfe) return null;
  const little = magic === 0xcefaedfe || magic === 0xcffaedfe;
  const is64 = magic === 0xfeedfacf || magic === 0xcffaedfe;
  const cpu = little ? r.u32le(4) : r.u32be(4);
  const fileType = little ? r.u32le(12) : r.u32be(12);
  const arch = MACHO_CPUS[cpu] ?? `cpu-0x${cpu.toString(16)}`;
  const typeTrait = MACHO_FILETYPES[fileType] ?? `filetype-${fileType}`;
  return {
    kind: 'executable',
    format: 'macho',
    mime: 'application/x-mach-binary',
    description: `Mach-O ${is64 ? '64' : '32'}-bit ${typeTrait} ${archLabel(arch)}`,
    traits: [typeTrait, arch, little ? 'little-endian' : 'big-endian'],
  };
}

/**
 * Fat (universal) Mach-O, or a Java class file: both start CAFEBABE. A fat header follows with an
 * architecture count (small), a class file with minor/major versions (major >= 45), so the next u32 is
 * tiny for fat binaries and at least 45 for class files.
 */
export function identifyCafebabe(bytes: Uint8Array): FileType | null {
  const r = new ByteReader(bytes);
  if (!r.has(0, 8)) return null;
  const magic = r.u32be(0);
  if (magic !== 0xcafebabe && magic !== 0xcafebabf) return null;
  const next = r.u32be(4);
  if (magic === 0xcafebabe && next >= 45) {
    const major = r.u16be(6);
    return {
      kind: 'executable',
      format: 'unknown',
      mime: 'application/java-vm',
      description: `Java class file, version ${major}.${r.u16be(4)}`,
      traits: ['java-class'],
    };
  }
  if (next === 0 || next > 30) return null;
  const entrySize = magic === 0xcafebabf ? 32 : 20;
  const archs: string[] = [];
  for (let i = 0; i < next; i++) {
    const at = 8 + i * entrySize;
    if (!r.has(at, entrySize)) break;
    const cpu = r.u32be(at);
    const known = MACHO_CPUS[cpu];
    if (known === undefined) return null;
    if (!archs.includes(known)) archs.push(known);
  }
  return {
    kind: 'executable',
    format: 'macho-fat',
    mime: 'application/x-mach-binary',
    description: `Mach-O universal binary with ${next} architecture${next === 1 ? '' : 's'}: [${archs.join(', ')}]`,
    traits: ['fat', ...archs],
  };
}
