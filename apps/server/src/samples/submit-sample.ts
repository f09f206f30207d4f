import { randomUUID } from 'node:crypto';
import type { FileType, RelationKind } from '@malpipe/core';
import { AppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sampleKey } from '../storage/object-store.js';
import { addRelation, addSampleNames, addSampleSources, addSampleTags, upsertSample } from './sample-repository.js';
import { spoolSample, type SampleContent } from './spool-sample.js';

/** How a child sample came to be: the analysis that found it and the analyser's account of where. */
export interface ParentLink {
  readonly analysisId: string;
  readonly sha256: string;
  readonly relation: RelationKind;
  readonly analyzer: string;
  readonly detail: string | null;
}

export interface SubmitSampleInput {
  readonly content: SampleContent;
  readonly fileName?: string | null;
  /** `upload`, `cli`, `api`, `extracted`... */
  readonly source: string;
  readonly tags?: readonly string[];
  readonly archivePasswords?: readonly string[];
  /** Rerun every analyser even when a cached result exists. */
  readonly force?: boolean;
  readonly requestedBy?: string | null;
  readonly parent?: ParentLink;
}

export interface SubmitSampleResult {
  readonly sha256: string;
  readonly analysisId: string;
  readonly isNewSample: boolean;
}

/** The options an analysis carries (JSON in `analyses.options`). */
export interface AnalysisOptions {
  readonly archivePasswords: readonly string[];
  readonly requestedBy: string | null;
  readonly fileName: string | null;
}

/**
 * Enqueues the `analyze-sample` job inside the caller's transaction, so the analysis row and its job commit
 * together (or not at all).
 */
export type EnqueueAnalysis = (trx: Database, analysisId: string) => Promise<void>;

export interface SubmitSampleDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly enqueueAnalysis: EnqueueAnalysis;
  readonly identify: (bytes: Uint8Array, fileName: string | null) => FileType;
  readonly uploadLimitBytes: number;
  readonly tmpDir: string;
  readonly defaultArchivePasswords: readonly string[];
  readonly now?: () => Date;
}

const MAX_NAME_LENGTH = 255;
/** Tags per sample accepted from one submission or one analyser result. */
export const MAX_TAGS = 64;
const MAX_TAG_LENGTH = 128;

/**
 * Stores a sample once and queues its analysis. Crash-safe by ordering: the object is written first (a
 * content-addressed key, never rewritten), then the sample row, the analysis row and its job commit in one
 * transaction. A crash before the commit leaves at most an orphan object, which the next submission reuses.
 * Submitting a child twice for the same parent analysis (a redelivered job) returns the first analysis.
 */
export async function submitSample(deps: SubmitSampleDeps, input: SubmitSampleInput): Promise<SubmitSampleResult> {
  const fileName = cleanFileName(input.fileName);
  const tags = cleanTags(input.tags ?? []);
  const spooled = await spoolSample(input.content, { maxBytes: deps.uploadLimitBytes, tmpDir: deps.tmpDir });
  try {
    const { sha256 } = spooled.hashes;
    const fileType = deps.identify(spooled.head, fileName);
    const key = sampleKey(sha256);
    // put keeps an existing object (content-addressed keys); asking has() first would cost S3 a request more.
    await deps.store.put(key, spooled.body());

    const now = (deps.now?.() ?? new Date()).toISOString();
    const options: AnalysisOptions = {
      archivePasswords: input.archivePasswords ?? deps.defaultArchivePasswords,
      requestedBy: input.requestedBy ?? null,
      fileName,
    };
    return await deps.db.transaction().execute(async (trx) => {
      let rootId: string | null = null;
      let depth = 0;
      const parent = input.parent;
      if (parent !== undefined) {
        const existing = await trx
          .selectFrom('analyses')
          .select('id')
          .where('parent_id', '=', parent.analysisId)
          .where('sha256', '=', sha256)
          .executeTakeFirst();
        if (existing !== undefined) {
          await recordNames(trx, sha256, fileName, input.source, tags, now);
          await addRelation(trx, relationOf(parent, sha256), now);
          return { sha256, analysisId: existing.id, isNewSample: false };
        }
        const parentAnalysis = await trx.selectFrom('analyses').select(['root_id', 'depth']).where('id', '=', parent.analysisId).executeTakeFirst();
        if (parentAnalysis === undefined) throw new AppError('NOT_FOUND', `parent analysis ${parent.analysisId} does not exist`);
        rootId = parentAnalysis.root_id;
        depth = parentAnalysis.depth + 1;
      }

      const { isNew } = await upsertSample(trx, { ...spooled.hashes, size: spooled.size, fileType }, now);
      await recordNames(trx, sha256, fileName, input.source, tags, now);
      if (parent !== undefined) await addRelation(trx, relationOf(parent, sha256), now);

      const analysisId = randomUUID();
      await trx
        .insertInto('analyses')
        .values({
          id: analysisId,
          sha256,
          root_id: rootId ?? analysisId,
          parent_id: parent?.analysisId ?? null,
          depth,
          state: 'queued',
          force: input.force === true ? 1 : 0,
          options: JSON.stringify(options),
          error_code: null,
          error_message: null,
          created_at: now,
          started_at: null,
          finished_at: null,
        })
        .execute();
      await deps.enqueueAnalysis(trx, analysisId);
      return { sha256, analysisId, isNewSample: isNew };
    });
  } finally {
    await spooled.dispose();
  }
}

async function recordNames(
  trx: Database,
  sha256: string,
  fileName: string | null,
  source: string,
  tags: readonly string[],
  now: string,
): Promise<void> {
  if (fileName !== null) await addSampleNames(trx, sha256, [fileName], now);
  await addSampleSources(trx, sha256, [source], now);
  if (tags.length > 0) await addSampleTags(trx, sha256, tags);
}

function relationOf(parent: ParentLink, childSha256: string) {
  return {
    parentSha256: parent.sha256,
    childSha256,
    kind: parent.relation,
    analyzer: parent.analyzer,
    detail: parent.detail,
  };
}

/** Keeps the last path component only (names inside archives may carry hostile paths) and bounds it. */
/**
 * The last path component of a client- or archive-supplied name, without control characters, trimmed and capped
 * at 255 characters (a file-system name limit); null when nothing usable is left. The one name cleaner: the
 * upload route and the pipeline both use it.
 */
export function cleanFileName(name: string | null | undefined): string | null {
  if (name === null || name === undefined) return null;
  const last = name.split(/[\\/]/).pop() ?? '';
  const printable = [...last].filter((c) => c.charCodeAt(0) > 0x1f && c !== '\u007f').join('');
  const clean = printable.trim().slice(0, MAX_NAME_LENGTH);
  return clean === '' || clean === '.' || clean === '..' ? null : clean;
}

function cleanTags(tags: readonly string[]): readonly string[] {
  if (tags.length > MAX_TAGS) throw new AppError('VALIDATION_FAILED', `at most ${MAX_TAGS} tags per submission`);
  const clean = tags.map((tag) => tag.trim().toLowerCase()).filter((tag) => tag !== '');
  const bad = clean.find((tag) => tag.length > MAX_TAG_LENGTH);
  if (bad !== undefined) throw new AppError('VALIDATION_FAILED', `tag longer than ${MAX_TAG_LENGTH} characters`);
  return [...new Set(clean)];
}
