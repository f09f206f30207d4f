/**
 * Builds small, valid ELF files of either class and byte order for tests (the machine only has little-endian
 * x86-64 binaries to compare against). One LOAD segment maps the whole file at `0x400000` (ELF64) or `0x8048000`
 * (ELF32), read + execute.
 *
 * ```ts
 * const bytes = buildElf({
 *   class: 'elf32', endianness: 'big', type: 'exec', machine: 8,  // MIPS
 *   interpreter: '/lib/ld.so.1', needed: ['libc.so.6'], soname: 'libdemo.so', runpath: '$ORIGIN',
 *   buildId: new Uint8Array(20).fill(0xab), symbols: 5,           // .symtab with 5 entries (not stripped)
 *   text: new Uint8Array([0x90, 0xc3]),
 * });
 * ```
 * Sections: null, .interp, .note.gnu.build-id, .text, .dynstr, .dynamic, .symtab, .strtab, .shstrtab (each only
 * when requested; .text and .shstrtab always). The entry point is the start of .text.
 */
export interface BuildElfOptions {
  readonly class?: 'elf32' | 'elf64';
  readonly endianness?: 'little' | 'big';
  /** Default 'dyn' (a PIE when an interpreter is given). */
  readonly type?: 'exec' | 'dyn' | 'rel';
  /** e_machine; default 62 (x86-64) for ELF64, 3 (i386) for ELF32. */
  readonly machine?: number;
  readonly interpreter?: string;
  readonly needed?: readonly string[];
  readonly soname?: string;
  readonly rpath?: string;
  readonly runpath?: string;
  readonly buildId?: Uint8Array;
  /** Number of .symtab entries (including the null symbol); omitted = stripped. */
  readonly symbols?: number;
  readonly text?: Uint8Array;
  /** Extra PT_LOAD flags for the single segment (e.g. 2 to make it W+X). Default 5 (R+X). */
  readonly segmentFlags?: number;
}

const align = (value: number, alignment: number): number => Math.ceil(value / alignment) * alignment;

