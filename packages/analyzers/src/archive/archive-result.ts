/** Why an archive member was not extracted as a child. */
export const ENTRY_SKIP_REASONS = [
  'DIRECTORY',
  'NOT_A_FILE',
  'EMPTY',
  'WRONG_PASSWORD',
  'UNSUPPORTED',
  'CORRUPT',
  'TRUNCATED',
  'TOO_LARGE',
  'COMPRESSION_RATIO',
  'TOO_MANY_ENTRIES',
  'MAX_DEPTH',
] as const;
export type EntrySkipReason = (typeof ENTRY_SKIP_REASONS)[number];

export interface ArchiveEntry {
  /** Sanitised path inside the archive; also the child's `detail`. */
  readonly path: string;
  /** The name as stored, when it differs from `path` (unsafe or non-canonical names). */
  readonly storedPath?: string;
  /** Declared (or, once extracted, actual) uncompressed size; null when unknown. */
  readonly size: number | null;
  readonly compressedSize: number | null;
  readonly encrypted: boolean;
  /** ZIP encryption scheme of an encrypted member. */
  readonly encryption?: 'zipcrypto' | 'aes';
  readonly extracted: boolean;
  readonly reason?: EntrySkipReason;
  /** Password from `context.archivePasswords` that opened this entry. */
  readonly password?: string;
  /** The stored name tried to leave the extraction directory or was otherwise unsafe. */
  readonly unsafePath?: boolean;
  /** Extracted, but from a truncated or damaged stream (the child holds what could be recovered). */
  readonly partial?: boolean;
}

export interface ArchiveResult {
  readonly format: 'zip' | 'ooxml' | 'gzip' | 'tar' | 'tar+gzip';
  readonly entries: readonly ArchiveEntry[];
  readonly extractedCount: number;
  readonly extractedBytes: number;
  /** True when some entry is encrypted. */
  readonly encrypted: boolean;
}
