import type { PeInfo } from './beacon-config.js';

const MACHINE_I386 = 0x14c;
const MAX_STAGE_APPEND = 1024;
const MACHINE_AMD64 = 0x8664;

function u16(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

/**
 * True when a PE header starts at `offset`. Validated by e_lfanew, the two zero bytes after the (customisable)
 * PE magic, the Machine field and the optional-header magic; never by the literal "MZ"/"PE" that magic_mz and
 * magic_pe can replace (the custom-key corpus beacon uses "De").
 */
export function isPeAt(bytes: Uint8Array, offset: number): boolean {
  if (offset < 0 || offset + 0x40 > bytes.length) return false;
  const lfanew = u32(bytes, offset + 0x3c);
  if (lfanew < 0x40 || lfanew >= 1024) return false;
  const nt = offset + lfanew;
  if (nt + 24 + 2 > bytes.length) return false;
  if (bytes[nt + 2] !== 0 || bytes[nt + 3] !== 0) return false;
  const machine = u16(bytes, nt + 4);
  if (machine !== MACHINE_I386 && machine !== MACHINE_AMD64) return false;
  const magic = u16(bytes, nt + 24);
  return (machine === MACHINE_I386 && magic === 0x10b) || (machine === MACHINE_AMD64 && magic === 0x20b);
}

/** First offset within `searchLimit` bytes where a PE starts (stage prepend bytes come before it), or -1. */
export function findPeStart(bytes: Uint8Array, searchLimit = 4096): number {
  const limit = Math.min(bytes.length, searchLimit);
  for (let i = 0; i < limit; i++) if (isPeAt(bytes, i)) return i;
  return -1;
}

// The reflective loader's DOS header: magic_mz, then `call $+5; pop ebx` (x86) or `push rbp; mov rbp, rsp;
// sub rsp, ...` (x64) (dissect find_magic_mz).
const X86_LOADER = [0xe8, 0x00, 0x00, 0x00, 0x00, 0x5b];
const X64_LOADER = [0x55, 0x48, 0x89, 0xe5, 0x48, 0x81];

function indexOfSequence(bytes: Uint8Array, needle: readonly number[], from: number, to: number): number {
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function printable(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

interface Section {
  readonly virtualAddress: number;
  readonly virtualSize: number;
  readonly rawPointer: number;
  readonly rawSize: number;
}

/** Architecture, stamps, magic bytes and stage prepend/append of the PE at `offset` (see `isPeAt`). */
export function readPeInfo(bytes: Uint8Array, offset: number): PeInfo | null {
  if (!isPeAt(bytes, offset)) return null;
  const nt = offset + u32(bytes, offset + 0x3c);
  const machine = u16(bytes, nt + 4);
  const architecture = machine === MACHINE_AMD64 ? 'x64' : 'x86';
  const sectionCount = Math.min(u16(bytes, nt + 6), 96);
  const compileStamp = u32(bytes, nt + 8);
  const optionalSize = u16(bytes, nt + 20);
  const optional = nt + 24;
  const dataDirectories = optional + (architecture === 'x64' ? 112 : 96);
  const exportRva = u32(bytes, dataDirectories);
  const sectionTable = optional + optionalSize;
  const sections: Section[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = sectionTable + i * 40;
    if (s + 40 > bytes.length) break;
    sections.push({ virtualSize: u32(bytes, s + 8), virtualAddress: u32(bytes, s + 12), rawSize: u32(bytes, s + 16), rawPointer: u32(bytes, s + 20) });
  }
  let exportStamp: number | null = null;
  if (exportRva !== 0) {
    const section = sections.find((s) => exportRva >= s.virtualAddress && exportRva < s.virtualAddress + Math.max(s.virtualSize, s.rawSize));
    if (section) {
      const at = offset + exportRva - section.virtualAddress + section.rawPointer;
      if (at + 8 <= bytes.length) exportStamp = u32(bytes, at + 4);
    }
  }
  const loaderAt = Math.max(
    indexOfSequence(bytes, architecture === 'x64' ? X64_LOADER : X86_LOADER, offset + 2, Math.min(bytes.length, offset + 16)),
    -1,
  );
  const magicMz = printable(bytes.subarray(offset, loaderAt > 0 ? loaderAt : offset + 2));
  const magicPe = printable(bytes.subarray(nt, nt + 2));
  const end = sections.reduce((m, s) => Math.max(m, s.rawSize === 0 ? 0 : s.rawPointer + s.rawSize), 0);
  // XorEncode pads the stage to whole dwords with zeros; those bytes are not part of stage.append.
  let stageEnd = bytes.length;
  while (stageEnd > offset + end && stageEnd > bytes.length - 3 && bytes[stageEnd - 1] === 0) stageEnd--;
  const peEnd = offset + end;
  return {
    offset,
    architecture,
    compileStamp,
    exportStamp,
    magicMz,
    magicPe,
    stagePrepend: offset > 0 ? Buffer.from(bytes.subarray(0, offset)).toString('hex') : null,
    // Anything longer than a stage.append is an overlay or the rest of a memory image, not part of the stage.
    stageAppend: end > 0 && peEnd < stageEnd && stageEnd - peEnd <= MAX_STAGE_APPEND ? Buffer.from(bytes.subarray(peEnd, stageEnd)).toString('hex') : null,
  };
}
