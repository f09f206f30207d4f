import { createHash } from 'node:crypto';
import { resolveImportOrdinal } from './import-ordinal-names.js';
import type { PeImage } from './pe-image.js';
import type { PeImportedDll, PeImportedFunction } from './pe-types.js';

/** Bounds on hostile import tables; pefile stops at 0x2000 symbols in total. */
export const MAX_IMPORT_DLLS = 1024;
export const MAX_IMPORT_SYMBOLS = 0x2000;
const MAX_NAME_LENGTH = 0x200;
const IMPORT_DESCRIPTOR_SIZE = 20;
const DELAY_DESCRIPTOR_SIZE = 32;

interface SymbolBudget {
  remaining: number;
}

/** Reads an import lookup table (ILT/INT/IAT) at `tableRva` until its zero terminator. */
function readThunks(
  image: PeImage,
  tableRva: number,
  dll: string,
  budget: SymbolBudget,
): PeImportedFunction[] {
  const functions: PeImportedFunction[] = [];
  const step = image.is64 ? 8 : 4;
  const ordinalFlag = image.is64 ? 1n << 63n : 1n << 31n;
  for (let rva = tableRva; ; rva += step) {
    if (budget.remaining <= 0) {
      image.warnings.push(`import table of ${dll} cut at ${MAX_IMPORT_SYMBOLS} symbols in total`);
      break;
    }
    const thunk = image.pointerAt(rva);
    if (thunk === null) {
      image.warnings.push(`import table of ${dll} runs out of the file at RVA 0x${rva.toString(16)}`);
      break;
    }
    if (thunk === 0n) break;
    budget.remaining--;
    if ((thunk & ordinalFlag) !== 0n) {
      functions.push({ name: null, ordinal: Number(thunk & 0xffffn), hint: null });
      continue;
    }
    const nameRva = thunk & (ordinalFlag - 1n);
    const hint = nameRva < 0x1_0000_0000n ? image.u16At(Number(nameRva)) : null;
    const name = hint === null ? null : image.cStringAt(Number(nameRva) + 2, MAX_NAME_LENGTH);
    if (hint === null || name === null) {
      image.warnings.push(
        `import of ${dll} has a name RVA 0x${nameRva.toString(16)} outside the file; table abandoned`,
      );
      break;
    }
    functions.push({ name, ordinal: null, hint });
  }
  return functions;
}

/** The import directory (IMAGE_IMPORT_DESCRIPTOR array), bounded in DLLs and symbols. */
export function parseImports(image: PeImage, directoryRva: number): PeImportedDll[] {
  const dlls: PeImportedDll[] = [];
  const budget: SymbolBudget = { remaining: MAX_IMPORT_SYMBOLS };
  for (let index = 0; ; index++) {
    if (index >= MAX_IMPORT_DLLS) {
      image.warnings.push(`import directory cut at ${MAX_IMPORT_DLLS} DLLs`);
      break;
    }
    const descriptor = image.bytesAt(directoryRva + index * IMPORT_DESCRIPTOR_SIZE, IMPORT_DESCRIPTOR_SIZE);
    if (descriptor === null || descriptor.length < IMPORT_DESCRIPTOR_SIZE) {
      image.warnings.push('import directory runs out of the file before its terminating descriptor');
      break;
    }
    if (descriptor.every((byte) => byte === 0)) break;
    const view = new DataView(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength);
    const originalFirstThunk = view.getUint32(0, true);
    const nameRva = view.getUint32(12, true);
    const firstThunk = view.getUint32(16, true);
    const dll = image.cStringAt(nameRva, MAX_NAME_LENGTH);
    if (dll === null) {
      image.warnings.push(
        `import descriptor ${index} has a DLL name RVA 0x${nameRva.toString(16)} outside the file`,
      );
      continue;
    }
    // Like the loader, prefer the lookup table (OriginalFirstThunk) and fall back to the IAT (old Borland linkers).
    let functions = originalFirstThunk !== 0 ? readThunks(image, originalFirstThunk, dll, budget) : [];
    if (functions.length === 0 && firstThunk !== 0) functions = readThunks(image, firstThunk, dll, budget);
    dlls.push({ dll, functions });
  }
  return dlls;
}

