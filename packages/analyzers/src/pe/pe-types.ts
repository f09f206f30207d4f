/**
 * The result of `parsePe`: plain JSON (no bigint, no byte arrays) so it can be stored as the `pe` analyser's result
 * as is. Values that may not fit in a double (64-bit virtual addresses) are hex strings (`0x140000000`); offsets
 * and sizes are numbers. Anything that could not be parsed is `null` or empty, with the reason in `warnings`;
 * `anomalies` lists what parsed fine but looks wrong or suspicious (packer section names, checksum mismatch...).
 */
export interface PeInfo {
  /** `null` when the NT headers could not be read. */
  readonly format: 'pe32' | 'pe32+' | null;
  readonly size: number;
  /** Shannon entropy of the whole file, bits per byte. */
  readonly entropy: number;
  readonly dosHeader: PeDosHeader | null;
  readonly fileHeader: PeFileHeader | null;
  readonly optionalHeader: PeOptionalHeader | null;
  readonly dataDirectories: readonly PeDataDirectory[];
  readonly sections: readonly PeSection[];
  readonly imports: readonly PeImportedDll[];
  readonly delayImports: readonly PeImportedDll[];
  /** pefile-compatible imphash of the (non-delay) imports; `null` without imports. */
  readonly imphash: string | null;
  readonly exports: PeExports | null;
  readonly resources: PeResources | null;
  readonly versionInfo: PeVersionInfo | null;
  readonly richHeader: PeRichHeader | null;
  readonly debug: readonly PeDebugEntry[];
  readonly codeView: PeCodeView | null;
  readonly tls: PeTls | null;
  readonly authenticode: PeAuthenticode | null;
  readonly clr: PeClrHeader | null;
  readonly overlay: PeOverlay | null;
  readonly anomalies: readonly string[];
  readonly warnings: readonly string[];
}

export interface PeDosHeader {
  /** File offset of the `PE\0\0` signature (`e_lfanew`). */
  readonly peHeaderOffset: number;
}

export interface PeFileHeader {
  readonly machine: number;
  /** `AMD64`, `I386`, `ARM64`...; `UNKNOWN(0x1234)` for values outside the table. */
  readonly machineName: string;
  readonly numberOfSections: number;
  /** TimeDateStamp as stored (seconds since 1970, often a reproducible-build hash rather than a date). */
  readonly timestamp: number;
  readonly timestampIso: string;
  readonly pointerToSymbolTable: number;
  readonly numberOfSymbols: number;
  readonly sizeOfOptionalHeader: number;
  readonly characteristics: number;
  /** Names of the set flags, e.g. `EXECUTABLE_IMAGE`, `DLL`. */
  readonly characteristicsFlags: readonly string[];
  readonly isDll: boolean;
}

export interface PeOptionalHeader {
  readonly magic: number;
  readonly linkerVersion: string;
  readonly sizeOfCode: number;
  readonly sizeOfInitializedData: number;
  readonly sizeOfUninitializedData: number;
  readonly addressOfEntryPoint: number;
  /** Name of the section holding the entry point, `null` when it lies in none. */
  readonly entryPointSection: string | null;
  readonly baseOfCode: number;
  readonly imageBase: string;
  readonly sectionAlignment: number;
  readonly fileAlignment: number;
  readonly operatingSystemVersion: string;
  readonly imageVersion: string;
  readonly subsystemVersion: string;
  readonly sizeOfImage: number;
  readonly sizeOfHeaders: number;
  /** CheckSum as stored in the header. */
  readonly checksum: number;
  /** The checksum Windows' CheckSumMappedFile computes over the file. */
  readonly computedChecksum: number;
  readonly subsystem: number;
  readonly subsystemName: string;
  readonly dllCharacteristics: number;
  readonly dllCharacteristicsFlags: readonly string[];
  readonly numberOfRvaAndSizes: number;
}

export interface PeDataDirectory {
  /** `EXPORT`, `IMPORT`, `RESOURCE`, ... `CLR_RUNTIME_HEADER`. */
  readonly name: string;
  readonly virtualAddress: number;
  readonly size: number;
}

