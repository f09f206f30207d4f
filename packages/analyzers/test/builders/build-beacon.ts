/**
 * Synthetic Cobalt Strike beacons for tests, built with the real encodings (TLV config, single-byte XOR,
 * XorEncode sleeve, guardrails, ArtifactKit, runtime arrays) around a minimal, inert PE that holds no code.
 */

export type SettingValue = number | string | Uint8Array;

export interface SettingSpec {
  readonly id: number;
  readonly type: 'short' | 'int' | 'ptr';
  readonly value: SettingValue;
  /** Declared length for ptr values (NUL-padded up to it); defaults to the value length + 1 for strings. */
  readonly length?: number;
  /** Override of the length field written for short/int (the beacon ignores it). */
  readonly lengthField?: number;
}

export const short = (id: number, value: number): SettingSpec => ({ id, type: 'short', value });
export const int = (id: number, value: number): SettingSpec => ({ id, type: 'int', value });
export const ptr = (id: number, value: string | Uint8Array, length?: number): SettingSpec =>
  length === undefined ? { id, type: 'ptr', value } : { id, type: 'ptr', value, length };

const TYPE_CODES = { short: 1, int: 2, ptr: 3 } as const;

function bytesOf(value: SettingValue): Uint8Array {
  if (typeof value === 'string') return Uint8Array.from(Buffer.from(value, 'latin1'));
  if (typeof value === 'number') throw new Error('number for a ptr setting');
  return value;
}

export function u32be(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
export function u32le(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The plain TLV list: records, a `00 00` terminator, zero padding up to `blockSize`. */
export function encodeSettings(settings: readonly SettingSpec[], blockSize = 4096): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of settings) {
    let value: Uint8Array;
    let length: number;
    if (s.type === 'short') {
      value = Uint8Array.of(((s.value as number) >>> 8) & 0xff, (s.value as number) & 0xff);
      length = s.lengthField ?? 2;
    } else if (s.type === 'int') {
      value = u32be(s.value as number);
      length = s.lengthField ?? 4;
    } else {
      const raw = bytesOf(s.value);
      length = s.length ?? raw.length + (typeof s.value === 'string' ? 1 : 0);
      value = new Uint8Array(length);
      value.set(raw.subarray(0, length));
    }
    parts.push(Uint8Array.of(s.id >>> 8, s.id & 0xff), Uint8Array.of(0, TYPE_CODES[s.type]), Uint8Array.of(length >>> 8, length & 0xff), value);
  }
  parts.push(Uint8Array.of(0, 0));
  const list = concat(...parts);
  if (list.length > blockSize) throw new Error(`settings need ${list.length} bytes, more than the ${blockSize}-byte block`);
  const block = new Uint8Array(blockSize);
  block.set(list);
  return block;
}

/** Malleable transform program bytes (ids 11-13): [op] or [op, string] or [7, n]. */
export function encodeProgram(steps: readonly (readonly [number] | readonly [number, string | number])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const step of steps) {
    parts.push(u32be(step[0]));
    const arg = step[1];
    if (typeof arg === 'number') parts.push(u32be(arg));
    else if (typeof arg === 'string') parts.push(u32be(arg.length), Uint8Array.from(Buffer.from(arg, 'latin1')));
  }
  parts.push(u32be(0));
  return concat(...parts);
}

