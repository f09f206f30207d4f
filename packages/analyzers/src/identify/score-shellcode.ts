/**
 * Conservative evidence that a blob of bytes is raw x86/x64 shellcode. Each rule is a well-known stager
 * idiom; a blob is flagged only when strong evidence adds up, so text and random data stay unflagged
 * (see the tests, which run thousands of random buffers).
 */
export interface ShellcodeScore {
  readonly score: number;
  /** Rule names that matched, e.g. `x86-block-api-prologue`. */
  readonly reasons: readonly string[];
  /** Offset where the code starts after a NOP sled (0 without one). */
  readonly start: number;
}

/** Score at or above which `identifyFile` calls a blob shellcode. */
export const SHELLCODE_THRESHOLD = 3;

const MAX_SLED = 4096;
const PEB_WINDOW = 4096;
const HASH_WINDOW = 64 * 1024;

// ROR-13 API hashes pushed by Metasploit/Cobalt Strike block_api stagers (`push imm32`).
const API_HASHES: readonly number[] = [
  0x0726774c, // kernel32!LoadLibraryA
  0xe553a458, // kernel32!VirtualAlloc
  0x56a2b5f0, // kernel32!ExitProcess
  0x876f8b31, // kernel32!WinExec
  0x006b8029, // ws2_32!WSAStartup
  0xe0df0fea, // ws2_32!WSASocketA
  0x6174a599, // ws2_32!connect
  0xa779563a, // wininet!InternetOpenA
  0xc69f8957, // wininet!InternetConnectA
  0x3b2e55eb, // wininet!HttpOpenRequestA
  0x7b18062d, // wininet!HttpSendRequestA
  0xe2899612, // wininet!InternetReadFile
];

function at(bytes: Uint8Array, offset: number, pattern: readonly (number | null)[]): boolean {
  if (offset + pattern.length > bytes.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i];
    if (expected !== null && expected !== undefined && bytes[offset + i] !== expected) return false;
  }
  return true;
}

function find(bytes: Uint8Array, limit: number, pattern: readonly (number | null)[]): boolean {
  const end = Math.min(bytes.length, limit) - pattern.length;
  for (let i = 0; i <= end; i++) if (at(bytes, i, pattern)) return true;
  return false;
}

export function scoreShellcode(bytes: Uint8Array): ShellcodeScore {
  const reasons: string[] = [];
  let score = 0;
  let start = 0;
  while (start < Math.min(bytes.length, MAX_SLED) && bytes[start] === 0x90) start++;
  if (start >= 16) reasons.push('nop-sled');

  // cld; call $+N (N < 256): Metasploit / Cobalt Strike x86 block_api stagers.
  if (at(bytes, start, [0xfc, 0xe8, null, 0x00, 0x00, 0x00])) {
    score += 3;
    reasons.push('x86-block-api-prologue');
  }
  // cld; and rsp, -16: the x64 equivalent.
  if (at(bytes, start, [0xfc, 0x48, 0x83, 0xe4, 0xf0])) {
    score += 3;
    reasons.push('x64-block-api-prologue');
  }
  // call $+5; pop reg: GetPC.
  if (at(bytes, start, [0xe8, 0x00, 0x00, 0x00, 0x00])) {
    const next = bytes[start + 5] ?? 0;
    if (next >= 0x58 && next <= 0x5f) {
      score += 3;
      reasons.push('getpc-call-pop');
    } else {
      score += 1;
      reasons.push('call-next');
    }
  }
  // fldz / fnstenv [esp-0xc]: FPU GetPC used by shikata_ga_nai and similar encoders.
  if (find(bytes, start + 64, [0xd9, 0x74, 0x24, 0xf4])) {
    score += 2;
    reasons.push('fpu-getpc');
  }
  // jmp short forward then call back (jmp-call-pop).
  const jump = bytes[start + 1] ?? 0;
  if (bytes[start] === 0xeb && jump < 0x80) {
    const target = start + 2 + jump;
    if (at(bytes, target, [0xe8]) && (bytes[target + 4] ?? 0) === 0xff && (bytes[target + 3] ?? 0) === 0xff) {
      score += 2;
      reasons.push('jmp-call-pop');
    }
  }
  // PEB access: mov eax, fs:[0x30] / mov reg, fs:[reg+0x30] / mov rax, gs:[0x60].
  if (
    find(bytes, start + PEB_WINDOW, [0x64, 0xa1, 0x30, 0x00, 0x00, 0x00]) ||
    find(bytes, start + PEB_WINDOW, [0x64, 0x8b, null, 0x30]) ||
    find(bytes, start + PEB_WINDOW, [0x65, 0x48, 0x8b, null, 0x25, 0x60, 0x00, 0x00, 0x00]) ||
    find(bytes, start + PEB_WINDOW, [0x65, 0x48, 0x8b, null, 0x60])
  ) {
    score += 2;
    reasons.push('peb-access');
  }
  let hashes = 0;
  const window = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, start + HASH_WINDOW));
  for (const hash of API_HASHES) {
    const imm = [hash & 0xff, (hash >>> 8) & 0xff, (hash >>> 16) & 0xff, hash >>> 24];
    // x86 pushes the hash (68 imm32); x64 loads it with mov r10d, imm32 (41 BA imm32).
    if (window.includes(Buffer.from([0x68, ...imm])) || window.includes(Buffer.from([0x41, 0xba, ...imm]))) hashes++;
  }
  if (hashes > 0) {
    score += Math.min(hashes, 3);
    reasons.push(`api-hashes:${hashes}`);
  }
  return { score, reasons, start };
}
