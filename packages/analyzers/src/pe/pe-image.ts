import { ByteReader } from '../bytes/byte-reader.js';

/** A section header as the loader (and pefile) maps it: addresses already adjusted to the alignments. */
export interface MappedSection {
  readonly name: string;
  readonly virtualAddress: number;
  readonly virtualSize: number;
  readonly rawOffset: number;
  readonly rawSize: number;
  readonly characteristics: number;
}

/** Windows rounds PointerToRawData down to 512 when FileAlignment is at least 512 (pefile does the same). */
export function adjustFileOffset(value: number, fileAlignment: number): number {
  if (fileAlignment < 0x200) return value;
  return Math.floor(value / 0x200) * 0x200;
}

/** VirtualAddress is rounded down to SectionAlignment (or FileAlignment when SectionAlignment is below a page). */
export function adjustVirtualAddress(value: number, sectionAlignment: number, fileAlignment: number): number {
  const alignment = sectionAlignment < 0x1000 ? fileAlignment : sectionAlignment;
  if (alignment > 0 && value % alignment !== 0) return alignment * Math.floor(value / alignment);
  return value;
}

/**
 * The parsed headers every directory parser needs: RVA to file offset mapping and bounded reads at RVAs. Reads
 * outside the file return `null` (or throw MALFORMED_INPUT from ByteReader), never garbage.
 */
export class PeImage {
  readonly reader: ByteReader;
  readonly is64: boolean;
  readonly imageBase: bigint;
  readonly sections: readonly MappedSection[];
  readonly warnings: string[];
  readonly anomalies: string[];

  constructor(
    reader: ByteReader,
    is64: boolean,
    imageBase: bigint,
    sections: readonly MappedSection[],
    warnings: string[],
    anomalies: string[],
  ) {
    this.reader = reader;
    this.is64 = is64;
    this.imageBase = imageBase;
    this.sections = sections;
    this.warnings = warnings;
    this.anomalies = anomalies;
  }

  /** The section an RVA falls in, sizes trimmed as pefile's contains_rva does (raw size past EOF, next section). */
  sectionOf(rva: number): MappedSection | null {
    const ranges = this.#ranges();
    if (ranges.disjoint) {
      // Sorted, non-overlapping ranges (every sane file): binary search.
      let low = 0;
      let high = ranges.starts.length - 1;
      while (low <= high) {
        const mid = (low + high) >> 1;
        if (rva < ranges.starts[mid]!) high = mid - 1;
        else if (rva >= ranges.ends[mid]!) low = mid + 1;
        else return this.sections[mid]!;
      }
      return null;
    }
    for (let i = 0; i < ranges.starts.length; i++) {
      if (rva >= ranges.starts[i]! && rva < ranges.ends[i]!) return this.sections[i]!;
    }
    return null;
  }

  #cachedRanges: { starts: number[]; ends: number[]; disjoint: boolean } | undefined;

  #ranges(): { starts: number[]; ends: number[]; disjoint: boolean } {
    if (this.#cachedRanges !== undefined) return this.#cachedRanges;
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < this.sections.length; i++) {
      const section = this.sections[i]!;
      let size =
        this.reader.length - section.rawOffset < section.rawSize
          ? section.virtualSize
          : Math.max(section.rawSize, section.virtualSize);
      const next = this.sections[i + 1];
      if (
        next !== undefined &&
        next.virtualAddress > section.virtualAddress &&
        next.virtualAddress < section.virtualAddress + size
      ) {
        size = next.virtualAddress - section.virtualAddress;
      }
      starts.push(section.virtualAddress);
      ends.push(section.virtualAddress + size);
    }
    let disjoint = true;
    for (let i = 1; i < starts.length; i++) if (starts[i]! < ends[i - 1]!) disjoint = false;
    this.#cachedRanges = { starts, ends, disjoint };
    return this.#cachedRanges;
  }

  /** File offset of an RVA, or `null` when it maps outside the file. */
  rvaToOffset(rva: number): number | null {
    if (!Number.isInteger(rva) || rva < 0) return null;
    const section = this.sectionOf(rva);
    const offset = section === null ? rva : rva - section.virtualAddress + section.rawOffset;
    return offset >= 0 && offset < this.reader.length ? offset : null;
  }

  /** Up to `size` bytes at an RVA, truncated at the end of the file; `null` when the RVA maps nowhere. */
  bytesAt(rva: number, size: number): Uint8Array | null {
    const offset = this.rvaToOffset(rva);
    if (offset === null) return null;
    const available = Math.min(size, this.reader.length - offset);
    return this.reader.slice(offset, available);
  }

  u16At(rva: number): number | null {
    const offset = this.rvaToOffset(rva);
    return offset !== null && this.reader.has(offset, 2) ? this.reader.u16le(offset) : null;
  }

  u32At(rva: number): number | null {
    const offset = this.rvaToOffset(rva);
    return offset !== null && this.reader.has(offset, 4) ? this.reader.u32le(offset) : null;
  }

  /** A pointer-sized value (u32 or u64) at an RVA. */
  pointerAt(rva: number): bigint | null {
    const offset = this.rvaToOffset(rva);
    if (offset === null) return null;
    if (this.is64) return this.reader.has(offset, 8) ? this.reader.u64le(offset) : null;
    return this.reader.has(offset, 4) ? BigInt(this.reader.u32le(offset)) : null;
  }

  /** NUL-terminated string at an RVA, at most `maxLength` bytes; `null` when the RVA maps nowhere. */
  cStringAt(rva: number, maxLength: number): string | null {
    const offset = this.rvaToOffset(rva);
    return offset === null ? null : this.reader.cString(offset, maxLength);
  }

  /** Converts a virtual address to an RVA, `null` when below the image base or absurdly far. */
  vaToRva(va: bigint): number | null {
    const rva = va - this.imageBase;
    return rva >= 0n && rva < 0x1_0000_0000n ? Number(rva) : null;
  }
}