/** A realistic 4.x HTTPS settings list (every setting type; ids 1-73). */
export function sampleSettings(overrides: { host?: string; watermark?: number; port?: number; protocol?: number } = {}): SettingSpec[] {
  const key = Buffer.from(
    '30819f300d06092a864886f70d010101050003818d0030818902818100c9bc2d82418688a2e4f8d645ca54dacce652ef725189444fa2def7acfaf0b40000d45933eceb80e7fc1e1e2a540a3e96c2ffc22026369d0ff07da59898f1752593876f69a80b763042abbb92c52f8a85556c5f8e8b052060231684e007a866fc010f69f4c1d79e236b1b90cbc3861bf9b3a366cf5dac02d39519dafc717dece50203010001',
    'hex',
  );
  return [
    short(1, overrides.protocol ?? 8),
    short(2, overrides.port ?? 443),
    int(3, 60000),
    int(4, 1048576),
    short(5, 20),
    short(6, 255),
    ptr(7, Uint8Array.from(key), 256),
    ptr(8, `${overrides.host ?? 'c2.example.test'},/jquery.min.js`, 256),
    ptr(9, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 256),
    ptr(10, '/submit.php', 64),
    ptr(11, encodeProgram([[1, 5], [2, 10], [3], [4]]), 256),
    ptr(12, encodeProgram([[10, 'Accept: */*'], [16, 'Host: cdn.example.test'], [9, 'v=1'], [7, 0], [3], [2, 'sid='], [6, 'Cookie']]), 256),
    ptr(13, encodeProgram([[10, 'Content-Type: text/plain'], [7, 0], [8], [5, 'id'], [7, 1], [13], [15], [4]]), 256),
    ptr(14, new Uint8Array(16), 16),
    ptr(15, '\\\\%s\\pipe\\msagent_%x', 128),
    int(19, 0x08080808),
    int(20, 0),
    ptr(26, 'GET', 16),
    ptr(27, 'POST', 16),
    int(28, 0),
    ptr(29, '%windir%\\syswow64\\rundll32.exe', 64),
    ptr(30, '%windir%\\sysnative\\rundll32.exe', 64),
    short(31, 0),
    ptr(32, '', 128),
    short(35, 2),
    ptr(36, 'xi1knfb/QiftN2EAhdtcyw==', 32),
    int(37, overrides.watermark ?? 305419896),
    short(38, 1),
    short(39, 0),
    int(40, 20301231),
    int(41, 0),
    short(43, 0x40),
    short(44, 0x20),
    int(45, 17500),
    ptr(46, concat(u32be(2), Uint8Array.of(0x90, 0x90), u32be(1), Uint8Array.of(0xcc)), 256),
    ptr(47, new Uint8Array(256), 256),
    short(50, 1),
    ptr(51, concat(Uint8Array.of(1, 6), Uint8Array.of(0, 0x42), u32be(5), Buffer.from('ntdll'), u32be(18), Buffer.from('RtlUserThreadStart'), Uint8Array.of(3, 4, 0)), 128),
    short(52, 1),
    ptr(53, Uint8Array.from({ length: 16 }, (_, i) => i + 1), 16),
    ptr(54, '', 128),
    short(55, 0),
    ptr(56, 'SSH-2.0-OpenSSH_8.9', 128),
    ptr(57, concat(Uint8Array.of(0, 4), new Uint8Array(126)), 128),
    ptr(58, concat(Uint8Array.of(0, 4), new Uint8Array(126)), 128),
    ptr(59, 'X-Forwarded-For\r\n', 64),
    ptr(60, 'cdn.', 33),
    ptr(61, 'www6.', 33),
    ptr(62, 'api.', 33),
    ptr(63, 'www.', 33),
    ptr(64, 'post.', 33),
    ptr(65, 'out.', 33),
    ptr(66, '', 15),
    short(67, 2),
    int(68, 0xffffffff),
    int(69, 0xffffffff),
    int(70, 0xffffffff),
    int(71, 0),
    int(72, 0),
    int(73, 0),
  ];
}

export interface GuardrailSpec {
  /** The environmental key (lower-cased computer/user/domain name). */
  readonly key: string;
  /** Guard option the key stands for: 5 user, 6 computer, 7 domain. */
  readonly option?: 5 | 6 | 7;
  /** Write option 9 (payload checksum); default true. */
  readonly checksum?: boolean;
}

export interface BuildBeaconOptions {
  readonly xorKey?: number;
  readonly encoding?: 'raw' | 'sleeve';
  /** Bytes before the nonce of a sleeve (unaligned offsets), or before the PE of a raw beacon. */
  readonly offsetPadding?: number;
  readonly arch?: 'x86' | 'x64';
  readonly guardrails?: GuardrailSpec;
  readonly exportStamp?: number;
  readonly compileStamp?: number;
  readonly magicMz?: string;
  readonly magicPe?: string;
  /** stage.prepend / stage.append bytes around the PE. */
  readonly prepend?: Uint8Array;
  readonly append?: Uint8Array;
  /** Where the config block sits inside .data. */
  readonly configOffsetInData?: number;
  readonly blockSize?: number;
  /** Extra bytes at the end of .data (EICAR for trial builds). */
  readonly dataTrailer?: Uint8Array;
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < block.length; i++) sum = (sum + (block[i] as number) * ((i % 3) + 1)) % 99_999_999;
  return sum;
}

