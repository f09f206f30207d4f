/**
 * Builds small, valid, benign PE32 / PE32+ images (EXE or DLL) for tests, so a test shows the structures it is
 * about instead of depending on a binary fixture. Everything the PE parser reads can be requested:
 *
 * ```ts
 * const bytes = buildPe({
 *   format: 'pe32+',                       // default 'pe32'
 *   dll: true,                             // default false (EXE)
 *   timestamp: 0x5f000000,                 // default 0x60000000
 *   sections: [{ name: '.text', data: code, characteristics: SECTION_CODE }],  // default: one 1-byte .text (ret)
 *   imports: [{ dll: 'KERNEL32.dll', functions: ['ExitProcess', 'GetProcAddress'] }, { dll: 'WS2_32.dll', functions: [23] }],
 *   delayImports: [{ dll: 'USER32.dll', functions: ['MessageBoxW'] }],
 *   exports: { dllName: 'demo.dll', functions: [{ name: 'Run' }, { name: 'Fwd', forwarder: 'NTDLL.RtlExitUserThread' }] },
 *   richHeader: { entries: [{ productId: 0x104, build: 30795, count: 12 }] },
 *   versionInfo: { strings: { CompanyName: 'ACME', OriginalFilename: 'demo.dll' }, fileVersion: [1, 2, 3, 4] },
 *   resources: [{ type: 10, name: 101, language: 0x409, data: blob }],   // RCDATA #101
 *   codeView: { pdbPath: 'C:\\build\\demo.pdb', age: 3 },
 *   tlsCallbacks: [0x1000],                // RVAs of callbacks
 *   clr: { runtimeVersion: 'v4.0.30319' }, // makes it a .NET image
 *   overlay: new Uint8Array([1, 2, 3]),    // appended after the last section
 *   certificate: pkcs7Bytes,               // WIN_CERTIFICATE appended last, pointed at by the security directory
 * });
 * ```
 *
 * Layout: headers (FileAlignment 0x200), the given sections from RVA 0x1000 (SectionAlignment 0x1000), then a
 * generated `.rdata` (imports, exports, debug, TLS, CLR; named `.idata` if the caller has a `.rdata`) and `.rsrc`
 * when needed, then overlay and certificate.
 * The header CheckSum is computed (CheckSumMappedFile) unless `checksum` gives a value.
 */

export const SECTION_CODE = 0x60000020; // CNT_CODE | MEM_EXECUTE | MEM_READ
export const SECTION_DATA = 0xc0000040; // CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE
export const SECTION_RDATA = 0x40000040; // CNT_INITIALIZED_DATA | MEM_READ

export interface BuildPeSection {
  readonly name: string;
  readonly data: Uint8Array;
  /** Default SECTION_CODE for the first section, SECTION_DATA for others. */
  readonly characteristics?: number;
  /** Default: the data length (at least 1). */
  readonly virtualSize?: number;
}

export interface BuildPeImport {
  readonly dll: string;
  /** A string imports by name (hint 0), a number by ordinal. */
  readonly functions: readonly (string | number)[];
}

export interface BuildPeExport {
  readonly name?: string;
  /** Default: the RVA of the first section. Ignored for forwarders. */
  readonly rva?: number;
  /** `DLL.Function`: the export forwards there. */
  readonly forwarder?: string;
}

export interface BuildPeResource {
  /** Resource type id (10 = RCDATA, 24 = MANIFEST...) or a custom type name. */
  readonly type: number | string;
  readonly name: number;
  readonly language: number;
  readonly data: Uint8Array;
}

