import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SECTION_CODE, SECTION_DATA, buildPe } from '../../test/builders/build-pe.js';
import { computeImphash } from './parse-pe-imports.js';
import { parsePe } from './parse-pe.js';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

describe(parsePe.name, () => {
  it('reads the headers of a minimal PE32 EXE', () => {
    const info = parsePe(buildPe({ timestamp: 0x5f5e1000 }));
    expect(info.warnings).toEqual([]);
    expect(info.format).toBe('pe32');
    expect(info.dosHeader?.peHeaderOffset).toBe(0x80);
    expect(info.fileHeader).toMatchObject({
      machine: 0x14c,
      machineName: 'I386',
      numberOfSections: 1,
      timestamp: 0x5f5e1000,
      timestampIso: '2020-09-13T12:26:40.000Z',
      sizeOfOptionalHeader: 224,
      isDll: false,
      characteristicsFlags: ['EXECUTABLE_IMAGE', '32BIT_MACHINE'],
    });
    expect(info.optionalHeader).toMatchObject({
      magic: 0x10b,
      addressOfEntryPoint: 0x1000,
      entryPointSection: '.text',
      imageBase: '0x400000',
      sectionAlignment: 0x1000,
      fileAlignment: 0x200,
      sizeOfHeaders: 0x200,
      sizeOfImage: 0x2000,
      subsystem: 2,
      subsystemName: 'WINDOWS_GUI',
      dllCharacteristicsFlags: ['DYNAMIC_BASE', 'NX_COMPAT', 'TERMINAL_SERVER_AWARE'],
      numberOfRvaAndSizes: 16,
    });
    expect(info.optionalHeader?.checksum).toBe(info.optionalHeader?.computedChecksum);
    expect(info.dataDirectories.map((d) => d.name)).toHaveLength(16);
    expect(info.sections).toEqual([
      expect.objectContaining({
        name: '.text',
        virtualAddress: 0x1000,
        virtualSize: 1,
        rawOffset: 0x200,
        rawSize: 0x200,
        permissions: 'r-x',
        characteristicsFlags: ['CNT_CODE', 'MEM_EXECUTE', 'MEM_READ'],
      }),
    ]);
    expect(info.imports).toEqual([]);
    expect(info.imphash).toBeNull();
    expect(info.richHeader).toBeNull();
    expect(info.overlay).toBeNull();
    expect(info.anomalies).toEqual(['no import directory']);
  });

  it('reads a PE32+ DLL with every directory the builder can write', () => {
    const text = new Uint8Array(0x300).map((_, i) => (i * 7) & 0xff);
    const bytes = buildPe({
      format: 'pe32+',
      dll: true,
      sections: [
        { name: '.text', data: text, characteristics: SECTION_CODE },
        { name: '.data', data: new Uint8Array(16), characteristics: SECTION_DATA, virtualSize: 0x2000 },
      ],
      imports: [
        { dll: 'KERNEL32.dll', functions: ['ExitProcess', 'GetProcAddress'] },
        { dll: 'WS2_32.dll', functions: [23, 'WSAStartup'] },
        { dll: 'OLEAUT32.dll', functions: [2] },
        { dll: 'custom.ocx', functions: [7] },
      ],
      delayImports: [{ dll: 'USER32.dll', functions: ['MessageBoxW', 5] }],
      exports: {
        dllName: 'demo.dll',
        ordinalBase: 10,
        functions: [
          { name: 'Run', rva: 0x1010 },
          { name: 'Fwd', forwarder: 'NTDLL.RtlExitUserThread' },
          { rva: 0x1020 },
        ],
      },
      richHeader: {
        entries: [
          { productId: 0x104, build: 30795, count: 12 },
          { productId: 0x101, build: 30795, count: 3 },
        ],
      },
      versionInfo: {
        strings: {
          CompanyName: 'ACME Corp',
          ProductName: 'Demo',
          OriginalFilename: 'demo.dll',
          FileVersion: '1.2.3.4',
        },
        fileVersion: [1, 2, 3, 4],
        productVersion: [5, 6, 7, 8],
      },
      resources: [
        { type: 10, name: 101, language: 0x409, data: new Uint8Array(100) },
        { type: 10, name: 102, language: 0x407, data: new Uint8Array(50) },
        { type: 'CONFIG', name: 1, language: 0, data: new Uint8Array(8) },
      ],
      codeView: {
        pdbPath: 'C:\\build\\demo.pdb',
        age: 3,
        guid: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
      },
      tlsCallbacks: [0x1000, 0x1008],
      overlay: new Uint8Array([1, 2, 3, 4]),
      certificate: new Uint8Array(21),
      timestamp: 1_700_000_000,
    });
    const info = parsePe(bytes);
    expect(info.warnings).toEqual([]);
    expect(info.format).toBe('pe32+');
    expect(info.fileHeader).toMatchObject({
      machineName: 'AMD64',
      isDll: true,
      numberOfSections: 4,
      timestampIso: '2023-11-14T22:13:20.000Z',
    });
    expect(info.fileHeader?.characteristicsFlags).toContain('DLL');
    expect(info.optionalHeader).toMatchObject({
      magic: 0x20b,
      imageBase: '0x180000000',
      entryPointSection: '.text',
    });
    expect(info.sections.map((s) => s.name)).toEqual(['.text', '.data', '.rdata', '.rsrc']);
    expect(info.sections[1]).toMatchObject({
      virtualAddress: 0x2000,
      virtualSize: 0x2000,
      permissions: 'rw-',
    });
    expect(info.sections[0]!.md5).toBe(
      createHash('md5')
        .update(Buffer.concat([text, new Uint8Array(0x100)]))
        .digest('hex'),
    );
    expect(info.sections[0]!.entropy).toBeGreaterThan(6);

    expect(info.imports).toEqual([
      {
        dll: 'KERNEL32.dll',
        functions: [
          { name: 'ExitProcess', ordinal: null, hint: 0 },
          { name: 'GetProcAddress', ordinal: null, hint: 0 },
        ],
      },
      {
        dll: 'WS2_32.dll',
        functions: [
          { name: null, ordinal: 23, hint: null },
          { name: 'WSAStartup', ordinal: null, hint: 0 },
        ],
      },
      { dll: 'OLEAUT32.dll', functions: [{ name: null, ordinal: 2, hint: null }] },
      { dll: 'custom.ocx', functions: [{ name: null, ordinal: 7, hint: null }] },
    ]);
    // pefile's rules: extension stripped, ws2_32 #23 = socket, oleaut32 #2 = SysAllocString, else ord<N>.
    expect(info.imphash).toBe(
      md5(
        'kernel32.exitprocess,kernel32.getprocaddress,ws2_32.socket,ws2_32.wsastartup,oleaut32.sysallocstring,custom.ord7',
      ),
    );
    expect(info.delayImports).toEqual([
      {
        dll: 'USER32.dll',
        functions: [
          { name: 'MessageBoxW', ordinal: null, hint: 0 },
          { name: null, ordinal: 5, hint: null },
        ],
      },
    ]);

    expect(info.exports).toMatchObject({
      dllName: 'demo.dll',
      ordinalBase: 10,
      numberOfFunctions: 3,
      numberOfNames: 2,
      timestamp: 1_700_000_000,
    });
    expect(info.exports?.functions).toEqual([
      { ordinal: 10, name: 'Run', rva: 0x1010, forwarder: null },
      { ordinal: 11, name: 'Fwd', rva: expect.any(Number), forwarder: 'NTDLL.RtlExitUserThread' },
      { ordinal: 12, name: null, rva: 0x1020, forwarder: null },
    ]);

    expect(info.resources?.totalEntries).toBe(4);
    expect(info.resources?.types).toEqual([
      { type: 'CONFIG', count: 1, languages: [0], totalSize: 8 },
      { type: 'RCDATA', count: 2, languages: [0x407, 0x409], totalSize: 150 },
      { type: 'VERSION', count: 1, languages: [0x409], totalSize: expect.any(Number) },
    ]);
    expect(info.versionInfo).toEqual({
      fileVersion: '1.2.3.4',
      productVersion: '5.6.7.8',
      translation: '040904B0',
      strings: {
        CompanyName: 'ACME Corp',
        ProductName: 'Demo',
        OriginalFilename: 'demo.dll',
        FileVersion: '1.2.3.4',
      },
    });

    expect(info.richHeader?.entries).toEqual([
      { compId: (0x104 << 16) | 30795, productId: 0x104, build: 30795, count: 12 },
      { compId: (0x101 << 16) | 30795, productId: 0x101, build: 30795, count: 3 },
    ]);
    expect(info.richHeader).toMatchObject({ offset: 0x80, checksumValid: true });
    expect(info.richHeader?.richHash).toMatch(/^[0-9a-f]{32}$/);

    expect(info.debug).toEqual([
      expect.objectContaining({ type: 2, typeName: 'CODEVIEW', timestamp: 1_700_000_000 }),
    ]);
    expect(info.codeView).toEqual({
      signature: 'RSDS',
      pdbPath: 'C:\\build\\demo.pdb',
      age: 3,
      guid: 'A3A2A1A0-A5A4-A7A6-A8A9-AAABACADAEAF',
    });
    expect(info.tls).toEqual({ callbackCount: 2, callbacks: ['0x180001000', '0x180001008'] });

    const certificateOffset = bytes.length - 32;
    expect(info.authenticode).toEqual({
      offset: certificateOffset,
      size: 32,
      withinFile: true,
      certificateType: 2,
    });
    expect(info.overlay).toMatchObject({ size: bytes.length - info.overlay!.offset, isSignatureOnly: false });
    expect(info.overlay!.offset).toBeLessThan(certificateOffset);
    expect(info.clr).toBeNull();
    expect(info.optionalHeader?.checksum).toBe(info.optionalHeader?.computedChecksum);
    expect(info.anomalies).toEqual([]);
  });

  it('reads the .NET CLR header and metadata version', () => {
    const info = parsePe(
      buildPe({
        clr: { runtimeVersion: 'v4.0.30319', flags: 0x9 },
        imports: [{ dll: 'mscoree.dll', functions: ['_CorExeMain'] }],
      }),
    );
    expect(info.clr).toEqual({
      headerVersion: '2.5',
      runtimeVersion: 'v4.0.30319',
      flags: 0x9,
      flagNames: ['ILONLY', 'STRONGNAMESIGNED'],
      entryPointToken: 0x06000001,
    });
    expect(info.imphash).toBe(md5('mscoree._corexemain'));
  });

  it('flags a signature-only overlay, a bad checksum, a bad Rich key and packer sections', () => {
    const signed = parsePe(buildPe({ certificate: new Uint8Array(40) }));
    expect(signed.overlay?.isSignatureOnly).toBe(true);

    const info = parsePe(
      buildPe({
        checksum: 0x1234,
        richHeader: { entries: [{ productId: 1, build: 2, count: 3 }], corruptChecksum: true },
        sections: [
          { name: 'UPX0', data: new Uint8Array(0), virtualSize: 0x1000, characteristics: 0xe0000080 },
          {
            name: 'UPX1',
            data: new Uint8Array(0x800).map(() => Math.floor(Math.random() * 256)),
            characteristics: 0xe0000040,
          },
        ],
        entryPoint: 0x9000,
      }),
    );
    expect(info.richHeader?.checksumValid).toBe(false);
    expect(info.anomalies).toEqual(
      expect.arrayContaining([
        'Rich header checksum does not match its key (edited header?)',
        'section name UPX0 suggests UPX',
        'section UPX1 is writable and executable',
        'entry point 0x9000 lies outside every section',
        expect.stringMatching(/^header checksum 0x1234 does not match the computed 0x[0-9a-f]+$/),
        expect.stringMatching(/^section UPX1 has high entropy/),
      ]),
    );
    expect(info.optionalHeader?.entryPointSection).toBeNull();
  });

  it('gives the same result for a view at an odd offset of a larger buffer', () => {
    const bytes = buildPe({
      imports: [{ dll: 'a.dll', functions: ['f'] }],
      versionInfo: { strings: { A: 'b' } },
      codeView: { pdbPath: 'p' },
    });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(parsePe(shifted.subarray(3))).toEqual(parsePe(bytes));
  });

  it('computes the imphash exactly as pefile specifies', () => {
    expect(computeImphash([])).toBeNull();
    expect(
      computeImphash([
        { dll: 'WSOCK32.DLL', functions: [{ name: null, ordinal: 3, hint: null }] },
        {
          dll: 'a.sys',
          functions: [
            { name: 'Fn', ordinal: null, hint: 1 },
            { name: 'bad name', ordinal: null, hint: 1 },
          ],
        },
        { dll: 'lib.so', functions: [{ name: 'X', ordinal: null, hint: null }] },
        { dll: '', functions: [{ name: 'Y', ordinal: null, hint: null }] },
      ]),
    ).toBe(md5('wsock32.closesocket,a.fn,lib.so.x'));
  });
});
