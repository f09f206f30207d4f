import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPe } from '../../test/builders/build-pe.js';
import { parsePe } from './parse-pe.js';

/**
 * Parity with pefile (Debian python3-pefile), the reference for imphash and rich hash: the same fields from
 * built PEs and from whatever benign PE files this machine has (Python's launcher stubs, EFI binaries).
 * Skips without pefile, except under CI where .ci/run installs it.
 */

const PEFILE_DUMP = String.raw`
import json, sys, pefile
out = []
for path in sys.argv[1:]:
    pe = pefile.PE(path)
    name = lambda b: b.decode('latin1') if b is not None else None
    r = {'path': path}
    r['imphash'] = pe.get_imphash() or None
    r['richHash'] = pe.get_rich_header_hash() if pe.RICH_HEADER else None
    r['richKey'] = int.from_bytes(pe.RICH_HEADER.key, 'little') if pe.RICH_HEADER else None
    r['checksum'] = pe.OPTIONAL_HEADER.CheckSum
    r['computedChecksum'] = pe.generate_checksum()
    r['entryPoint'] = pe.OPTIONAL_HEADER.AddressOfEntryPoint
    r['imageBase'] = hex(pe.OPTIONAL_HEADER.ImageBase)
    r['timestamp'] = pe.FILE_HEADER.TimeDateStamp
    r['machine'] = pe.FILE_HEADER.Machine
    r['subsystem'] = pe.OPTIONAL_HEADER.Subsystem
    r['sections'] = [[s.Name.rstrip(b'\0').decode('latin1'), s.VirtualAddress, s.Misc_VirtualSize, s.PointerToRawData, s.SizeOfRawData, s.get_entropy()] for s in pe.sections]
    r['imports'] = [[name(e.dll), [name(i.name) if i.name else i.ordinal for i in e.imports]] for e in getattr(pe, 'DIRECTORY_ENTRY_IMPORT', [])]
    r['delayImports'] = [[name(e.dll), [name(i.name) if i.name else i.ordinal for i in e.imports]] for e in getattr(pe, 'DIRECTORY_ENTRY_DELAY_IMPORT', [])]
    ex = getattr(pe, 'DIRECTORY_ENTRY_EXPORT', None)
    r['exports'] = sorted([[s.ordinal, name(s.name), name(s.forwarder)] for s in ex.symbols]) if ex else []
    r['overlayOffset'] = pe.get_overlay_data_start_offset()
    strings = {}
    for fi in getattr(pe, 'FileInfo', []) or []:
        for entry in fi:
            for st in getattr(entry, 'StringTable', []) or []:
                for k, v in st.entries.items():
                    strings.setdefault(k.decode('utf-8', 'replace'), v.decode('utf-8', 'replace'))
    r['versionStrings'] = strings
    r['pdbPath'] = None
    for d in getattr(pe, 'DIRECTORY_ENTRY_DEBUG', []):
        if d.entry is not None and hasattr(d.entry, 'PdbFileName'):
            r['pdbPath'] = d.entry.PdbFileName.rstrip(b'\0').decode('utf-8', 'replace')
            break
    out.append(r)
print(json.dumps(out))
`;

function findPefilePython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'import pefile'], { stdio: 'ignore', timeout: 10_000 });
      return python;
    } catch {
      // not this interpreter
    }
  }
  return null;
}

/** A bounded look at a few well-known places for benign PE files; never a whole-disk scan. */
function findRealPeFiles(limit: number): string[] {
  const roots = [
    '/usr/lib/python3/dist-packages/pip/_vendor/distlib',
    '/usr/lib/python3/dist-packages/setuptools',
    '/usr/lib/shim',
    '/usr/lib/grub/x86_64-efi/monolithic',
  ];
  const pyenv = '/root/.pyenv/versions';
  try {
    for (const version of readdirSync(pyenv)) {
      const lib = join(pyenv, version, 'lib');
      for (const python of existsSync(lib) ? readdirSync(lib) : []) {
        roots.push(
          join(lib, python, 'site-packages/pip/_vendor/distlib'),
          join(lib, python, 'site-packages/setuptools'),
          join(lib, python, 'distutils/command'),
        );
      }
    }
  } catch {
    // no pyenv here
  }
  const found: string[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const file of readdirSync(root)) {
      if (!/\.(exe|dll|efi)$/i.test(file)) continue;
      const path = join(root, file);
      if (statSync(path).size < 5 * 1024 * 1024) found.push(path);
      if (found.length >= limit) return found;
    }
  }
  return found;
}