export function buildElf(options: BuildElfOptions = {}): Uint8Array {
  const is64 = options.class !== 'elf32';
  const little = options.endianness !== 'big';
  const base = is64 ? 0x400000 : 0x8048000;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const dynamic =
    options.needed !== undefined ||
    options.soname !== undefined ||
    options.rpath !== undefined ||
    options.runpath !== undefined;

  // Content blobs, in file order, with their section descriptions.
  interface Blob {
    name: string;
    type: number;
    flags: number;
    data: Uint8Array;
    link?: string;
    entsize?: number;
    align: number;
    offset?: number;
  }
  const blobs: Blob[] = [];
  const enc = (text: string): Uint8Array => new Uint8Array(Buffer.from(`${text}\0`, 'latin1'));
  if (options.interpreter !== undefined)
    blobs.push({ name: '.interp', type: 1, flags: 2, data: enc(options.interpreter), align: 1 });
  if (options.buildId !== undefined) {
    const note = new Uint8Array(16 + align(options.buildId.length, 4));
    const view = new DataView(note.buffer);
    view.setUint32(0, 4, little);
    view.setUint32(4, options.buildId.length, little);
    view.setUint32(8, 3, little); // NT_GNU_BUILD_ID
    note.set(enc('GNU'), 12);
    note.set(options.buildId, 16);
    blobs.push({ name: '.note.gnu.build-id', type: 7, flags: 2, data: note, align: 4 });
  }
  blobs.push({ name: '.text', type: 1, flags: 6, data: options.text ?? new Uint8Array([0xc3]), align: 16 });

  let dynstrData = new Uint8Array(0);
  const dynEntries: [number, number][] = [];
  if (dynamic) {
    let strings = '\0';
    const add = (text: string): number => {
      const at = strings.length;
      strings += `${text}\0`;
      return at;
    };
    for (const lib of options.needed ?? []) dynEntries.push([1, add(lib)]);
    if (options.soname !== undefined) dynEntries.push([14, add(options.soname)]);
    if (options.rpath !== undefined) dynEntries.push([15, add(options.rpath)]);
    if (options.runpath !== undefined) dynEntries.push([29, add(options.runpath)]);
    dynstrData = new Uint8Array(Buffer.from(strings, 'latin1'));
    blobs.push({ name: '.dynstr', type: 3, flags: 2, data: dynstrData, align: 1 });
    const entrySize = is64 ? 16 : 8;
    blobs.push({
      name: '.dynamic',
      type: 6,
      flags: 3,
      data: new Uint8Array((dynEntries.length + 3) * entrySize),
      link: '.dynstr',
      entsize: entrySize,
      align: 8,
    });
  }
  if (options.symbols !== undefined) {
    const entrySize = is64 ? 24 : 16;
    blobs.push({
      name: '.symtab',
      type: 2,
      flags: 0,
      data: new Uint8Array(options.symbols * entrySize),
      link: '.strtab',
      entsize: entrySize,
      align: 8,
    });
    blobs.push({ name: '.strtab', type: 3, flags: 0, data: new Uint8Array(1), align: 1 });
  }
  let shstr = '\0';
  const nameOffsets = new Map<string, number>();
  for (const name of [...blobs.map((b) => b.name), '.shstrtab']) {
    nameOffsets.set(name, shstr.length);
    shstr += `${name}\0`;
  }
  blobs.push({
    name: '.shstrtab',
    type: 3,
    flags: 0,
    data: new Uint8Array(Buffer.from(shstr, 'latin1')),
    align: 1,
  });

  const segments: [number, number, number, number][] = []; // type, flags, blob index or -1 (whole file), align
  const interpIndex = blobs.findIndex((b) => b.name === '.interp');
  const noteIndex = blobs.findIndex((b) => b.name === '.note.gnu.build-id');
  const dynamicIndex = blobs.findIndex((b) => b.name === '.dynamic');
  if (interpIndex >= 0) segments.push([3, 4, interpIndex, 1]);
  segments.push([1, options.segmentFlags ?? 5, -1, 0x1000]);
  if (dynamicIndex >= 0) segments.push([2, 6, dynamicIndex, 8]);
  if (noteIndex >= 0) segments.push([4, 4, noteIndex, 4]);
  segments.push([0x6474e551, 6, -2, 16]); // GNU_STACK, no X

  let offset = ehsize + segments.length * phentsize;
  for (const blob of blobs) {
    offset = align(offset, blob.align);
    blob.offset = offset;
    offset += blob.data.length;
  }
  const shoff = align(offset, 8);
  const total = shoff + (blobs.length + 1) * shentsize;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const u16 = (at: number, v: number): void => view.setUint16(at, v, little);
  const u32 = (at: number, v: number): void => view.setUint32(at, v >>> 0, little);
  const word = (at: number, v: number): void =>
    is64 ? view.setBigUint64(at, BigInt(v), little) : view.setUint32(at, v >>> 0, little);
  const a = is64 ? 8 : 4;

  for (const blob of blobs) out.set(blob.data, blob.offset!);
  const dynamicBlob = blobs[dynamicIndex];
  if (dynamicBlob !== undefined) {
    const dynstr = blobs.find((b) => b.name === '.dynstr')!;
    const entries: [number, number][] = [
      ...dynEntries,
      [5, base + dynstr.offset!],
      [10, dynstr.data.length],
      [0, 0],
    ];
    entries.forEach(([tag, value], i) => {
      word(dynamicBlob.offset! + i * 2 * a, tag);
      word(dynamicBlob.offset! + i * 2 * a + a, value);
    });
  }

  const text = blobs.find((b) => b.name === '.text')!;
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1, 0]);
  u16(16, options.type === 'exec' ? 2 : options.type === 'rel' ? 1 : 3);
  u16(18, options.machine ?? (is64 ? 62 : 3));
  u32(20, 1);
  word(24, base + text.offset!);
  word(24 + a, ehsize);
  word(24 + 2 * a, shoff);
  const flagsAt = 24 + 3 * a;
  u16(flagsAt + 4, ehsize);
  u16(flagsAt + 6, phentsize);
  u16(flagsAt + 8, segments.length);
  u16(flagsAt + 10, shentsize);
  u16(flagsAt + 12, blobs.length + 1);
  u16(flagsAt + 14, blobs.length); // .shstrtab is last

  segments.forEach(([type, flags, index, alignment], i) => {
    const at = ehsize + i * phentsize;
    const blob = index >= 0 ? blobs[index]! : null;
    const fileOffset = blob?.offset ?? 0;
    const size = index === -1 ? total : index === -2 ? 0 : blob!.data.length;
    const address = index === -2 ? 0 : base + fileOffset;
    u32(at, type);
    if (is64) {
      u32(at + 4, flags);
      word(at + 8, fileOffset);
      word(at + 16, address);
      word(at + 24, address);
      word(at + 32, size);
      word(at + 40, size);
      word(at + 48, alignment);
    } else {
      u32(at + 4, fileOffset);
      u32(at + 8, address);
      u32(at + 12, address);
      u32(at + 16, size);
      u32(at + 20, size);
      u32(at + 24, flags);
      u32(at + 28, alignment);
    }
  });

  blobs.forEach((blob, i) => {
    const at = shoff + (i + 1) * shentsize;
    u32(at, nameOffsets.get(blob.name)!);
    u32(at + 4, blob.type);
    word(at + 8, blob.flags);
    word(at + 8 + a, (blob.flags & 2) !== 0 ? base + blob.offset! : 0);
    word(at + 8 + 2 * a, blob.offset!);
    word(at + 8 + 3 * a, blob.data.length);
    u32(at + 8 + 4 * a, blob.link === undefined ? 0 : blobs.findIndex((b) => b.name === blob.link) + 1);
    word(at + 16 + 4 * a, blob.align);
    word(at + 16 + 5 * a, blob.entsize ?? 0);
  });
  return out;
}