/** The config patch as it sits in .data: XOR'd block, or guardrailed block + guard config. */
export function encodeConfigPatch(settings: readonly SettingSpec[], options: BuildBeaconOptions = {}): Uint8Array {
  const xorKey = options.xorKey ?? 0x2e;
  if (!options.guardrails) {
    const block = encodeSettings(settings, options.blockSize ?? 4096);
    return block.map((b) => b ^ xorKey);
  }
  const plain = encodeSettings(settings, 6144);
  const key = Buffer.from(options.guardrails.key, 'latin1');
  const masked = plain.map((b, i) => b ^ 0x2e ^ (key[i % key.length] as number));
  const guardSettings: SettingSpec[] = [short(options.guardrails.option ?? 6, 1)];
  if (options.guardrails.checksum !== false) guardSettings.push(int(9, checksum(plain) + 1));
  const guard = encodeSettings(guardSettings, 2048);
  const guardFile = guard.map((b, j) => b ^ 0x8a ^ (masked[6143 - j] as number));
  return concat(masked, guardFile);
}

const X86_LOADER = [0xe8, 0x00, 0x00, 0x00, 0x00, 0x5b];
const X64_LOADER = [0x55, 0x48, 0x89, 0xe5, 0x48, 0x81];

/** A minimal PE (DLL) with .text and .data; .data = export directory (stamp) + `data`. Holds no code. */
export function buildPe(data: Uint8Array, options: { arch?: 'x86' | 'x64'; exportStamp?: number; compileStamp?: number; magicMz?: string; magicPe?: string; dll?: boolean } = {}): Uint8Array {
  const arch = options.arch ?? 'x86';
  const x64 = arch === 'x64';
  const dataStart = 0x600;
  const dataRaw = Math.ceil((0x40 + data.length) / 0x200) * 0x200;
  const pe = new Uint8Array(dataStart + dataRaw);
  const view = new DataView(pe.buffer);
  const magicMz = Buffer.from(options.magicMz ?? (x64 ? 'MZAR' : 'MZRE'), 'latin1');
  pe.set(magicMz, 0);
  pe.set(x64 ? X64_LOADER : X86_LOADER, magicMz.length);
  const nt = 0x80;
  view.setUint32(0x3c, nt, true);
  pe.set(Buffer.from(options.magicPe ?? 'PE', 'latin1').subarray(0, 2), nt);
  view.setUint16(nt + 4, x64 ? 0x8664 : 0x14c, true);
  view.setUint16(nt + 6, 2, true);
  view.setUint32(nt + 8, options.compileStamp ?? 0x5fa0b264, true);
  const optionalSize = x64 ? 240 : 224;
  view.setUint16(nt + 20, optionalSize, true);
  view.setUint16(nt + 22, options.dll === false ? 0x0102 : 0x2102, true);
  const opt = nt + 24;
  view.setUint16(opt, x64 ? 0x20b : 0x10b, true);
  view.setUint32(opt + (x64 ? 108 : 92), 16, true);
  const dirs = opt + (x64 ? 112 : 96);
  view.setUint32(dirs, 0x2000, true);
  view.setUint32(dirs + 4, 40, true);
  const sections = opt + optionalSize;
  const section = (i: number, name: string, va: number, raw: number, size: number): void => {
    const s = sections + i * 40;
    pe.set(Buffer.from(name), s);
    view.setUint32(s + 8, size, true);
    view.setUint32(s + 12, va, true);
    view.setUint32(s + 16, size, true);
    view.setUint32(s + 20, raw, true);
  };
  section(0, '.text', 0x1000, 0x400, 0x200);
  section(1, '.data', 0x2000, dataStart, dataRaw);
  pe.fill(0xc3, 0x400, 0x600);
  view.setUint32(dataStart + 4, options.exportStamp ?? 0x5fa0b201, true);
  pe.set(data, dataStart + 0x40);
  return pe;
}

