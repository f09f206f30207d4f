import { AppError } from '@malpipe/core';

/**
 * Plaintext every encoded payload is expected to contain. Anchored pieces (with an offset) become encoded
 * bytes at fixed offsets or key-agnostic condition arithmetic; floating pieces (no offset) become strings
 * searched anywhere.
 */
export interface PlaintextPiece {
  readonly bytes: Uint8Array;
  /** File offset of the plaintext in the decoded payload; absent: anywhere. */
  readonly offset?: number;
  readonly label: string;
}

const DOS_STUB_CODE = [0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21];
const DOS_STUB_TEXT = 'This program cannot be run in DOS mode.\r\r\n$';

/**
 * The DOS header and stub that Microsoft's linker writes into every PE (0x00-0x3B and 0x40-0x7F; `e_lfanew`
 * at 0x3C varies and is left out). The 7 zero bytes after the stub text pad to the Rich header or PE header.
 */
export function peHeaderPlaintext(): PlaintextPiece[] {
  const header = new Uint8Array(0x3c);
  const view = new DataView(header.buffer);
  header.set([0x4d, 0x5a]);
  view.setUint16(0x02, 0x90, true);
  view.setUint16(0x04, 3, true);
  view.setUint16(0x08, 4, true);
  view.setUint16(0x0c, 0xffff, true);
  view.setUint16(0x10, 0xb8, true);
  view.setUint16(0x18, 0x40, true);
  const stub = new Uint8Array(0x40);
  stub.set(DOS_STUB_CODE);
  stub.set(Buffer.from(DOS_STUB_TEXT, 'latin1'), 0x0e);
  return [
    { label: 'dos-header', offset: 0, bytes: header },
    { label: 'dos-stub', offset: 0x40, bytes: stub },
  ];
}

/**
 * Parses a `--plaintext` value: `pe-header`, `hex:<hex>[@offset]`, a bare even-length hex string, or text
 * (`text:<string>[@offset]`, or anything else taken literally).
 */
export function parsePlaintext(value: string): PlaintextPiece[] {
  if (value === 'pe-header') return peHeaderPlaintext();
  const at = /^(.*)@(0x[0-9a-fA-F]+|\d+)$/s.exec(value);
  const body = at?.[1] ?? value;
  const offset = at?.[2] === undefined ? undefined : Number(at[2]);
  const withOffset = (piece: Omit<PlaintextPiece, 'offset'>): PlaintextPiece => (offset === undefined ? piece : { ...piece, offset });
  if (body.startsWith('hex:') || /^(?:[0-9a-fA-F]{2}){4,}$/.test(body)) {
    const hex = body.replace(/^hex:/, '').replace(/\s+/g, '');
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new AppError('VALIDATION_FAILED', `plaintext ${value}: not hex bytes`);
    return [withOffset({ label: `hex:${hex.slice(0, 16)}`, bytes: new Uint8Array(Buffer.from(hex, 'hex')) })];
  }
  const text = body.replace(/^text:/, '');
  if (text.length < 4) throw new AppError('VALIDATION_FAILED', `plaintext ${JSON.stringify(value)} is too short (at least 4 bytes)`);
  return [withOffset({ label: `text:${text.slice(0, 24)}`, bytes: new Uint8Array(Buffer.from(text, 'utf8')) })];
}

/** Anchored pieces as one offset -> byte map (later pieces win where they overlap). */
export function knownBytes(pieces: readonly PlaintextPiece[]): Map<number, number> {
  const known = new Map<number, number>();
  for (const piece of pieces) {
    if (piece.offset === undefined) continue;
    piece.bytes.forEach((b, i) => known.set(piece.offset! + i, b));
  }
  return known;
}
