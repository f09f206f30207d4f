import { crc32 } from 'node:zlib';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

export interface ZipMemberSpec {
  readonly name: string;
  /** Bytes, or a length of zeros streamed in 1 MiB chunks (never held in memory at once). */
  readonly data: Uint8Array | { readonly zeros: number };
  /** Encrypts the member with this password. */
  readonly password?: string;
  /** `zipcrypto` (traditional PKWARE) or `aes` (WinZip AES-256). Default `aes` when a password is set. */
  readonly encryption?: 'zipcrypto' | 'aes';
  /** Deflate level 0-9; 0 stores. Default 6. */
  readonly level?: number;
  readonly directory?: boolean;
}

function zeroStream(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1024 * 1024);
  let left = total;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left <= 0) {
        controller.close();
        return;
      }
      const size = Math.min(left, chunk.length);
      left -= size;
      controller.enqueue(chunk.subarray(0, size));
    },
  });
}

/** Builds a ZIP with @zip.js/zip.js, so the analyser is tested against a real third-party writer. */
export async function buildZip(members: readonly ZipMemberSpec[]): Promise<Uint8Array> {
  const writer = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false });
  for (const member of members) {
    const encrypted = member.password !== undefined;
    const options = {
      level: member.level ?? 6,
      ...(encrypted ? { password: member.password, zipCrypto: member.encryption === 'zipcrypto', encryptionStrength: 3 as const } : {}),
      ...(member.directory ? { directory: true } : {}),
    };
    if (member.directory) {
      await writer.add(member.name, undefined, options);
    } else if (member.data instanceof Uint8Array) {
      await writer.add(member.name, new Uint8ArrayReader(member.data), options);
    } else {
      await writer.add(member.name, zeroStream(member.data.zeros), options);
    }
  }
  return writer.close();
}

/**
 * Builds a ZIP of stored (uncompressed) members byte by byte, for names and layouts a well-behaved writer
 * refuses to produce: traversal paths, NUL bytes, lying size fields.
 */
export function buildStoredZip(members: readonly { readonly name: string | Uint8Array; readonly data: Uint8Array }[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const member of members) {
    const name = typeof member.name === 'string' ? Buffer.from(member.name, 'utf8') : Buffer.from(member.name);
    const crc = crc32(member.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(member.data.length, 18);
    local.writeUInt32LE(member.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(member.data.length, 20);
    central.writeUInt32LE(member.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(member.data));
    centrals.push(central, name);
    offset += 30 + name.length + member.data.length;
  }
  const centralSize = centrals.reduce((sum, b) => sum + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, ...centrals, end]));
}
