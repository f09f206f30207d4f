import { gzipSync } from 'node:zlib';

export interface TarMemberSpec {
  readonly name: string;
  readonly data?: Uint8Array;
  /** Tar type flag: '0' file (default), '5' directory, '2' symlink. */
  readonly type?: '0' | '5' | '2';
  /** How to store a name longer than 100 bytes: a GNU 'L' record (default) or a PAX 'x' header. */
  readonly longName?: 'gnu' | 'pax';
  /** Declares this size instead of the data length (for truncation tests). */
  readonly declaredSize?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, type: string, magic: 'ustar' | 'gnu'): Buffer {
  const block = Buffer.alloc(512);
  block.write(name.slice(0, 100), 0, 'utf8');
  block.write(octal(0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii');
  block.write(type, 156, 'ascii');
  if (magic === 'ustar') block.write('ustar\x0000', 257, 'latin1');
  else block.write('ustar  \0', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(octal(sum, 7) + ' ', 148, 'ascii');
  return block;
}

function padded(data: Uint8Array): Buffer {
  const size = Math.ceil(data.length / 512) * 512;
  const out = Buffer.alloc(size);
  out.set(data);
  return out;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

/** Builds a tar archive (ustar, with GNU or PAX long names) followed by the two zero end blocks. */
export function buildTar(members: readonly TarMemberSpec[], format: 'ustar' | 'gnu' = 'ustar'): Uint8Array {
  const parts: Buffer[] = [];
  for (const member of members) {
    const data = member.data ?? new Uint8Array(0);
    const type = member.type ?? '0';
    if (Buffer.byteLength(member.name) > 100) {
      if (member.longName === 'pax') {
        const pax = Buffer.from(paxRecord('path', member.name));
        parts.push(header('PaxHeader', pax.length, 'x', 'ustar'), padded(pax));
      } else {
        const long = Buffer.from(`${member.name}\0`);
        parts.push(header('././@LongLink', long.length, 'L', 'gnu'), padded(long));
      }
    }
    parts.push(header(member.name, member.declaredSize ?? data.length, type, format), padded(data));
  }
  parts.push(Buffer.alloc(1024));
  return new Uint8Array(Buffer.concat(parts));
}

export function buildTarGz(members: readonly TarMemberSpec[]): Uint8Array {
  return new Uint8Array(gzipSync(buildTar(members)));
}