/** XorEncode (ArtifactUtils): `nonce | size ^ nonce | dword feedback XOR`, behind the x86 or x64 decoder stub. */
export function encodeSleeve(stage: Uint8Array, options: { arch?: 'x86' | 'x64'; nonce?: number; offsetPadding?: number } = {}): Uint8Array {
  const padded = new Uint8Array(Math.ceil(stage.length / 4) * 4);
  padded.set(stage);
  const nonce = (options.nonce ?? 0x1a2b3c4d) >>> 0;
  const encoded = new Uint8Array(padded.length);
  const pv = new DataView(padded.buffer);
  const ev = new DataView(encoded.buffer);
  let prev = nonce;
  for (let i = 0; i < padded.length; i += 4) {
    const e = (pv.getUint32(i, true) ^ prev) >>> 0;
    ev.setUint32(i, e, true);
    prev = e;
  }
  const stub =
    options.arch === 'x64'
      ? concat(Uint8Array.of(0xfc, 0x48, 0x83, 0xe4, 0xf0, 0xeb, 0x33, 0x5d, 0x8b, 0x45, 0x00, 0x48, 0x83, 0xc5, 0x04, 0x8b), new Uint8Array(48).fill(0x90), Uint8Array.of(0xe8, 0xc8, 0xff, 0xff, 0xff))
      : concat(Uint8Array.of(0xfc, 0xe8, 7, 0, 0, 0), Uint8Array.of(1, 2, 3, 4, 5, 6, 7), new Uint8Array(40).fill(0x90), Uint8Array.of(0xe8, 0xd4, 0xff, 0xff, 0xff));
  // Extra bytes between the stub and the nonce move the data to any (unaligned) offset.
  const padding = new Uint8Array(options.offsetPadding ?? 0).fill(0x0a);
  return concat(stub, padding, u32le(nonce), u32le((padded.length ^ nonce) >>> 0), encoded);
}

/** A synthetic beacon: PE with the config patch in .data, raw or XorEncoded. */
export function buildBeacon(settings: readonly SettingSpec[], options: BuildBeaconOptions = {}): Uint8Array {
  const patch = encodeConfigPatch(settings, options);
  const data = concat(new Uint8Array(options.configOffsetInData ?? 0x100).fill(0x41), patch, new Uint8Array(64), options.dataTrailer ?? new Uint8Array(0));
  const pe = buildPe(data, options);
  const stage = concat(options.prepend ?? new Uint8Array(0), pe, options.append ?? new Uint8Array(0));
  if (options.encoding === 'sleeve') return encodeSleeve(stage, { arch: options.arch ?? 'x86', offsetPadding: options.offsetPadding ?? 0 });
  return concat(new Uint8Array(options.offsetPadding ?? 0).fill(0x90), stage);
}

/** An ArtifactKit-style executable carrying `payload` XOR'd in .data (hint bytes 4: payload at +16, 8: at +20). */
export function buildArtifactKit(payload: Uint8Array, options: { hintBytes?: 4 | 8; key?: Uint8Array; arch?: 'x86' | 'x64' } = {}): Uint8Array {
  const key = options.key ?? Uint8Array.of(0x13, 0x37, 0xc0, 0xde);
  const hints = new Uint8Array(options.hintBytes ?? 4).fill(0x61);
  const encoded = payload.map((b, i) => b ^ (key[i % 4] as number));
  // The block sits at .data + 0x40 + 0x80; its first dword is its own file offset + 16.
  const blockFileOffset = 0x600 + 0x40 + 0x80;
  const block = concat(u32le(blockFileOffset + 16), u32le(payload.length), key, hints, encoded);
  return buildPe(concat(new Uint8Array(0x80).fill(0x41), block), { arch: options.arch ?? 'x86', dll: false, magicMz: 'MZ' });
}

/** A runtime settings array (x86: 8-byte, x64: 16-byte entries) and the heap its PTR entries point to. */
export function buildRuntimeTable(settings: readonly SettingSpec[], arch: 'x86' | 'x64', heapBase = 0x10000000n): { table: Uint8Array; heap: Map<bigint, Uint8Array> } {
  const size = arch === 'x64' ? 16 : 8;
  const table = new Uint8Array(128 * size);
  const view = new DataView(table.buffer);
  const heap = new Map<bigint, Uint8Array>();
  let next = heapBase;
  for (const s of settings) {
    const at = s.id * size;
    const type = TYPE_CODES[s.type];
    let value: bigint;
    if (s.type === 'ptr') {
      const raw = bytesOf(s.value);
      const bytes = new Uint8Array(s.length ?? raw.length + 1);
      bytes.set(raw.subarray(0, bytes.length));
      heap.set(next, bytes);
      value = next;
      next += 0x1000n;
    } else {
      value = BigInt((s.value as number) >>> 0);
    }
    if (arch === 'x64') {
      view.setBigUint64(at, BigInt(type), true);
      view.setBigUint64(at + 8, value, true);
    } else {
      view.setUint32(at, type, true);
      view.setUint32(at + 4, Number(value), true);
    }
  }
  return { table, heap };
}
