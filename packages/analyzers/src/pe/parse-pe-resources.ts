import { RESOURCE_TYPE_NAMES } from './pe-constants.js';
import type { PeImage } from './pe-image.js';
import type { PeResourceType, PeResources, PeVersionInfo } from './pe-types.js';

/** Bounds on the resource tree: leaves visited, and the version resource size read. */
export const MAX_RESOURCE_ENTRIES = 10_000;
const MAX_VERSION_INFO_BYTES = 64 * 1024;
const MAX_VERSION_STRINGS = 256;
const MAX_NAME_CHARS = 256;

interface ResourceLeaf {
  readonly type: string;
  readonly typeId: number | null;
  readonly language: number;
  readonly rva: number;
  readonly size: number;
}

function decodeUtf16(bytes: Uint8Array): string {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  return Buffer.from(even.buffer, even.byteOffset, even.byteLength).toString('utf16le');
}

/** A resource directory name: u16 length then UTF-16LE characters, relative to the resource root. */
function readResourceName(image: PeImage, rootRva: number, offset: number): string {
  const length = image.u16At(rootRva + offset);
  if (length === null) return '#invalid-name';
  const bytes = image.bytesAt(rootRva + offset + 2, Math.min(length, MAX_NAME_CHARS) * 2);
  return bytes === null ? '#invalid-name' : decodeUtf16(bytes);
}

/**
 * Walks the three-level resource tree (type / name / language) without following loops or going deeper than the
 * format allows, and collects its leaves.
 */
function collectLeaves(image: PeImage, rootRva: number): ResourceLeaf[] {
  const leaves: ResourceLeaf[] = [];
  const visited = new Set<number>();
  let budget = MAX_RESOURCE_ENTRIES;

  const walk = (directoryOffset: number, level: number, type: string, typeId: number | null): void => {
    if (visited.has(directoryOffset)) {
      image.warnings.push(
        `resource directory at offset 0x${directoryOffset.toString(16)} is referenced twice (loop)`,
      );
      return;
    }
    visited.add(directoryOffset);
    const header = image.bytesAt(rootRva + directoryOffset, 16);
    if (header === null || header.length < 16) {
      image.warnings.push(
        `resource directory at offset 0x${directoryOffset.toString(16)} lies outside the file`,
      );
      return;
    }
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const count = view.getUint16(12, true) + view.getUint16(14, true);
    for (let i = 0; i < count; i++) {
      if (budget-- <= 0) {
        image.warnings.push(`resource tree cut at ${MAX_RESOURCE_ENTRIES} entries`);
        return;
      }
      const entryRva = rootRva + directoryOffset + 16 + i * 8;
      const nameField = image.u32At(entryRva);
      const dataField = image.u32At(entryRva + 4);
      if (nameField === null || dataField === null) {
        image.warnings.push('resource directory entries run out of the file');
        return;
      }
      const isNamed = (nameField & 0x80000000) !== 0;
      const id = isNamed ? null : nameField & 0xffff;
      const isDirectory = (dataField & 0x80000000) !== 0;
      const target = dataField & 0x7fffffff;
      if (level === 0) {
        const typeName = isNamed
          ? readResourceName(image, rootRva, nameField & 0x7fffffff)
          : (RESOURCE_TYPE_NAMES.get(id ?? -1) ?? `#${id}`);
        if (isDirectory) walk(target, 1, typeName, id);
        else image.warnings.push(`resource type ${typeName} points at data instead of a directory`);
        continue;
      }
      if (isDirectory) {
        if (level >= 2)
          image.warnings.push('resource tree deeper than type/name/language; extra levels ignored');
        else walk(target, level + 1, type, typeId);
        continue;
      }
      const data = image.bytesAt(rootRva + target, 16);
      if (data === null || data.length < 16) {
        image.warnings.push(`resource data entry at offset 0x${target.toString(16)} lies outside the file`);
        continue;
      }
      const dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);
      leaves.push({
        type,
        typeId,
        // A leaf directly under a name (level 1) has no language level.
        language: level === 2 && id !== null ? id : 0,
        rva: dataView.getUint32(0, true),
        size: dataView.getUint32(4, true),
      });
    }
  };

  walk(0, 0, '', null);
  return leaves;
}

interface VersionNode {
  readonly key: string;
  readonly type: number;
  readonly valueStart: number;
  readonly valueLength: number;
  readonly childrenStart: number;
  readonly end: number;
}

const align4 = (value: number): number => (value + 3) & ~3;