export interface BuildPeOptions {
  readonly format?: 'pe32' | 'pe32+';
  readonly dll?: boolean;
  /** Default 0x14c (I386) for PE32, 0x8664 (AMD64) for PE32+. */
  readonly machine?: number;
  readonly timestamp?: number;
  /** Default 2 (WINDOWS_GUI). */
  readonly subsystem?: number;
  /** Default 0x8140 (DYNAMIC_BASE | NX_COMPAT | TERMINAL_SERVER_AWARE). */
  readonly dllCharacteristics?: number;
  /** Default 0x400000 / 0x10000000 (DLL) for PE32, 0x140000000 / 0x180000000 for PE32+. */
  readonly imageBase?: bigint;
  /** Entry point RVA; default the first section's RVA (0 when there are no sections). */
  readonly entryPoint?: number;
  readonly sections?: readonly BuildPeSection[];
  readonly imports?: readonly BuildPeImport[];
  readonly delayImports?: readonly BuildPeImport[];
  readonly exports?: {
    readonly dllName: string;
    readonly ordinalBase?: number;
    readonly functions: readonly BuildPeExport[];
  };
  readonly richHeader?: {
    readonly entries: readonly {
      readonly productId: number;
      readonly build: number;
      readonly count: number;
    }[];
    /** Store a key that is not the checksum (an edited header). */
    readonly corruptChecksum?: boolean;
  };
  readonly versionInfo?: {
    readonly strings: Readonly<Record<string, string>>;
    readonly fileVersion?: readonly [number, number, number, number];
    readonly productVersion?: readonly [number, number, number, number];
    /** Language (default 0x409) and code page (default 1200), giving the table key `040904B0`. */
    readonly language?: number;
    readonly codePage?: number;
  };
  readonly resources?: readonly BuildPeResource[];
  readonly codeView?: { readonly pdbPath: string; readonly guid?: Uint8Array; readonly age?: number };
  readonly tlsCallbacks?: readonly number[];
  readonly clr?: { readonly runtimeVersion: string; readonly flags?: number };
  readonly overlay?: Uint8Array;
  readonly certificate?: Uint8Array;
  /** 'compute' (default) or a value to store as is. */
  readonly checksum?: 'compute' | number;
}

const FILE_ALIGNMENT = 0x200;
const SECTION_ALIGNMENT = 0x1000;
const alignUp = (value: number, alignment: number): number => Math.ceil(value / alignment) * alignment;

/** A growable little-endian buffer that knows the RVA it will be mapped at. */
class SectionWriter {
  #bytes = new Uint8Array(1024);
  length = 0;
  readonly base: number;

  constructor(base: number) {
    this.base = base;
  }

  #ensure(size: number): void {
    if (size <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(size, this.#bytes.length * 2));
    bigger.set(this.#bytes);
    this.#bytes = bigger;
  }

  get rva(): number {
    return this.base + this.length;
  }

  align(alignment: number): void {
    this.reserve(alignUp(this.length, alignment) - this.length);
  }

  /** Appends zero bytes and returns the RVA of the first. */
  reserve(size: number): number {
    const rva = this.rva;
    this.#ensure(this.length + size);
    this.length += size;
    return rva;
  }

  put(bytes: Uint8Array): number {
    const rva = this.reserve(bytes.length);
    this.#bytes.set(bytes, rva - this.base);
    return rva;
  }

  putAscii(text: string): number {
    return this.put(Buffer.from(`${text}\0`, 'latin1'));
  }

  setU16(rva: number, value: number): void {
    new DataView(this.#bytes.buffer).setUint16(rva - this.base, value, true);
  }

  setU32(rva: number, value: number): void {
    new DataView(this.#bytes.buffer).setUint32(rva - this.base, value >>> 0, true);
  }

  setU64(rva: number, value: bigint): void {
    new DataView(this.#bytes.buffer).setBigUint64(rva - this.base, value, true);
  }

  bytes(): Uint8Array {
    return this.#bytes.slice(0, this.length);
  }
}

function u16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value, true);
  return out;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setUint32(i * 4, value >>> 0, true));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function utf16z(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(`${text}\0`, 'utf16le'));
}

/** One VS_VERSIONINFO-style node: wLength, wValueLength, wType, key, padding, value, padding, children. */
function versionNode(
  key: string,
  value: Uint8Array,
  isText: boolean,
  children: readonly Uint8Array[],
): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array(6), utf16z(key)];
  let length = 6 + parts[1]!.length;
  const pad = (): void => {
    const padding = alignUp(length, 4) - length;
    parts.push(new Uint8Array(padding));
    length += padding;
  };
  pad();
  parts.push(value);
  length += value.length;
  for (const child of children) {
    pad();
    parts.push(child);
    length += child.length;
  }
  const node = concat(parts);
  const view = new DataView(node.buffer);
  view.setUint16(0, node.length, true);
  view.setUint16(2, isText ? value.length / 2 : value.length, true);
  view.setUint16(4, isText ? 1 : 0, true);
  return node;
}