/** The delay-load import directory (IMAGE_DELAYLOAD_DESCRIPTOR array). */
export function parseDelayImports(image: PeImage, directoryRva: number): PeImportedDll[] {
  const dlls: PeImportedDll[] = [];
  const budget: SymbolBudget = { remaining: MAX_IMPORT_SYMBOLS };
  for (let index = 0; ; index++) {
    if (index >= MAX_IMPORT_DLLS) {
      image.warnings.push(`delay-import directory cut at ${MAX_IMPORT_DLLS} DLLs`);
      break;
    }
    const descriptor = image.bytesAt(directoryRva + index * DELAY_DESCRIPTOR_SIZE, DELAY_DESCRIPTOR_SIZE);
    if (descriptor === null || descriptor.length < DELAY_DESCRIPTOR_SIZE) {
      image.warnings.push('delay-import directory runs out of the file before its terminating descriptor');
      break;
    }
    const view = new DataView(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength);
    const attributes = view.getUint32(0, true);
    let nameRva = view.getUint32(4, true);
    let nameTableRva = view.getUint32(16, true);
    if (nameRva === 0 && nameTableRva === 0) break;
    // Attributes bit 0 clear: a Visual C++ 6 descriptor holding virtual addresses instead of RVAs.
    if ((attributes & 1) === 0) {
      nameRva = image.vaToRva(BigInt(nameRva)) ?? -1;
      nameTableRva = image.vaToRva(BigInt(nameTableRva)) ?? -1;
    }
    const dll = image.cStringAt(nameRva, MAX_NAME_LENGTH);
    if (dll === null) {
      image.warnings.push(`delay-import descriptor ${index} has a DLL name outside the file`);
      continue;
    }
    dlls.push({ dll, functions: nameTableRva > 0 ? readThunks(image, nameTableRva, dll, budget) : [] });
  }
  return dlls;
}

const DOS_FILENAME = /^[A-Za-z0-9!#$%&'()\-@^_`{}~+,.;=[\]\\/]*$/;
const FUNCTION_NAME = /^[A-Za-z0-9._?@$()<>]*$/;
const STRIPPED_EXTENSIONS = new Set(['dll', 'ocx', 'sys']);

/**
 * The imphash as pefile (and VirusTotal) compute it: for each import in order, `<dll>.<function>` lower-cased,
 * the DLL name without a `.dll`/`.ocx`/`.sys` extension, ordinal-only imports named through pefile's ordinal
 * tables; md5 of the comma-joined list. pefile drops names with characters outside its allowed set and DLLs
 * with an empty name, and writes `*invalid*` for DLL names that are not valid DOS file names; so does this.
 */
export function computeImphash(imports: readonly PeImportedDll[]): string | null {
  const parts: string[] = [];
  for (const entry of imports) {
    if (entry.dll === '') continue;
    const dll = DOS_FILENAME.test(entry.dll) ? entry.dll : '*invalid*';
    let library = dll.toLowerCase();
    const dot = library.lastIndexOf('.');
    if (dot >= 0 && STRIPPED_EXTENSIONS.has(library.slice(dot + 1))) library = library.slice(0, dot);
    for (const fn of entry.functions) {
      let name: string;
      if (fn.name !== null) {
        if (!FUNCTION_NAME.test(fn.name)) continue;
        name = fn.name;
      } else if (fn.ordinal !== null && fn.ordinal !== 0) {
        name = resolveImportOrdinal(dll, fn.ordinal);
      } else {
        continue;
      }
      if (name === '') continue;
      parts.push(`${library}.${name.toLowerCase()}`);
    }
  }
  if (parts.length === 0) return null;
  return createHash('md5').update(parts.join(','), 'utf8').digest('hex');
}
