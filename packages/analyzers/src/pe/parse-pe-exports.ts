import type { PeImage } from './pe-image.js';
import type { PeExportedFunction, PeExports } from './pe-types.js';

/** Bound on exported functions reported (and on names scanned); real DLLs stay far below. */
export const MAX_EXPORTS = 0x4000;
const MAX_NAME_LENGTH = 0x200;

/** The export directory: DLL name, ordinals, names and forwarders (exports whose RVA points inside the directory). */
export function parseExports(image: PeImage, directoryRva: number, directorySize: number): PeExports | null {
  const header = image.bytesAt(directoryRva, 40);
  if (header === null || header.length < 40) {
    image.warnings.push('export directory lies outside the file');
    return null;
  }
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const timestamp = view.getUint32(4, true);
  const nameRva = view.getUint32(12, true);
  const ordinalBase = view.getUint32(16, true);
  const numberOfFunctions = view.getUint32(20, true);
  const numberOfNames = view.getUint32(24, true);
  const functionsRva = view.getUint32(28, true);
  const namesRva = view.getUint32(32, true);
  const ordinalsRva = view.getUint32(36, true);

  const dllName = nameRva === 0 ? null : image.cStringAt(nameRva, MAX_NAME_LENGTH);
  if (numberOfFunctions > MAX_EXPORTS) {
    image.warnings.push(
      `export directory claims ${numberOfFunctions} functions; only the first ${MAX_EXPORTS} are read`,
    );
  }
  const functionCount = Math.min(numberOfFunctions, MAX_EXPORTS);

  // Name index: function index -> first name pointing at it.
  const names = new Map<number, string>();
  const nameCount = Math.min(numberOfNames, MAX_EXPORTS);
  for (let i = 0; i < nameCount; i++) {
    const pointer = image.u32At(namesRva + i * 4);
    const index = image.u16At(ordinalsRva + i * 2);
    if (pointer === null || index === null) {
      image.warnings.push(`export name table runs out of the file at entry ${i}`);
      break;
    }
    const name = image.cStringAt(pointer, MAX_NAME_LENGTH);
    if (name !== null && !names.has(index)) names.set(index, name);
  }

  const functions: PeExportedFunction[] = [];
  for (let i = 0; i < functionCount; i++) {
    const rva = image.u32At(functionsRva + i * 4);
    if (rva === null) {
      image.warnings.push(`export address table runs out of the file at entry ${i}`);
      break;
    }
    if (rva === 0) continue;
    const isForwarder = rva >= directoryRva && rva < directoryRva + directorySize;
    functions.push({
      ordinal: ordinalBase + i,
      name: names.get(i) ?? null,
      rva,
      forwarder: isForwarder ? image.cStringAt(rva, MAX_NAME_LENGTH) : null,
    });
  }
  return { dllName, timestamp, ordinalBase, numberOfFunctions, numberOfNames, functions };
}