function buildVersionInfo(options: NonNullable<BuildPeOptions['versionInfo']>, dll: boolean): Uint8Array {
  const [f0, f1, f2, f3] = options.fileVersion ?? [1, 0, 0, 0];
  const [p0, p1, p2, p3] = options.productVersion ?? options.fileVersion ?? [1, 0, 0, 0];
  const fixed = u32s(
    0xfeef04bd,
    0x00010000,
    (f0 << 16) | f1,
    (f2 << 16) | f3,
    (p0 << 16) | p1,
    (p2 << 16) | p3,
    0x3f,
    0,
    0x40004,
    dll ? 2 : 1,
    0,
    0,
    0,
  );
  const language = options.language ?? 0x409;
  const codePage = options.codePage ?? 1200;
  const tableKey =
    `${language.toString(16).padStart(4, '0')}${codePage.toString(16).padStart(4, '0')}`.toUpperCase();
  const strings = Object.entries(options.strings).map(([key, value]) =>
    versionNode(key, utf16z(value), true, []),
  );
  const stringFileInfo = versionNode('StringFileInfo', new Uint8Array(0), true, [
    versionNode(tableKey, new Uint8Array(0), true, strings),
  ]);
  const translation = concat([u16(language), u16(codePage)]);
  const varFileInfo = versionNode('VarFileInfo', new Uint8Array(0), true, [
    versionNode('Translation', translation, false, []),
  ]);
  return versionNode('VS_VERSION_INFO', fixed, false, [stringFileInfo, varFileInfo]);
}

