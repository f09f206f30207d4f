import { randomUUID } from 'node:crypto';
import { AppError } from '@malpipe/core';
import {
  HASH_REQUEST_STATES,
  MAX_HASHES_PER_REQUEST,
  SUBMITTABLE_HASH_TYPES,
  type HashEntry,
  type HashRequest,
  type SubmittableHashType,
} from '@malpipe/api-client';
import type { Database } from '../database/database.js';

/**
 * Hash submissions: a CERT pastes hashes (or a whole report) and gets one request per hash. Hashes of stored
 * samples are linked at once; the others wait as `queued` in `hash_requests` until a source (VirusTotal,
 * MalwareBazaar...) fetches them.
 */

export interface SubmitHashesInput {
  readonly hashes?: readonly string[] | undefined;
  readonly text?: string | undefined;
  /** Token id of the caller, kept for auditing. */
  readonly requestedBy?: string | null;
  readonly now?: Date;
  /** Queues a fetch for each newly queued hash in the same transaction (see fetcher/); woken after commit. */
  readonly fetchQueue?: HashFetchQueue | undefined;
}

export interface HashFetchQueue {
  enqueue(trx: Database, hashRequestId: string): Promise<unknown>;
  wake(): void;
}

export interface ParsedHash {
  readonly hash: string;
  readonly type: SubmittableHashType;
}

const TYPE_BY_LENGTH: Readonly<Record<number, SubmittableHashType>> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
/** SQLite allows 32,766 bound parameters; 500 keeps every IN list and multi-row insert far below. */
const CHUNK = 500;
const OPEN_STATES: ReadonlySet<string> = new Set(['queued', 'fetching']);

/** The type of an MD5, SHA-1 or SHA-256 hex digest, or null. */
export function classifyHash(value: string): SubmittableHashType | null {
  if (!/^[0-9a-fA-F]+$/.test(value)) return null;
  return TYPE_BY_LENGTH[value.length] ?? null;
}

/**
 * Every MD5/SHA-1/SHA-256 in free text, lower-cased and deduplicated in order of appearance. A digest must
 * stand alone: a 64-digit run is one SHA-256, never two MD5s, and longer runs (SHA-512, blobs) are ignored.
 */
export function extractHashes(text: string): ParsedHash[] {
  const found = new Map<string, SubmittableHashType>();
  for (const match of text.matchAll(/[0-9a-fA-F]+/g)) {
    const run = match[0];
    const type = TYPE_BY_LENGTH[run.length];
    if (type === undefined) continue;
    const start = match.index;
    // Skip runs glued to other word characters (identifiers like `x0123...` or base64 fragments).
    if (start > 0 && /\w/.test(text.charAt(start - 1))) continue;
    if (/\w/.test(text.charAt(start + run.length))) continue;
    const hash = run.toLowerCase();
    if (!found.has(hash)) found.set(hash, type);
    if (found.size > MAX_HASHES_PER_REQUEST) break;
  }
  return [...found].map(([hash, type]) => ({ hash, type }));
}

