/**
 * The result of `parseElf`: plain JSON. Virtual addresses are hex strings (`0x401000`, 64-bit safe); offsets,
 * sizes and counts are numbers. Parse failures leave fields empty with the reason in `warnings`; `anomalies`
 * lists what parsed but looks wrong or suspicious (W+X segments, entry outside code, UPX marker...).
 */
export interface ElfInfo {
  readonly class: 'elf32' | 'elf64' | null;
  readonly endianness: 'little' | 'big' | null;
  readonly size: number;
  /** Shannon entropy of the whole file, bits per byte. */
  readonly entropy: number;
  readonly header: ElfHeader | null;
  readonly programHeaders: readonly ElfProgramHeader[];
  /** PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`. */
  readonly interpreter: string | null;
  readonly sections: readonly ElfSection[];
  readonly dynamic: ElfDynamic | null;
  /** Entries in .symtab / .dynsym, counted as readelf does (including the null symbol). */
  readonly symbols: { readonly static: number; readonly dynamic: number };
  /** NT_GNU_BUILD_ID as lower-case hex. */
  readonly buildId: string | null;
  /** No .symtab section. */
  readonly stripped: boolean;
  readonly anomalies: readonly string[];
  readonly warnings: readonly string[];
}

export interface ElfHeader {
  readonly osAbi: number;
  readonly osAbiName: string;
  readonly abiVersion: number;
  readonly type: number;
  /** `REL`, `EXEC`, `DYN`, `CORE`... */
  readonly typeName: string;
  /** DYN with an interpreter: a position-independent executable rather than a library. */
  readonly isPie: boolean;
  readonly machine: number;
  /** `x86-64`, `i386`, `aarch64`, `arm`, `mips`... */
  readonly machineName: string;
  readonly version: number;
  readonly entry: string;
  readonly flags: number;
  readonly headerSize: number;
  readonly programHeaderOffset: number;
  readonly programHeaderEntrySize: number;
  readonly programHeaderCount: number;
  readonly sectionHeaderOffset: number;
  readonly sectionHeaderEntrySize: number;
  readonly sectionHeaderCount: number;
  readonly sectionNameIndex: number;
}

export interface ElfProgramHeader {
  readonly type: number;
  /** `LOAD`, `DYNAMIC`, `INTERP`, `NOTE`, `GNU_STACK`...; `0x...` for unknown types. */
  readonly typeName: string;
  readonly offset: number;
  readonly virtualAddress: string;
  readonly fileSize: number;
  readonly memorySize: number;
  readonly flags: number;
  /** `r`, `w`, `x` or `-` each, e.g. `r-x`. */
  readonly permissions: string;
  readonly align: number;
}

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  /** `PROGBITS`, `SYMTAB`, `NOBITS`, `DYNAMIC`...; `0x...` for unknown types. */
  readonly typeName: string;
  readonly flags: number;
  /** readelf's letters: W (write), A (alloc), X (execute), M, S, I, L, O, G, T... */
  readonly flagLetters: string;
  readonly address: string;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addressAlign: number;
  readonly entrySize: number;
  /** Entropy of the section's bytes in the file (0 for NOBITS); `null` once the hashing budget is spent. */
  readonly entropy: number | null;
}

export interface ElfDynamic {
  readonly needed: readonly string[];
  readonly soname: string | null;
  readonly rpath: string | null;
  readonly runpath: string | null;
  readonly entryCount: number;
}