/** The .rsrc section: type / name / language directories, then name strings, data entries and data. */
function buildResourceSection(base: number, leaves: readonly BuildPeResource[]): Uint8Array {
  const byType = new Map<number | string, Map<number, BuildPeResource[]>>();
  for (const leaf of leaves) {
    const names = byType.get(leaf.type) ?? new Map<number, BuildPeResource[]>();
    names.set(leaf.name, [...(names.get(leaf.name) ?? []), leaf]);
    byType.set(leaf.type, names);
  }
  // Named entries come first in a directory, then ids in ascending order.
  const typeKeys = [...byType.keys()].sort((a, b) =>
    typeof a === 'string'
      ? typeof b === 'string'
        ? a.localeCompare(b)
        : -1
      : typeof b === 'string'
        ? 1
        : a - b,
  );
  const dirSize = (entries: number): number => 16 + entries * 8;
  let offset = dirSize(typeKeys.length);
  const typeDirOffset = new Map<number | string, number>();
  for (const type of typeKeys) {
    typeDirOffset.set(type, offset);
    offset += dirSize(byType.get(type)!.size);
  }
  const nameDirOffset = new Map<string, number>();
  for (const type of typeKeys) {
    for (const [name, langs] of [...byType.get(type)!].sort((a, b) => a[0] - b[0])) {
      nameDirOffset.set(`${String(type)}/${name}`, offset);
      offset += dirSize(langs.length);
    }
  }
  const stringOffset = new Map<string, number>();
  for (const type of typeKeys) {
    if (typeof type !== 'string') continue;
    stringOffset.set(type, offset);
    offset = alignUp(offset + 2 + type.length * 2, 4);
  }
  const ordered = typeKeys.flatMap((type) =>
    [...byType.get(type)!]
      .sort((a, b) => a[0] - b[0])
      .flatMap(([, langs]) => [...langs].sort((a, b) => a.language - b.language)),
  );
  const dataEntryOffset = new Map<BuildPeResource, number>();
  for (const leaf of ordered) {
    dataEntryOffset.set(leaf, offset);
    offset += 16;
  }
  const dataOffset = new Map<BuildPeResource, number>();
  for (const leaf of ordered) {
    offset = alignUp(offset, 8);
    dataOffset.set(leaf, offset);
    offset += leaf.data.length;
  }

  const out = new Uint8Array(offset);
  const view = new DataView(out.buffer);
  const writeDir = (at: number, named: number, ids: number): void => {
    view.setUint16(at + 12, named, true);
    view.setUint16(at + 14, ids, true);
  };
  const named = typeKeys.filter((t) => typeof t === 'string').length;
  writeDir(0, named, typeKeys.length - named);
  typeKeys.forEach((type, i) => {
    const nameField = typeof type === 'string' ? 0x80000000 | stringOffset.get(type)! : type;
    view.setUint32(16 + i * 8, nameField >>> 0, true);
    view.setUint32(16 + i * 8 + 4, (0x80000000 | typeDirOffset.get(type)!) >>> 0, true);
    const names = [...byType.get(type)!].sort((a, b) => a[0] - b[0]);
    const typeDir = typeDirOffset.get(type)!;
    writeDir(typeDir, 0, names.length);
    names.forEach(([name, langs], j) => {
      const nameDir = nameDirOffset.get(`${String(type)}/${name}`)!;
      view.setUint32(typeDir + 16 + j * 8, name, true);
      view.setUint32(typeDir + 16 + j * 8 + 4, (0x80000000 | nameDir) >>> 0, true);
      const sorted = [...langs].sort((a, b) => a.language - b.language);
      writeDir(nameDir, 0, sorted.length);
      sorted.forEach((leaf, k) => {
        view.setUint32(nameDir + 16 + k * 8, leaf.language, true);
        view.setUint32(nameDir + 16 + k * 8 + 4, dataEntryOffset.get(leaf)!, true);
      });
    });
  });
  for (const [type, at] of stringOffset) {
    view.setUint16(at, type.length, true);
    out.set(Buffer.from(type, 'utf16le'), at + 2);
  }
  for (const leaf of ordered) {
    const entry = dataEntryOffset.get(leaf)!;
    view.setUint32(entry, base + dataOffset.get(leaf)!, true);
    view.setUint32(entry + 4, leaf.data.length, true);
    out.set(leaf.data, dataOffset.get(leaf)!);
  }
  return out;
}

/** Independent of the parser on purpose: sum of 16-bit words with end-around carry, CheckSum field skipped. */
function checksumOf(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    if (i === checksumOffset || i === checksumOffset + 2) continue;
    sum += bytes[i]! | ((bytes[i + 1] ?? 0) << 8);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return (sum + bytes.length) >>> 0;
}

interface Directory {
  rva: number;
  size: number;
}