export interface PeSection {
  readonly name: string;
  readonly virtualAddress: number;
  readonly virtualSize: number;
  readonly rawOffset: number;
  readonly rawSize: number;
  readonly characteristics: number;
  readonly characteristicsFlags: readonly string[];
  /** `r`, `w`, `x` or `-` for each access right, e.g. `r-x`. */
  readonly permissions: string;
  /**
   * Entropy and md5 of the raw data present in the file (entropy 0 when empty). `null` once the parser's hashing
   * budget (a few times the file size) is spent: hostile files can declare thousands of overlapping sections.
   */
  readonly entropy: number | null;
  readonly md5: string | null;
}

export interface PeImportedFunction {
  /** `null` for an import by ordinal only. */
  readonly name: string | null;
  readonly ordinal: number | null;
  readonly hint: number | null;
}

export interface PeImportedDll {
  readonly dll: string;
  readonly functions: readonly PeImportedFunction[];
}

export interface PeExportedFunction {
  readonly ordinal: number;
  readonly name: string | null;
  readonly rva: number;
  /** `OTHERDLL.Function` when the export forwards to another DLL. */
  readonly forwarder: string | null;
}

export interface PeExports {
  /** The DLL's own name as recorded in the export directory. */
  readonly dllName: string | null;
  readonly timestamp: number;
  readonly ordinalBase: number;
  readonly numberOfFunctions: number;
  readonly numberOfNames: number;
  readonly functions: readonly PeExportedFunction[];
}

export interface PeResourceType {
  /** `VERSION`, `ICON`, `RCDATA`... or the string name / `#<id>` of a custom type. */
  readonly type: string;
  readonly count: number;
  /** LANGIDs seen, e.g. 1033 (0x0409, en-US). */
  readonly languages: readonly number[];
  readonly totalSize: number;
}

export interface PeResources {
  readonly types: readonly PeResourceType[];
  /** Number of data entries (leaves) in the tree. */
  readonly totalEntries: number;
  readonly totalSize: number;
}

export interface PeVersionInfo {
  /** From VS_FIXEDFILEINFO, `a.b.c.d`. */
  readonly fileVersion: string | null;
  readonly productVersion: string | null;
  /** The StringFileInfo table: CompanyName, ProductName, OriginalFilename, FileVersion, InternalName... */
  readonly strings: Readonly<Record<string, string>>;
  /** Language and code page of the first string table, e.g. `040904B0`. */
  readonly translation: string | null;
}

export interface PeRichEntry {
  /** `(productId << 16) | build`, the "comp id". */
  readonly compId: number;
  readonly productId: number;
  readonly build: number;
  readonly count: number;
}

export interface PeRichHeader {
  readonly offset: number;
  readonly key: number;
  readonly entries: readonly PeRichEntry[];
  /** The key equals the checksum computed over the DOS header and entries (false hints at tampering). */
  readonly checksumValid: boolean;
  /** md5 of the decoded bytes from `DanS` up to `Rich`, as pefile's get_rich_header_hash computes it. */
  readonly richHash: string;
}

export interface PeDebugEntry {
  readonly type: number;
  /** `CODEVIEW`, `POGO`, `REPRO`... */
  readonly typeName: string;
  readonly timestamp: number;
  readonly size: number;
  readonly rawOffset: number;
}

export interface PeCodeView {
  readonly signature: 'RSDS' | 'NB10';
  readonly pdbPath: string;
  /** RSDS GUID as `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`; for NB10, the 32-bit signature in hex. */
  readonly guid: string;
  readonly age: number;
}

export interface PeTls {
  readonly callbackCount: number;
  /** Virtual addresses of the callbacks (hex), at most 64. */
  readonly callbacks: readonly string[];
}

export interface PeAuthenticode {
  /** The security directory holds a file offset, not an RVA. */
  readonly offset: number;
  readonly size: number;
  readonly withinFile: boolean;
  /** WIN_CERTIFICATE wCertificateType (2 = PKCS#7 SignedData), `null` when unreadable. */
  readonly certificateType: number | null;
}

export interface PeClrHeader {
  /** COR20 header runtime version, e.g. `2.5`. */
  readonly headerVersion: string;
  /** Metadata root version string, e.g. `v4.0.30319`. */
  readonly runtimeVersion: string | null;
  readonly flags: number;
  readonly flagNames: readonly string[];
  readonly entryPointToken: number;
}

export interface PeOverlay {
  readonly offset: number;
  readonly size: number;
  readonly entropy: number;
  /** The overlay is exactly the Authenticode signature (normal for signed files). */
  readonly isSignatureOnly: boolean;
}
