/** Name tables for PE header fields (values from the Microsoft PE/COFF specification). */

export const MACHINE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0, 'UNKNOWN'],
  [0x14c, 'I386'],
  [0x162, 'R3000'],
  [0x166, 'R4000'],
  [0x168, 'R10000'],
  [0x169, 'WCEMIPSV2'],
  [0x184, 'ALPHA'],
  [0x1a2, 'SH3'],
  [0x1a6, 'SH4'],
  [0x1a8, 'SH5'],
  [0x1c0, 'ARM'],
  [0x1c2, 'THUMB'],
  [0x1c4, 'ARMNT'],
  [0x1d3, 'AM33'],
  [0x1f0, 'POWERPC'],
  [0x1f1, 'POWERPCFP'],
  [0x200, 'IA64'],
  [0x266, 'MIPS16'],
  [0x284, 'ALPHA64'],
  [0x366, 'MIPSFPU'],
  [0x466, 'MIPSFPU16'],
  [0xebc, 'EBC'],
  [0x5032, 'RISCV32'],
  [0x5064, 'RISCV64'],
  [0x5128, 'RISCV128'],
  [0x6232, 'LOONGARCH32'],
  [0x6264, 'LOONGARCH64'],
  [0x8664, 'AMD64'],
  [0x9041, 'M32R'],
  [0xa641, 'ARM64EC'],
  [0xa64e, 'ARM64X'],
  [0xaa64, 'ARM64'],
]);

export type FlagTable = readonly (readonly [number, string])[];

export const FILE_CHARACTERISTICS: FlagTable = [
  [0x0001, 'RELOCS_STRIPPED'],
  [0x0002, 'EXECUTABLE_IMAGE'],
  [0x0004, 'LINE_NUMS_STRIPPED'],
  [0x0008, 'LOCAL_SYMS_STRIPPED'],
  [0x0010, 'AGGRESIVE_WS_TRIM'],
  [0x0020, 'LARGE_ADDRESS_AWARE'],
  [0x0080, 'BYTES_REVERSED_LO'],
  [0x0100, '32BIT_MACHINE'],
  [0x0200, 'DEBUG_STRIPPED'],
  [0x0400, 'REMOVABLE_RUN_FROM_SWAP'],
  [0x0800, 'NET_RUN_FROM_SWAP'],
  [0x1000, 'SYSTEM'],
  [0x2000, 'DLL'],
  [0x4000, 'UP_SYSTEM_ONLY'],
  [0x8000, 'BYTES_REVERSED_HI'],
];

export const DLL_CHARACTERISTICS: FlagTable = [
  [0x0020, 'HIGH_ENTROPY_VA'],
  [0x0040, 'DYNAMIC_BASE'],
  [0x0080, 'FORCE_INTEGRITY'],
  [0x0100, 'NX_COMPAT'],
  [0x0200, 'NO_ISOLATION'],
  [0x0400, 'NO_SEH'],
  [0x0800, 'NO_BIND'],
  [0x1000, 'APPCONTAINER'],
  [0x2000, 'WDM_DRIVER'],
  [0x4000, 'GUARD_CF'],
  [0x8000, 'TERMINAL_SERVER_AWARE'],
];

export const SECTION_CHARACTERISTICS: FlagTable = [
  [0x00000008, 'TYPE_NO_PAD'],
  [0x00000020, 'CNT_CODE'],
  [0x00000040, 'CNT_INITIALIZED_DATA'],
  [0x00000080, 'CNT_UNINITIALIZED_DATA'],
  [0x00000200, 'LNK_INFO'],
  [0x00000800, 'LNK_REMOVE'],
  [0x00001000, 'LNK_COMDAT'],
  [0x00008000, 'GPREL'],
  [0x01000000, 'LNK_NRELOC_OVFL'],
  [0x02000000, 'MEM_DISCARDABLE'],
  [0x04000000, 'MEM_NOT_CACHED'],
  [0x08000000, 'MEM_NOT_PAGED'],
  [0x10000000, 'MEM_SHARED'],
  [0x20000000, 'MEM_EXECUTE'],
  [0x40000000, 'MEM_READ'],
  [0x80000000, 'MEM_WRITE'],
];

export const SECTION_MEM_EXECUTE = 0x20000000;
export const SECTION_MEM_READ = 0x40000000;
export const SECTION_MEM_WRITE = 0x80000000;
export const SECTION_CNT_CODE = 0x20;