export function buildPe(options: BuildPeOptions = {}): Uint8Array {
  const is64 = options.format === 'pe32+';
  const dll = options.dll ?? false;
  const timestamp = options.timestamp ?? 0x60000000;
  const imageBase =
    options.imageBase ?? (is64 ? (dll ? 0x180000000n : 0x140000000n) : dll ? 0x10000000n : 0x400000n);
  const pointerSize = is64 ? 8 : 4;
  const userSections = options.sections ?? [{ name: '.text', data: new Uint8Array([0xc3]) }];

  const needRdata =
    (options.imports?.length ?? 0) > 0 ||
    (options.delayImports?.length ?? 0) > 0 ||
    options.exports !== undefined ||
    options.codeView !== undefined ||
    options.tlsCallbacks !== undefined ||
    options.clr !== undefined;
  const resourceLeaves: BuildPeResource[] = [...(options.resources ?? [])];
  if (options.versionInfo !== undefined) {
    resourceLeaves.push({
      type: 16,
      name: 1,
      language: options.versionInfo.language ?? 0x409,
      data: buildVersionInfo(options.versionInfo, dll),
    });
  }
  const needRsrc = resourceLeaves.length > 0;
  const sectionCount = userSections.length + (needRdata ? 1 : 0) + (needRsrc ? 1 : 0);

  // DOS header, stub and Rich header.
  const richLength = options.richHeader === undefined ? 0 : 16 + options.richHeader.entries.length * 8 + 8;
  const peOffset = alignUp(0x80 + richLength, 8);
  const optionalHeaderSize = is64 ? 240 : 224;
  const sectionTable = peOffset + 24 + optionalHeaderSize;
  const headersSize = alignUp(sectionTable + sectionCount * 40, FILE_ALIGNMENT);

  // Section placement: RVAs and raw offsets of the user sections, then the generated ones.
  interface Placed {
    name: string;
    data: Uint8Array;
    characteristics: number;
    virtualSize: number;
    rva: number;
    rawOffset: number;
  }
  const placed: Placed[] = [];
  let nextRva = SECTION_ALIGNMENT;
  let nextRaw = headersSize;
  const place = (name: string, data: Uint8Array, characteristics: number, virtualSize?: number): Placed => {
    const section = {
      name,
      data,
      characteristics,
      virtualSize: virtualSize ?? Math.max(data.length, 1),
      rva: nextRva,
      rawOffset: nextRaw,
    };
    placed.push(section);
    nextRva = alignUp(section.rva + Math.max(section.virtualSize, data.length, 1), SECTION_ALIGNMENT);
    nextRaw += alignUp(data.length, FILE_ALIGNMENT);
    return section;
  };
  userSections.forEach((s, i) =>
    place(s.name, s.data, s.characteristics ?? (i === 0 ? SECTION_CODE : SECTION_DATA), s.virtualSize),
  );
  const firstRva = placed[0]?.rva ?? 0;

  const directories = new Map<number, Directory>();
  if (needRdata) {
    const rdataRawOffset = nextRaw;
    const w = new SectionWriter(nextRva);
    const writePointer = (rva: number, value: bigint): void =>
      is64 ? w.setU64(rva, value) : w.setU32(rva, Number(value));
    const ordinalFlag = is64 ? 1n << 63n : 1n << 31n;

    const writeThunks = (functions: readonly (string | number)[], nameRvas: readonly number[]): number => {
      w.align(pointerSize);
      const table = w.reserve((functions.length + 1) * pointerSize);
      functions.forEach((fn, i) => {
        writePointer(
          table + i * pointerSize,
          typeof fn === 'number' ? ordinalFlag | BigInt(fn) : BigInt(nameRvas[i]!),
        );
      });
      return table;
    };
    const writeHintNames = (functions: readonly (string | number)[]): number[] =>
      functions.map((fn) => {
        if (typeof fn === 'number') return 0;
        w.align(2);
        const rva = w.put(u16(0));
        w.putAscii(fn);
        return rva;
      });

    if ((options.imports?.length ?? 0) > 0) {
      const imports = options.imports!;
      const tables = imports.map((entry) => {
        const nameRvas = writeHintNames(entry.functions);
        const dllName = w.putAscii(entry.dll);
        const ilt = writeThunks(entry.functions, nameRvas);
        const iat = writeThunks(entry.functions, nameRvas);
        return { dllName, ilt, iat, count: entry.functions.length };
      });
      w.align(4);
      const descriptors = w.reserve((imports.length + 1) * 20);
      tables.forEach((t, i) => {
        w.setU32(descriptors + i * 20, t.ilt);
        w.setU32(descriptors + i * 20 + 12, t.dllName);
        w.setU32(descriptors + i * 20 + 16, t.iat);
      });
      directories.set(1, { rva: descriptors, size: (imports.length + 1) * 20 });
      const firstIat = tables[0]!.iat;
      const last = tables[tables.length - 1]!;
      directories.set(12, { rva: firstIat, size: last.iat + (last.count + 1) * pointerSize - firstIat });
    }

    if ((options.delayImports?.length ?? 0) > 0) {
      const delay = options.delayImports!;
      const tables = delay.map((entry) => {
        const nameRvas = writeHintNames(entry.functions);
        const dllName = w.putAscii(entry.dll);
        const names = writeThunks(entry.functions, nameRvas);
        const iat = w.reserve((entry.functions.length + 1) * pointerSize);
        const handle = w.reserve(pointerSize);
        return { dllName, names, iat, handle };
      });
      w.align(4);
      const descriptors = w.reserve((delay.length + 1) * 32);
      tables.forEach((t, i) => {
        const at = descriptors + i * 32;
        w.setU32(at, 1); // RVA-based descriptor
        w.setU32(at + 4, t.dllName);
        w.setU32(at + 8, t.handle);
        w.setU32(at + 12, t.iat);
        w.setU32(at + 16, t.names);
      });
      directories.set(13, { rva: descriptors, size: (delay.length + 1) * 32 });
    }

    if (options.exports !== undefined) {
      const { dllName, functions } = options.exports;
      const base = options.exports.ordinalBase ?? 1;
      w.align(4);
      const start = w.reserve(40);
      const eat = w.reserve(functions.length * 4);
      const named = functions.map((fn, index) => ({ fn, index })).filter((e) => e.fn.name !== undefined);
      // The loader binary-searches names, so the name table is sorted (byte order).
      named.sort((a, b) => (a.fn.name! < b.fn.name! ? -1 : a.fn.name! > b.fn.name! ? 1 : 0));
      const namePointers = w.reserve(named.length * 4);
      const ordinals = w.reserve(named.length * 2);
      const dllNameRva = w.putAscii(dllName);
      named.forEach((e, i) => {
        w.setU32(namePointers + i * 4, w.putAscii(e.fn.name!));
        w.setU16(ordinals + i * 2, e.index);
      });
      functions.forEach((fn, i) => {
        w.setU32(eat + i * 4, fn.forwarder !== undefined ? w.putAscii(fn.forwarder) : (fn.rva ?? firstRva));
      });
      w.setU32(start + 4, timestamp);
      w.setU32(start + 12, dllNameRva);
      w.setU32(start + 16, base);
      w.setU32(start + 20, functions.length);
      w.setU32(start + 24, named.length);
      w.setU32(start + 28, eat);
      w.setU32(start + 32, namePointers);
      w.setU32(start + 36, ordinals);
      directories.set(0, { rva: start, size: w.rva - start });
    }

    if (options.codeView !== undefined) {
      const guid = options.codeView.guid ?? new Uint8Array(16).map((_, i) => i + 1);
      w.align(4);
      const data = w.put(
        concat([
          Buffer.from('RSDS', 'latin1'),
          guid,
          u32s(options.codeView.age ?? 1),
          Buffer.from(`${options.codeView.pdbPath}\0`, 'utf8'),
        ]),
      );
      const size = w.rva - data;
      w.align(4);
      const entry = w.reserve(28);
      w.setU32(entry + 4, timestamp);
      w.setU32(entry + 12, 2); // IMAGE_DEBUG_TYPE_CODEVIEW
      w.setU32(entry + 16, size);
      w.setU32(entry + 20, data);
      w.setU32(entry + 24, rdataRawOffset + (data - w.base));
      directories.set(6, { rva: entry, size: 28 });
    }

    if (options.tlsCallbacks !== undefined) {
      w.align(8);
      const rawData = w.reserve(8);
      const index = w.reserve(4);
      w.align(pointerSize);
      const callbacks = w.reserve((options.tlsCallbacks.length + 1) * pointerSize);
      options.tlsCallbacks.forEach((rva, i) =>
        writePointer(callbacks + i * pointerSize, imageBase + BigInt(rva)),
      );
      const directory = w.reserve(is64 ? 40 : 24);
      const va = (rva: number): bigint => imageBase + BigInt(rva);
      writePointer(directory, va(rawData));
      writePointer(directory + pointerSize, va(rawData + 8));
      writePointer(directory + 2 * pointerSize, va(index));
      writePointer(directory + 3 * pointerSize, va(callbacks));
      directories.set(9, { rva: directory, size: is64 ? 40 : 24 });
    }

    if (options.clr !== undefined) {
      w.align(4);
      const version = Buffer.from(options.clr.runtimeVersion, 'latin1');
      const versionLength = alignUp(version.length + 1, 4);
      const metadata = w.put(concat([u32s(0x424a5342), u16(1), u16(1), u32s(0, versionLength)]));
      w.put(version);
      w.reserve(versionLength - version.length + 4); // padding, then Flags and Streams (no streams)
      const metadataSize = w.rva - metadata;
      w.align(4);
      const header = w.reserve(72);
      w.setU32(header, 72);
      w.setU16(header + 4, 2);
      w.setU16(header + 6, 5);
      w.setU32(header + 8, metadata);
      w.setU32(header + 12, metadataSize);
      w.setU32(header + 16, options.clr.flags ?? 1);
      w.setU32(header + 20, 0x06000001);
      directories.set(14, { rva: header, size: 72 });
    }
    // Keep section names unique when the caller already has a .rdata (names need not be unique, but it confuses).
    place(userSections.some((s) => s.name === '.rdata') ? '.idata' : '.rdata', w.bytes(), SECTION_RDATA);
  }
  if (needRsrc) {
    const rsrcName = userSections.some((s) => s.name === '.rsrc') ? '.rsrc2' : '.rsrc';
    const rsrc = place(rsrcName, buildResourceSection(nextRva, resourceLeaves), SECTION_RDATA);
    directories.set(2, { rva: rsrc.rva, size: rsrc.data.length });
  }

  // Assemble the file.
  const overlay = options.overlay ?? new Uint8Array(0);
  const imageEnd = nextRaw + overlay.length;
  const certificateOffset = alignUp(imageEnd, 8);
  const certificateSize = options.certificate === undefined ? 0 : alignUp(8 + options.certificate.length, 8);
  const total = options.certificate === undefined ? imageEnd : certificateOffset + certificateSize;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);

  out.set([0x4d, 0x5a]); // MZ
  view.setUint16(0x02, 0x90, true);
  view.setUint16(0x04, 3, true);
  view.setUint16(0x08, 4, true);
  view.setUint16(0x0c, 0xffff, true);
  view.setUint16(0x10, 0xb8, true);
  view.setUint16(0x18, 0x40, true);
  view.setUint32(0x3c, peOffset, true);
  // Real-mode stub: print the message with int 21h/9, exit with int 21h/4C01.
  out.set([0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21], 0x40);
  out.set(Buffer.from('This program cannot be run in DOS mode.\r\r\n$', 'latin1'), 0x4e);

  if (options.richHeader !== undefined) {
    const rol = (value: number, shift: number): number =>
      ((value << (shift & 31)) | (value >>> (32 - (shift & 31)))) >>> 0;
    let key = 0x80;
    for (let i = 0; i < 0x80; i++) if (i < 0x3c || i >= 0x40) key = (key + rol(out[i]!, i)) >>> 0;
    const entries = options.richHeader.entries.map((e) => ({
      compId: ((e.productId << 16) | e.build) >>> 0,
      count: e.count,
    }));
    for (const e of entries) key = (key + rol(e.compId, e.count)) >>> 0;
    if (options.richHeader.corruptChecksum === true) key = (key ^ 0x10101) >>> 0;
    const words = [0x536e6144, 0, 0, 0, ...entries.flatMap((e) => [e.compId, e.count])].map(
      (v) => (v ^ key) >>> 0,
    );
    out.set(u32s(...words, 0x68636952, key), 0x80);
  }

  view.setUint32(peOffset, 0x00004550, true); // PE\0\0
  const fh = peOffset + 4;
  view.setUint16(fh, options.machine ?? (is64 ? 0x8664 : 0x14c), true);
  view.setUint16(fh + 2, placed.length, true);
  view.setUint32(fh + 4, timestamp, true);
  view.setUint16(fh + 16, optionalHeaderSize, true);
  view.setUint16(fh + 18, 0x0002 | (is64 ? 0x0020 : 0x0100) | (dll ? 0x2000 : 0), true);

  const oh = fh + 20;
  const code = placed.filter((s) => (s.characteristics & 0x20) !== 0);
  const sizeOfImage = alignUp(
    Math.max(...placed.map((s) => s.rva + s.virtualSize), headersSize),
    SECTION_ALIGNMENT,
  );
  view.setUint16(oh, is64 ? 0x20b : 0x10b, true);
  out[oh + 2] = 14;
  out[oh + 3] = 36;
  view.setUint32(
    oh + 4,
    code.reduce((sum, s) => sum + alignUp(s.data.length, FILE_ALIGNMENT), 0),
    true,
  );
  view.setUint32(
    oh + 8,
    placed
      .filter((s) => (s.characteristics & 0x20) === 0)
      .reduce((sum, s) => sum + alignUp(s.data.length, FILE_ALIGNMENT), 0),
    true,
  );
  view.setUint32(oh + 16, options.entryPoint ?? firstRva, true);
  view.setUint32(oh + 20, code[0]?.rva ?? 0, true);
  if (is64) view.setBigUint64(oh + 24, imageBase, true);
  else {
    view.setUint32(oh + 24, placed.find((s) => (s.characteristics & 0x20) === 0)?.rva ?? 0, true);
    view.setUint32(oh + 28, Number(imageBase), true);
  }
  view.setUint32(oh + 32, SECTION_ALIGNMENT, true);
  view.setUint32(oh + 36, FILE_ALIGNMENT, true);
  view.setUint16(oh + 40, 6, true);
  view.setUint16(oh + 48, 6, true);
  view.setUint32(oh + 56, sizeOfImage, true);
  view.setUint32(oh + 60, headersSize, true);
  view.setUint16(oh + 68, options.subsystem ?? 2, true);
  view.setUint16(oh + 70, options.dllCharacteristics ?? 0x8140, true);
  if (is64) {
    view.setBigUint64(oh + 72, 0x100000n, true);
    view.setBigUint64(oh + 80, 0x1000n, true);
    view.setBigUint64(oh + 88, 0x100000n, true);
    view.setBigUint64(oh + 96, 0x1000n, true);
    view.setUint32(oh + 108, 16, true);
  } else {
    view.setUint32(oh + 72, 0x100000, true);
    view.setUint32(oh + 76, 0x1000, true);
    view.setUint32(oh + 80, 0x100000, true);
    view.setUint32(oh + 84, 0x1000, true);
    view.setUint32(oh + 92, 16, true);
  }
  const directoryTable = oh + (is64 ? 112 : 96);
  for (const [index, d] of directories) {
    view.setUint32(directoryTable + index * 8, d.rva, true);
    view.setUint32(directoryTable + index * 8 + 4, d.size, true);
  }
  if (options.certificate !== undefined) {
    view.setUint32(directoryTable + 4 * 8, certificateOffset, true);
    view.setUint32(directoryTable + 4 * 8 + 4, certificateSize, true);
    view.setUint32(certificateOffset, 8 + options.certificate.length, true);
    view.setUint16(certificateOffset + 4, 0x0200, true); // WIN_CERT_REVISION_2_0
    view.setUint16(certificateOffset + 6, 0x0002, true); // WIN_CERT_TYPE_PKCS_SIGNED_DATA
    out.set(options.certificate, certificateOffset + 8);
  }

  placed.forEach((s, i) => {
    const at = sectionTable + i * 40;
    out.set(Buffer.from(s.name, 'latin1').subarray(0, 8), at);
    view.setUint32(at + 8, s.virtualSize, true);
    view.setUint32(at + 12, s.rva, true);
    view.setUint32(at + 16, alignUp(s.data.length, FILE_ALIGNMENT), true);
    view.setUint32(at + 20, s.data.length === 0 ? 0 : s.rawOffset, true);
    view.setUint32(at + 36, s.characteristics, true);
    out.set(s.data, s.rawOffset);
  });
  out.set(overlay, nextRaw);

  const checksumOffset = oh + 64;
  view.setUint32(
    checksumOffset,
    options.checksum === undefined || options.checksum === 'compute'
      ? checksumOf(out, checksumOffset)
      : options.checksum,
    true,
  );
  return out;
}
