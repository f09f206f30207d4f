import { AppError, type RelationKind } from '@malpipe/core';
import type { ChildSample } from '../analyzer.js';
import type { ArchiveEntry, EntrySkipReason } from './archive-result.js';
import type { ExtractionBudget } from './extraction-budget.js';
import { baseName, sanitizeMemberPath } from './sanitize-member-path.js';

export interface MemberInfo {
  readonly storedPath: string;
  readonly size: number | null;
  readonly compressedSize: number | null;
  readonly encrypted: boolean;
  readonly encryption?: 'zipcrypto' | 'aes';
}

/**
 * Accumulates the entries, children and warnings of one analyser run and applies the per-member rules
 * (sanitised names, child count, depth, budget) in one place for every archive format.
 */
export class Extraction {
  readonly entries: ArchiveEntry[] = [];
  readonly children: ChildSample[] = [];
  readonly warnings: string[] = [];
  readonly budget: ExtractionBudget;
  /** False when the sample is already at the maximum depth: members are listed, never extracted. */
  readonly canExtract: boolean;
  readonly #relation: RelationKind;
  #warnedTooMany = false;

  constructor(budget: ExtractionBudget, canExtract: boolean, relation: RelationKind = 'extracted') {
    this.budget = budget;
    this.canExtract = canExtract;
    this.#relation = relation;
  }

  /** Beyond this many listed entries the archive is refused as an entry-count bomb. */
  get maxListedEntries(): number {
    return Math.max(10 * this.budget.limits.maxChildren, 10_000);
  }

  /**
   * Checks before decompressing a member: returns the reason it will not be extracted, or null. Also
   * refuses the whole archive (ARCHIVE_BOMB) when it lists absurdly many entries.
   */
  precheck(): EntrySkipReason | null {
    this.#checkListing();
    if (!this.canExtract) return 'MAX_DEPTH';
    if (this.budget.childrenLeft <= 0) {
      if (!this.#warnedTooMany) {
        this.warnings.push(`more than ${this.budget.limits.maxChildren} members: the rest are listed but not extracted`);
        this.#warnedTooMany = true;
      }
      return 'TOO_MANY_ENTRIES';
    }
    return null;
  }

  /** Records a member that was not extracted. */
  skip(info: MemberInfo, reason: EntrySkipReason, extra: Partial<ArchiveEntry> = {}): void {
    this.#checkListing();
    const { path, unsafe } = this.#sanitize(info.storedPath);
    this.entries.push({ ...this.#base(info, path, unsafe), extracted: false, reason, ...extra });
  }

  /** Records an extracted member and emits it as a child. */
  extract(info: MemberInfo, data: Uint8Array, extra: Partial<ArchiveEntry> = {}): void {
    this.#checkListing();
    const { path, unsafe } = this.#sanitize(info.storedPath);
    if (data.length === 0) {
      this.entries.push({ ...this.#base(info, path, unsafe), size: 0, extracted: false, reason: 'EMPTY', ...extra });
      return;
    }
    this.budget.take(data.length);
    if (unsafe) this.warnings.push(`unsafe member path ${JSON.stringify(info.storedPath)} extracted as ${JSON.stringify(path)}`);
    this.entries.push({ ...this.#base(info, path, unsafe), size: data.length, extracted: true, ...extra });
    this.children.push({ bytes: data, name: baseName(path), relation: this.#relation, detail: path });
  }

  #checkListing(): void {
    if (this.entries.length >= this.maxListedEntries) {
      throw new AppError('ARCHIVE_BOMB', `archive lists more than ${this.maxListedEntries} entries`, { details: { limit: this.maxListedEntries } });
    }
  }

  #sanitize(storedPath: string): { path: string; unsafe: boolean } {
    return sanitizeMemberPath(storedPath, `member-${this.entries.length}`);
  }

  #base(info: MemberInfo, path: string, unsafe: boolean): ArchiveEntry {
    return {
      path,
      ...(path !== info.storedPath ? { storedPath: info.storedPath } : {}),
      size: info.size,
      compressedSize: info.compressedSize,
      encrypted: info.encrypted,
      ...(info.encryption !== undefined ? { encryption: info.encryption } : {}),
      extracted: false,
      ...(unsafe ? { unsafePath: true } : {}),
    };
  }
}
