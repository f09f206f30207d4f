/**
 * Decoders for the structured byte settings: malleable transform programs (ids 11-13), process-inject transforms
 * (46/47), the process-inject execute list (51) and the sleep-mask section list (42). All bounded by the value.
 */

export const TRANSFORM_OPS: Readonly<Record<number, string>> = {
  1: 'append',
  2: 'prepend',
  3: 'base64',
  4: 'print',
  5: 'parameter',
  6: 'header',
  7: 'build',
  8: 'netbios',
  9: 'const_parameter',
  10: 'const_header',
  11: 'netbiosu',
  12: 'uri_append',
  13: 'base64url',
  14: 'strrep',
  15: 'mask',
  16: 'const_host_header',
};

export interface TransformStep {
  readonly op: number;
  readonly name: string;
  /** String argument (append/prepend/header/parameter/const_*), or build target / recover byte count. */
  readonly argument?: string | number;
  /** Second argument of strrep. */
  readonly argument2?: string;
}

export interface TransformProgram {
  readonly steps: readonly TransformStep[];
  /** False when the program ran off its value or met an unknown opcode. */
  readonly complete: boolean;
}

function u32be(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** String up to the first NUL, latin-1 (hosts may hold raw 0x80-0xff bytes). */
export function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return latin1(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function readLengthPrefixed(b: Uint8Array, pos: number): { value: string; next: number } | null {
  if (pos + 4 > b.length) return null;
  const len = u32be(b, pos);
  if (len > b.length - pos - 4) return null;
  return { value: latin1(b.subarray(pos + 4, pos + 4 + len)), next: pos + 4 + len };
}

/** Client transform program of ids 12/13: u32be opcodes, length-prefixed string arguments, 0 ends. */
export function decodeTransformProgram(bytes: Uint8Array): TransformProgram {
  const steps: TransformStep[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const op = u32be(bytes, pos);
    pos += 4;
    if (op === 0) return { steps, complete: true };
    const name = TRANSFORM_OPS[op];
    if (name === undefined) return { steps, complete: false };
    if (op === 1 || op === 2 || op === 5 || op === 6 || op === 9 || op === 10 || op === 16) {
      const arg = readLengthPrefixed(bytes, pos);
      if (!arg) return { steps, complete: false };
      steps.push({ op, name, argument: arg.value });
      pos = arg.next;
    } else if (op === 7) {
      if (pos + 4 > bytes.length) return { steps, complete: false };
      steps.push({ op, name, argument: u32be(bytes, pos) });
      pos += 4;
    } else if (op === 14) {
      // strrep carries two strings (1768.py); dissect does not consume them and desynchronises.
      const a = readLengthPrefixed(bytes, pos);
      const b = a ? readLengthPrefixed(bytes, a.next) : null;
      if (!a || !b) return { steps, complete: false };
      steps.push({ op, name, argument: a.value, argument2: b.value });
      pos = b.next;
    } else {
      steps.push({ op, name });
    }
  }
  // A zero-filled tail ends the program too; running off the value without a 0 is incomplete.
  return { steps, complete: false };
}

/** Server-output recovery program of id 11: append/prepend carry byte counts to remove, not strings. */
export function decodeRecoverProgram(bytes: Uint8Array): TransformProgram {
  const steps: TransformStep[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const op = u32be(bytes, pos);
    pos += 4;
    if (op === 0) return { steps, complete: true };
    const name = TRANSFORM_OPS[op];
    if (name === undefined) return { steps, complete: false };
    if (op === 1 || op === 2) {
      if (pos + 4 > bytes.length) return { steps, complete: false };
      steps.push({ op, name, argument: u32be(bytes, pos) });
      pos += 4;
    } else {
      steps.push({ op, name });
    }
  }
  return { steps, complete: false };
}

/** S1 / JPCERT wording of the recovery program (print is dropped, as S1 does). */
export function describeRecoverStep(step: TransformStep): string | null {
  switch (step.op) {
    case 1:
      return `Remove ${String(step.argument)} bytes from the end`;
    case 2:
      return `Remove ${String(step.argument)} bytes from the beginning`;
    case 3:
      return 'Base64 decode';
    case 8:
      return "NetBIOS decode 'a'";
    case 11:
      return "NetBIOS decode 'A'";
    case 13:
      return 'Base64 URL-safe decode';
    case 15:
      return 'XOR mask w/ random key';
    default:
      return null;
  }
}

export interface InjectTransform {
  readonly prepend: Uint8Array;
  readonly append: Uint8Array;
}

/** ids 46/47: `u32be prependLen | prepend | u32be appendLen | append` (prepend first, as inject.c reads it). */
export function decodeInjectTransform(bytes: Uint8Array): InjectTransform | null {
  if (bytes.every((b) => b === 0)) return null;
  const prependLen = u32be(bytes, 0);
  if (bytes.length < 4 || prependLen > bytes.length - 4) return { prepend: bytes.subarray(4), append: new Uint8Array(0) };
  const prepend = bytes.subarray(4, 4 + prependLen);
  const at = 4 + prependLen;
  if (at + 4 > bytes.length) return { prepend, append: new Uint8Array(0) };
  const appendLen = Math.min(u32be(bytes, at), bytes.length - at - 4);
  return { prepend, append: bytes.subarray(at + 4, at + 4 + appendLen) };
}

export const EXECUTE_METHODS: Readonly<Record<number, string>> = {
  1: 'CreateThread',
  2: 'SetThreadContext',
  3: 'CreateRemoteThread',
  4: 'RtlCreateUserThread',
  5: 'NtQueueApcThread',
  6: 'CreateThread',
  7: 'CreateRemoteThread',
  8: 'NtQueueApcThread-s',
};

export interface ExecuteEntry {
  readonly op: number;
  readonly method: string;
  /** Spoofed start address (ops 6 and 7): module!function+offset. */
  readonly module?: string;
  readonly function?: string;
  readonly offset?: number;
}

/** id 51: bytes ending in 0; ops 6/7 carry `u16be offset | u32be len + module | u32be len + function`. */
export function decodeExecuteList(bytes: Uint8Array): { entries: ExecuteEntry[]; complete: boolean } {
  const entries: ExecuteEntry[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const op = bytes[pos] ?? 0;
    pos++;
    if (op === 0) return { entries, complete: true };
    const method = EXECUTE_METHODS[op];
    if (method === undefined) return { entries, complete: false };
    if (op === 6 || op === 7) {
      if (pos + 2 > bytes.length) return { entries, complete: false };
      const offset = ((bytes[pos] ?? 0) << 8) | (bytes[pos + 1] ?? 0);
      const mod = readLengthPrefixed(bytes, pos + 2);
      const fn = mod ? readLengthPrefixed(bytes, mod.next) : null;
      if (!mod || !fn) return { entries, complete: false };
      entries.push({ op, method, module: mod.value.replace(/\0+$/, ''), function: fn.value.replace(/\0+$/, ''), offset });
      pos = fn.next;
    } else {
      entries.push({ op, method });
    }
  }
  return { entries, complete: false };
}

/** dissect-style rendering: `CreateThread "ntdll!RtlUserThreadStart+0x42"`. */
export function describeExecuteEntry(entry: ExecuteEntry): string {
  if (entry.module === undefined) return entry.method;
  return `${entry.method} "${entry.module}!${entry.function ?? ''}+0x${(entry.offset ?? 0).toString(16)}"`;
}

/** id 42: little-endian (start, end) u32 pairs ending with (0, 0). */
export function decodeGargleSections(bytes: Uint8Array): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let pos = 0; pos + 8 <= bytes.length; pos += 8) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + pos, 8);
    const start = view.getUint32(0, true);
    const end = view.getUint32(4, true);
    if (start === 0 && end === 0) break;
    out.push({ start, end });
  }
  return out;
}
