import { AppError } from '@malpipe/core';

/**
 * Bounds-checked little/big-endian reads over a byte array. Every read past the end throws a
 * MALFORMED_INPUT AppError carrying the offset, so parsers of hostile formats cannot read garbage silently.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  has(offset: number, size: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && size >= 0 && offset + size <= this.bytes.length;
  }

  #check(offset: number, size: number): void {
    if (!this.has(offset, size)) {
      throw new AppError('MALFORMED_INPUT', `read of ${size} bytes at offset ${offset} is outside the ${this.bytes.length}-byte input`, {
        details: { offset, size, length: this.bytes.length },
      });
    }
  }

  u8(offset: number): number {
    this.#check(offset, 1);
    return this.#view.getUint8(offset);
  }
  u16le(offset: number): number {
    this.#check(offset, 2);
    return this.#view.getUint16(offset, true);
  }
  u16be(offset: number): number {
    this.#check(offset, 2);
    return this.#view.getUint16(offset, false);
  }
  u32le(offset: number): number {
    this.#check(offset, 4);
    return this.#view.getUint32(offset, true);
  }
  u32be(offset: number): number {
    this.#check(offset, 4);
    return this.#view.getUint32(offset, false);
  }
  i32le(offset: number): number {
    this.#check(offset, 4);
    return this.#view.getInt32(offset, true);
  }
  u64le(offset: number): bigint {
    this.#check(offset, 8);
    return this.#view.getBigUint64(offset, true);
  }
  u64be(offset: number): bigint {
    this.#check(offset, 8);
    return this.#view.getBigUint64(offset, false);
  }

  /** A view (no copy) of `size` bytes at `offset`. */
  slice(offset: number, size: number): Uint8Array {
    this.#check(offset, size);
    return this.bytes.subarray(offset, offset + size);
  }

  /** NUL-terminated ASCII string of at most `maxLength` bytes; stops at the end of input. */
  cString(offset: number, maxLength = 4096): string {
    this.#check(offset, 0);
    const end = Math.min(this.bytes.length, offset + maxLength);
    let i = offset;
    while (i < end && this.bytes[i] !== 0) i++;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + offset, i - offset).toString('latin1');
  }
}