function parseHashList(values: readonly string[]): ParsedHash[] {
  const found = new Map<string, SubmittableHashType>();
  const invalid: string[] = [];
  for (const value of values) {
    const trimmed = value.trim();
    const type = classifyHash(trimmed);
    if (type === null) {
      invalid.push(trimmed.slice(0, 130));
      continue;
    }
    found.set(trimmed.toLowerCase(), type);
  }
  if (invalid.length > 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      `${invalid.length} value(s) are not MD5, SHA-1 or SHA-256 hex digests`,
      {
        details: { invalid: invalid.slice(0, 20) },
      },
    );
  }
  return [...found].map(([hash, type]) => ({ hash, type }));
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Records one request per distinct hash and returns them in submission order. */
export async function submitHashes(db: Database, input: SubmitHashesInput): Promise<HashEntry[]> {
  if ((input.hashes === undefined) === (input.text === undefined)) {
    throw new AppError('VALIDATION_FAILED', 'give exactly one of "hashes" or "text"');
  }
  if (input.hashes !== undefined && input.hashes.length > MAX_HASHES_PER_REQUEST)
    throw tooMany(input.hashes.length);
  const parsed = input.hashes !== undefined ? parseHashList(input.hashes) : extractHashes(input.text ?? '');
  if (parsed.length > MAX_HASHES_PER_REQUEST) throw tooMany(parsed.length);
  if (parsed.length === 0) throw new AppError('VALIDATION_FAILED', 'no MD5, SHA-1 or SHA-256 found');

  const now = (input.now ?? new Date()).toISOString();
  const known = await findKnownSamples(db, parsed);
  const analysed = await findAnalysed(db, [...new Set(known.values())]);
  const previous = await findLatestRequests(
    db,
    parsed.map((p) => p.hash),
  );

  const result = await db.transaction().execute(async (trx) => {
    const entries: HashEntry[] = [];
    const inserts: {
      id: string;
      hash: string;
      hash_type: string;
      state: string;
      sample_sha256: string | null;
      error_message: null;
      requested_by: string | null;
      created_at: string;
      updated_at: string;
    }[] = [];
    for (const { hash, type } of parsed) {
      const sha256 = known.get(hash);
      const state = sha256 === undefined ? 'queued' : analysed.has(sha256) ? 'analysed' : 'known';
      const prior = previous.get(hash);
      // Reuse a request that already says the same thing rather than piling up duplicates on resubmission.
      if (
        prior !== undefined &&
        (sha256 === undefined ? OPEN_STATES.has(prior.state) : prior.sample_sha256 === sha256)
      ) {
        if (prior.state !== state && sha256 !== undefined) {
          await trx
            .updateTable('hash_requests')
            .set({ state, updated_at: now })
            .where('id', '=', prior.id)
            .execute();
        }
        entries.push(
          toEntry(prior.id, hash, type, sha256 === undefined ? parseState(prior.state) : state, sha256),
        );
        continue;
      }
      const id = randomUUID();
      inserts.push({
        id,
        hash,
        hash_type: type,
        state,
        sample_sha256: sha256 ?? null,
        error_message: null,
        requested_by: input.requestedBy ?? null,
        created_at: now,
        updated_at: now,
      });
      entries.push(toEntry(id, hash, type, state, sha256));
    }
    for (const chunk of chunks(inserts)) await trx.insertInto('hash_requests').values(chunk).execute();
    if (input.fetchQueue !== undefined) {
      for (const row of inserts) if (row.state === 'queued') await input.fetchQueue.enqueue(trx, row.id);
    }
    return entries;
  });
  input.fetchQueue?.wake();
  return result;
}

export async function getHashRequest(db: Database, id: string): Promise<HashRequest> {
  const row = await db.selectFrom('hash_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (row === undefined) throw new AppError('NOT_FOUND', `no hash request with id ${id}`);
  const type = classifyHash(row.hash) ?? 'sha256';
  return {
    id: row.id,
    hash: row.hash,
    type,
    state: parseState(row.state),
    sha256: row.sample_sha256,
    errorMessage: row.error_message,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function tooMany(count: number): AppError {
  return new AppError(
    'LIMIT_EXCEEDED',
    `at most ${MAX_HASHES_PER_REQUEST} hashes per request (got at least ${count})`,
    {
      details: { limit: MAX_HASHES_PER_REQUEST },
    },
  );
}

function parseState(state: string): HashEntry['state'] {
  return (HASH_REQUEST_STATES as readonly string[]).includes(state)
    ? (state as HashEntry['state'])
    : 'failed';
}

function toEntry(
  id: string,
  hash: string,
  type: SubmittableHashType,
  state: HashEntry['state'],
  sha256: string | undefined,
): HashEntry {
  return sha256 === undefined ? { hash, type, id, state } : { hash, type, id, state, sha256 };
}

/** Maps each submitted hash that names a stored sample to that sample's SHA-256. */
async function findKnownSamples(db: Database, hashes: readonly ParsedHash[]): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  for (const type of SUBMITTABLE_HASH_TYPES) {
    const values = hashes.filter((h) => h.type === type).map((h) => h.hash);
    for (const chunk of chunks(values)) {
      const rows = await db.selectFrom('samples').select(['sha256', type]).where(type, 'in', chunk).execute();
      for (const row of rows) known.set(row[type], row.sha256);
    }
  }
  return known;
}

async function findAnalysed(db: Database, sha256s: readonly string[]): Promise<Set<string>> {
  const analysed = new Set<string>();
  for (const chunk of chunks(sha256s)) {
    const rows = await db
      .selectFrom('analyses')
      .select('sha256')
      .distinct()
      .where('sha256', 'in', chunk)
      .where('state', '=', 'completed')
      .execute();
    for (const row of rows) analysed.add(row.sha256);
  }
  return analysed;
}

interface PriorRequest {
  readonly id: string;
  readonly state: string;
  readonly sample_sha256: string | null;
  readonly created_at: string;
}

async function findLatestRequests(
  db: Database,
  hashes: readonly string[],
): Promise<Map<string, PriorRequest>> {
  const latest = new Map<string, PriorRequest>();
  for (const chunk of chunks(hashes)) {
    const rows = await db
      .selectFrom('hash_requests')
      .select(['id', 'hash', 'state', 'sample_sha256', 'created_at'])
      .where('hash', 'in', chunk)
      .execute();
    for (const row of rows) {
      const current = latest.get(row.hash);
      if (current === undefined || row.created_at > current.created_at) latest.set(row.hash, row);
    }
  }
  return latest;
}
