/**
 * Synthetic Cobalt Strike stagers with the documented field layout (1768.py AnalyzeShellcode, CAPE
 * CobaltStrikeStager): only the anchors and fields are real; the code between them is NOP filler, so nothing
 * here is executable shellcode.
 */
import { concat, u32be, u32le } from './build-beacon.js';

export interface StagerSpec {
  readonly kind: 'http' | 'https' | 'dns' | 'smb';
  readonly arch?: 'x86' | 'x64';
  readonly host?: string;
  readonly port?: number;
  readonly uri?: string;
  readonly headers?: readonly string[];
  readonly watermark?: number | null;
  readonly pipeName?: string;
  readonly domain?: string;
}

const nops = (n: number): Uint8Array => new Uint8Array(n).fill(0x90);
const text = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

function fixed(s: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(text(s).subarray(0, size - 1));
  return out;
}

function prologue(arch: 'x86' | 'x64'): Uint8Array {
  // x86 block_api call / x64 `cld; and rsp, -16; call`.
  return arch === 'x64' ? Uint8Array.of(0xfc, 0x48, 0x83, 0xe4, 0xf0, 0xe8, 0xc8, 0x00, 0x00, 0x00) : Uint8Array.of(0xfc, 0xe8, 0x89, 0x00, 0x00, 0x00);
}

function watermark(w: number | null | undefined): Uint8Array {
  return w === null ? new Uint8Array(0) : u32be(w ?? 305419896);
}

export function buildStager(spec: StagerSpec): Uint8Array {
  const arch = spec.arch ?? 'x86';
  switch (spec.kind) {
    case 'http':
    case 'https': {
      const flags = spec.kind === 'https' ? 0x84a03200 : 0x84600200;
      const wininet = arch === 'x64' ? concat(Uint8Array.of(0x49, 0xbe), text('wininet\0')) : Uint8Array.of(0x68, 0x6e, 0x65, 0x74, 0x00, 0x68, 0x77, 0x69, 0x6e, 0x69);
      const port = arch === 'x64' ? concat(Uint8Array.of(0x4d, 0x31, 0xc9, 0x41, 0xb8), u32le(spec.port ?? 443)) : concat(Uint8Array.of(0x51, 0x51, 0x68), u32le(spec.port ?? 443));
      const headers = (spec.headers ?? ['User-Agent: Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)']).map((h) => `${h}\r\n`).join('');
      return concat(
        prologue(arch),
        nops(0x89),
        wininet,
        nops(24),
        port,
        Uint8Array.of(0x53, 0x50, 0x68, 0x57, 0x89, 0x9f, 0xc6, 0xff, 0xd5),
        nops(6),
        Uint8Array.of(0x68),
        u32le(flags),
        Uint8Array.of(0x52, 0x52, 0x52, 0x53, 0x52, 0x50, 0x68, 0xeb, 0x55, 0x2e, 0x3b, 0xff, 0xd5),
        nops(60),
        Uint8Array.of(0xe8, 0x5e, 0xff, 0xff, 0xff),
        fixed(spec.uri ?? '/Yle2', 80),
        fixed(headers, 304),
        nops(80),
        Uint8Array.of(0xe8, 0x2c, 0xfd, 0xff, 0xff),
        text(spec.host ?? '192.0.2.10'),
        Uint8Array.of(0),
        watermark(spec.watermark),
      );
    }
    case 'dns': {
      const domain = new Uint8Array(63);
      domain.set(text(spec.domain ?? 'stage.example.test').subarray(0, 62));
      return concat(
        prologue(arch),
        nops(0x89),
        Uint8Array.of(0x68, 0x69, 0x50, 0x68, 0x64, 0x6e),
        nops(120),
        Uint8Array.of(0xe8, 0x40, 0xff, 0xff, 0xff, 0x00),
        domain,
        nops(100),
        Uint8Array.of(0x89, 0xd7, 0x81, 0xc7, 0x10, 0x00, 0x00, 0x00, 0xff, 0xe7),
        watermark(spec.watermark),
      );
    }
    case 'smb':
      return concat(
        prologue(arch),
        nops(0x89),
        Uint8Array.of(0x68, 0x00, 0xb0, 0x04, 0x00, 0x68, 0x00, 0xb0, 0x04, 0x00, 0x6a, 0x01, 0x6a, 0x06, 0x6a, 0x03, 0x52, 0x68, 0x45, 0x70, 0xdf, 0xd4),
        nops(130),
        Uint8Array.of(0xe8, 0x60, 0xff, 0xff, 0xff),
        text(spec.pipeName ?? '\\\\.\\pipe\\status_42'),
        Uint8Array.of(0),
        watermark(spec.watermark),
      );
  }
}