const python = findPefilePython();
const reason = 'pefile (python3-pefile) is not installed';
if (python === null && process.env.CI === 'true') throw new Error(`${reason}; .ci/run must install it`);
const workDir = mkdtempSync(join(tmpdir(), 'malpipe-pefile-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface PefileDump {
  readonly path: string;
  readonly [field: string]: unknown;
}

function compare(path: string, reference: PefileDump): void {
  const info = parsePe(readFileSync(path));
  const mine: Record<string, unknown> = {
    imphash: info.imphash,
    richHash: info.richHeader?.richHash ?? null,
    richKey: info.richHeader?.key ?? null,
    checksum: info.optionalHeader?.checksum,
    computedChecksum: info.optionalHeader?.computedChecksum,
    entryPoint: info.optionalHeader?.addressOfEntryPoint,
    imageBase: info.optionalHeader?.imageBase,
    timestamp: info.fileHeader?.timestamp,
    machine: info.fileHeader?.machine,
    subsystem: info.optionalHeader?.subsystem,
    imports: info.imports.map((d) => [d.dll, d.functions.map((f) => f.name ?? f.ordinal)]),
    delayImports: info.delayImports.map((d) => [d.dll, d.functions.map((f) => f.name ?? f.ordinal)]),
    exports: (info.exports?.functions ?? [])
      .map((f) => [f.ordinal, f.name, f.forwarder])
      .sort((a, b) => Number(a[0]) - Number(b[0])),
    overlayOffset: info.overlay?.offset ?? null,
    versionStrings: info.versionInfo?.strings ?? {},
    pdbPath: info.codeView?.pdbPath ?? null,
  };
  // pefile resolves ws2_32/oleaut32 ordinals to names in its import list; compare on that basis.
  const referenceImports = reference.imports as [string, (string | number)[]][];
  const myImports = mine.imports as [string, (string | number)[]][];
  myImports.forEach(([dll, functions], i) => {
    functions.forEach((fn, j) => {
      const theirs = referenceImports[i]?.[1][j];
      if (
        typeof fn === 'number' &&
        typeof theirs === 'string' &&
        /^(ws2_32|wsock32|oleaut32)\.dll$/i.test(dll)
      )
        functions[j] = theirs;
    });
  });
  for (const [field, value] of Object.entries(mine))
    expect(value, `${path}: ${field}`).toEqual(reference[field]);
  const sections = reference.sections as [string, number, number, number, number, number][];
  expect(
    info.sections.map((s) => [s.name, s.virtualAddress, s.virtualSize, s.rawOffset, s.rawSize]),
    `${path}: sections`,
  ).toEqual(sections.map((s) => s.slice(0, 5)));
  info.sections.forEach((s, i) =>
    expect(s.entropy, `${path}: entropy of ${s.name}`).toBeCloseTo(sections[i]![5], 3),
  );
}

describe.skipIf(python === null)(
  `parsePe matches pefile${python === null ? ` (skipped: ${reason})` : ''}`,
  () => {
    const dump = (paths: readonly string[]): PefileDump[] =>
      JSON.parse(
        execFileSync(python!, ['-c', PEFILE_DUMP, ...paths], {
          encoding: 'utf8',
          timeout: 60_000,
          maxBuffer: 64 * 1024 * 1024,
        }),
      ) as PefileDump[];

    it('on built PE32 and PE32+ files with imports, exports, resources, Rich header and debug info', () => {
      const variants = [
        buildPe(),
        buildPe({
          imports: [
            { dll: 'KERNEL32.dll', functions: ['ExitProcess', 'LoadLibraryA', 'GetProcAddress'] },
            { dll: 'WSOCK32.dll', functions: [3, 4, 115] },
            { dll: 'OLEAUT32.dll', functions: [2, 6, 9999] },
            { dll: 'private.dll', functions: [17] },
          ],
          richHeader: {
            entries: [
              { productId: 0x5d, build: 0x1c83, count: 4 },
              { productId: 0x93, build: 0x7809, count: 30 },
            ],
          },
          versionInfo: { strings: { CompanyName: 'ACME', OriginalFilename: 'a.exe', ProductName: 'Äpfel' } },
          codeView: { pdbPath: 'D:\\a\\b\\a.pdb' },
          overlay: new Uint8Array(777).fill(0x41),
        }),
        buildPe({
          format: 'pe32+',
          dll: true,
          imports: [
            { dll: 'ntdll.dll', functions: ['NtClose', 12] },
            { dll: 'drv.sys', functions: ['X'] },
          ],
          delayImports: [{ dll: 'USER32.dll', functions: ['MessageBoxA'] }],
          exports: {
            dllName: 'x.dll',
            functions: [{ name: 'B' }, { name: 'A', forwarder: 'K.F' }, { rva: 0x1000 }],
          },
          richHeader: { entries: [{ productId: 0x104, build: 30795, count: 1 }], corruptChecksum: true },
          tlsCallbacks: [0x1000],
          certificate: new Uint8Array(100),
          checksum: 0xdeadbeef,
        }),
      ];
      const paths = variants.map((bytes, i) => {
        const path = join(workDir, `built-${i}.exe`);
        writeFileSync(path, bytes);
        return path;
      });
      const references = dump(paths);
      references.forEach((reference, i) => compare(paths[i]!, reference));
      expect((references[1] as PefileDump).imphash).toMatch(/^[0-9a-f]{32}$/);
    });

    const realFiles = findRealPeFiles(12);
    it.skipIf(realFiles.length === 0)(`on ${realFiles.length} benign PE files found on this machine`, () => {
      const references = dump(realFiles);
      references.forEach((reference, i) => compare(realFiles[i]!, reference));
    });
  },
);