export const CLR_FLAGS: FlagTable = [
  [0x00000001, 'ILONLY'],
  [0x00000002, '32BITREQUIRED'],
  [0x00000004, 'IL_LIBRARY'],
  [0x00000008, 'STRONGNAMESIGNED'],
  [0x00000010, 'NATIVE_ENTRYPOINT'],
  [0x00010000, 'TRACKDEBUGDATA'],
  [0x00020000, '32BITPREFERRED'],
];

export const SUBSYSTEM_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'UNKNOWN'],
  [1, 'NATIVE'],
  [2, 'WINDOWS_GUI'],
  [3, 'WINDOWS_CUI'],
  [5, 'OS2_CUI'],
  [7, 'POSIX_CUI'],
  [8, 'NATIVE_WINDOWS'],
  [9, 'WINDOWS_CE_GUI'],
  [10, 'EFI_APPLICATION'],
  [11, 'EFI_BOOT_SERVICE_DRIVER'],
  [12, 'EFI_RUNTIME_DRIVER'],
  [13, 'EFI_ROM'],
  [14, 'XBOX'],
  [16, 'WINDOWS_BOOT_APPLICATION'],
]);

export const DATA_DIRECTORY_NAMES = [
  'EXPORT',
  'IMPORT',
  'RESOURCE',
  'EXCEPTION',
  'SECURITY',
  'BASERELOC',
  'DEBUG',
  'ARCHITECTURE',
  'GLOBALPTR',
  'TLS',
  'LOAD_CONFIG',
  'BOUND_IMPORT',
  'IAT',
  'DELAY_IMPORT',
  'CLR_RUNTIME_HEADER',
  'RESERVED',
] as const;
export type DataDirectoryName = (typeof DATA_DIRECTORY_NAMES)[number];

export const RESOURCE_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'CURSOR'],
  [2, 'BITMAP'],
  [3, 'ICON'],
  [4, 'MENU'],
  [5, 'DIALOG'],
  [6, 'STRING'],
  [7, 'FONTDIR'],
  [8, 'FONT'],
  [9, 'ACCELERATOR'],
  [10, 'RCDATA'],
  [11, 'MESSAGETABLE'],
  [12, 'GROUP_CURSOR'],
  [14, 'GROUP_ICON'],
  [16, 'VERSION'],
  [17, 'DLGINCLUDE'],
  [19, 'PLUGPLAY'],
  [20, 'VXD'],
  [21, 'ANICURSOR'],
  [22, 'ANIICON'],
  [23, 'HTML'],
  [24, 'MANIFEST'],
]);

export const DEBUG_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'UNKNOWN'],
  [1, 'COFF'],
  [2, 'CODEVIEW'],
  [3, 'FPO'],
  [4, 'MISC'],
  [5, 'EXCEPTION'],
  [6, 'FIXUP'],
  [7, 'OMAP_TO_SRC'],
  [8, 'OMAP_FROM_SRC'],
  [9, 'BORLAND'],
  [10, 'RESERVED10'],
  [11, 'CLSID'],
  [12, 'VC_FEATURE'],
  [13, 'POGO'],
  [14, 'ILTCG'],
  [15, 'MPX'],
  [16, 'REPRO'],
  [20, 'EX_DLLCHARACTERISTICS'],
]);

/** Section names left by packers and protectors (lower-cased). */
export const PACKER_SECTION_NAMES: ReadonlyMap<string, string> = new Map([
  ['upx0', 'UPX'],
  ['upx1', 'UPX'],
  ['upx2', 'UPX'],
  ['.upx0', 'UPX'],
  ['.upx1', 'UPX'],
  ['.aspack', 'ASPack'],
  ['.adata', 'ASPack'],
  ['mpress1', 'MPRESS'],
  ['mpress2', 'MPRESS'],
  ['.petite', 'Petite'],
  ['.themida', 'Themida'],
  ['.winlice', 'WinLicense'],
  ['.vmp0', 'VMProtect'],
  ['.vmp1', 'VMProtect'],
  ['.vmp2', 'VMProtect'],
  ['.nsp0', 'NsPack'],
  ['.nsp1', 'NsPack'],
  ['.enigma1', 'Enigma'],
  ['.enigma2', 'Enigma'],
  ['pec2', 'PECompact'],
  ['pecompact2', 'PECompact'],
  ['.mew', 'MEW'],
  ['fsg!', 'FSG'],
  ['.packed', 'generic packer'],
  ['.perplex', 'Perplex'],
  ['.yp', 'Y0da'],
]);

export function decodeFlags(value: number, table: FlagTable): string[] {
  const names: string[] = [];
  for (const [bit, name] of table) if ((value & bit) >>> 0 === bit) names.push(name);
  return names;
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