/** One VS_VERSIONINFO-style node (wLength, wValueLength, wType, szKey, padding, value, children) at `offset`. */
function readVersionNode(bytes: Uint8Array, offset: number, limit: number): VersionNode | null {
  if (offset + 6 > limit) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(offset, true);
  const valueLength = view.getUint16(offset + 2, true);
  const type = view.getUint16(offset + 4, true);
  if (length < 6) return null;
  const end = Math.min(offset + length, limit);
  let keyEnd = offset + 6;
  while (keyEnd + 1 < end && (bytes[keyEnd] !== 0 || bytes[keyEnd + 1] !== 0)) keyEnd += 2;
  const key = decodeUtf16(bytes.subarray(offset + 6, keyEnd));
  const valueStart = Math.min(align4(keyEnd + 2), end);
  // Text values count UTF-16 units, binary values bytes.
  const valueBytes = type === 1 ? valueLength * 2 : valueLength;
  const valueLength_ = Math.max(0, Math.min(valueBytes, end - valueStart));
  const childrenStart = Math.min(align4(valueStart + valueLength_), end);
  return { key, type, valueStart, valueLength: valueLength_, childrenStart, end };
}

function* children(bytes: Uint8Array, node: VersionNode): Generator<VersionNode> {
  let offset = node.childrenStart;
  while (offset < node.end) {
    const child = readVersionNode(bytes, offset, node.end);
    if (child === null) return;
    yield child;
    offset = align4(child.end);
  }
}

function formatVersion(ms: number, ls: number): string {
  return `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
}

/** Parses a VS_VERSIONINFO resource: the fixed file info and the StringFileInfo strings. */
export function parseVersionInfo(bytes: Uint8Array): PeVersionInfo | null {
  const root = readVersionNode(bytes, 0, bytes.length);
  if (root === null || root.key !== 'VS_VERSION_INFO') return null;
  let fileVersion: string | null = null;
  let productVersion: string | null = null;
  if (root.valueLength >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + root.valueStart, root.valueLength);
    if (view.getUint32(0, true) === 0xfeef04bd) {
      fileVersion = formatVersion(view.getUint32(8, true), view.getUint32(12, true));
      productVersion = formatVersion(view.getUint32(16, true), view.getUint32(20, true));
    }
  }
  const strings: Record<string, string> = {};
  let translation: string | null = null;
  let count = 0;
  for (const block of children(bytes, root)) {
    if (block.key !== 'StringFileInfo') continue;
    for (const table of children(bytes, block)) {
      translation ??= table.key;
      for (const entry of children(bytes, table)) {
        if (count++ >= MAX_VERSION_STRINGS) break;
        // wValueLength is unreliable in the wild (bytes vs characters); read up to the NUL or the node end.
        const raw = decodeUtf16(bytes.subarray(entry.valueStart, entry.end));
        const nul = raw.indexOf('\0');
        if (entry.key !== '' && !Object.hasOwn(strings, entry.key))
          strings[entry.key] = nul >= 0 ? raw.slice(0, nul) : raw;
      }
    }
  }
  return { fileVersion, productVersion, strings, translation };
}

/** Summarises the resource directory per type and parses the first VERSION resource. */
export function parseResources(
  image: PeImage,
  directoryRva: number,
): { resources: PeResources; versionInfo: PeVersionInfo | null } {
  const leaves = collectLeaves(image, directoryRva);
  const byType = new Map<string, { count: number; languages: Set<number>; totalSize: number }>();
  let totalSize = 0;
  for (const leaf of leaves) {
    const entry = byType.get(leaf.type) ?? { count: 0, languages: new Set<number>(), totalSize: 0 };
    entry.count++;
    entry.languages.add(leaf.language);
    entry.totalSize += leaf.size;
    totalSize += leaf.size;
    byType.set(leaf.type, entry);
  }
  const types: PeResourceType[] = [...byType].map(([type, entry]) => ({
    type,
    count: entry.count,
    languages: [...entry.languages].sort((a, b) => a - b),
    totalSize: entry.totalSize,
  }));

  let versionInfo: PeVersionInfo | null = null;
  const version = leaves.find((leaf) => leaf.typeId === 16);
  if (version !== undefined) {
    const bytes = image.bytesAt(version.rva, Math.min(version.size, MAX_VERSION_INFO_BYTES));
    if (bytes === null) image.warnings.push('VERSION resource data lies outside the file');
    else versionInfo = parseVersionInfo(bytes);
  }
  return { resources: { types, totalEntries: leaves.length, totalSize }, versionInfo };
}
