/**
 * What a sample is, as decided by content (never by file name alone). `kind` is the coarse routing class
 * analysers match on; `format` is the precise format. Analysers declare what they accept in these terms.
 */
export const FILE_KINDS = ['executable', 'archive', 'document', 'script', 'shellcode', 'text', 'memory', 'data'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

export const FILE_FORMATS = [
  'pe32',
  'pe32+',
  'dotnet',
  'elf32',
  'elf64',
  'macho',
  'macho-fat',
  'zip',
  '7z',
  'rar',
  'gzip',
  'tar',
  'bzip2',
  'xz',
  'cab',
  'ole',
  'ooxml',
  'pdf',
  'rtf',
  'lnk',
  'powershell',
  'vbscript',
  'javascript',
  'batch',
  'shell',
  'python',
  'html',
  'shellcode',
  'text',
  'memory-image',
  'unknown',
] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export interface FileType {
  readonly kind: FileKind;
  readonly format: FileFormat;
  /** IANA media type, best effort. */
  readonly mime: string;
  /** Human description, e.g. "PE32+ executable (DLL) x86-64". */
  readonly description: string;
  /** Extra facts found while identifying: `arch`, `dll`, `dotnet`, `ooxml-app`, `encrypted`... */
  readonly traits: readonly string[];
}
