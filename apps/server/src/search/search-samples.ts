import { sql, type ExpressionBuilder } from 'kysely';
import { AppError } from '@malpipe/core';
import { SearchQuerySchema, type SampleSummary, type SearchResponse } from '@malpipe/api-client';
import type { z } from 'zod';
import type { Database } from '../database/database.js';
import type { Schema } from '../database/schema.js';
import { interpretQuery } from './interpret-query.js';

/** A parsed search query (the output of SearchQuerySchema: limit defaulted, hash lower-cased). */
export type SearchFilters = z.output<typeof SearchQuerySchema>;

/** Names shown per summary; the full list is in the report. */
const MAX_NAMES_PER_SUMMARY = 5;

/**
 * Sample search with keyset pagination on (last_seen desc, sha256 desc): a page never repeats or skips a
 * sample because of inserts elsewhere, unlike OFFSET. The cursor is opaque to clients (base64url JSON).
 * All filters combine with AND; `q` adds the filters its text implies (see interpretQuery).
 */
export async function searchSamples(db: Database, filters: SearchFilters): Promise<SearchResponse> {
  let query = db
    .selectFrom('samples')
    .select([
      'sha256',
      'md5',
      'sha1',
      'size',
      'file_kind',
      'file_format',
      'file_description',
      'first_seen',
      'last_seen',
    ]);

  if (filters.hash !== undefined) query = query.where((eb) => hashCondition(eb, filters.hash ?? ''));
  if (filters.name !== undefined) {
    const pattern = `%${escapeLike(filters.name.toLowerCase())}%`;
    query = query.where((eb) => nameCondition(eb, pattern));
  }
  if (filters.type !== undefined) {
    const type = filters.type.toLowerCase();
    query = query.where((eb) => eb.or([eb('file_format', '=', type), eb('file_kind', '=', type)]));
  }
  if (filters.tag !== undefined) query = query.where((eb) => tagCondition(eb, filters.tag ?? ''));
  if (filters.yara !== undefined) query = query.where((eb) => yaraCondition(eb, filters.yara ?? ''));
  if (filters.ioc !== undefined) query = query.where((eb) => iocCondition(eb, filters.ioc ?? ''));
  if (filters.from !== undefined)
    query = query.where('last_seen', '>=', new Date(filters.from).toISOString());
  if (filters.to !== undefined) query = query.where('last_seen', '<=', new Date(filters.to).toISOString());

  if (filters.q !== undefined) {
    const meaning = interpretQuery(filters.q);
    switch (meaning.kind) {
      case 'hash':
        query = query.where((eb) => hashCondition(eb, meaning.value));
        break;
      case 'ioc':
        query = query.where((eb) => iocCondition(eb, meaning.value));
        break;
      case 'domain': {
        // "invoice.pdf" looks like a domain too: match either an indicator or a file name.
        const pattern = `%${escapeLike(meaning.value)}%`;
        query = query.where((eb) => eb.or([iocCondition(eb, meaning.value), nameCondition(eb, pattern)]));
        break;
      }
      case 'text': {
        const word = meaning.value;
        const pattern = `%${escapeLike(word.toLowerCase())}%`;
        query = query.where((eb) =>
          eb.or([
            nameCondition(eb, pattern),
            tagCondition(eb, word),
            yaraCondition(eb, word),
            eb('file_format', '=', word.toLowerCase()),
            eb('file_kind', '=', word.toLowerCase()),
          ]),
        );
        break;
      }
    }
  }

  if (filters.cursor !== undefined) {
    const [lastSeen, sha256] = decodeCursor(filters.cursor);
    query = query.where((eb) =>
      eb.or([
        eb('last_seen', '<', lastSeen),
        eb.and([eb('last_seen', '=', lastSeen), eb('sha256', '<', sha256)]),
      ]),
    );
  }

  const rows = await query
    .orderBy('last_seen', 'desc')
    .orderBy('sha256', 'desc')
    .limit(filters.limit + 1)
    .execute();
  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > filters.limit && last !== undefined ? encodeCursor(last.last_seen, last.sha256) : null;

  const sha256s = page.map((row) => row.sha256);
  const names = new Map<string, string[]>();
  const tags = new Map<string, string[]>();
  if (sha256s.length > 0) {
    const nameRows = await db
      .selectFrom('sample_names')
      .select(['sha256', 'name'])
      .where('sha256', 'in', sha256s)
      .orderBy('first_seen', 'asc')
      .orderBy('name', 'asc')
      .execute();
    for (const row of nameRows) {
      const list = names.get(row.sha256) ?? [];
      if (list.length < MAX_NAMES_PER_SUMMARY) list.push(row.name);
      names.set(row.sha256, list);
    }
    const tagRows = await db
      .selectFrom('sample_tags')
      .select(['sha256', 'tag'])
      .where('sha256', 'in', sha256s)
      .orderBy('tag')
      .execute();
    for (const row of tagRows) tags.set(row.sha256, [...(tags.get(row.sha256) ?? []), row.tag]);
  }

  const items: SampleSummary[] = page.map((row) => ({
    sha256: row.sha256,
    md5: row.md5,
    sha1: row.sha1,
    size: Number(row.size),
    fileType: { kind: row.file_kind, format: row.file_format, description: row.file_description },
    names: names.get(row.sha256) ?? [],
    tags: tags.get(row.sha256) ?? [],
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  }));
  return { items, nextCursor };
}

type SamplesEb = ExpressionBuilder<Schema, 'samples'>;

const HASH_COLUMN_BY_LENGTH = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' } as const;

function hashCondition(eb: SamplesEb, hash: string) {
  const column = HASH_COLUMN_BY_LENGTH[hash.length as keyof typeof HASH_COLUMN_BY_LENGTH];
  if (column === undefined)
    throw new AppError('VALIDATION_FAILED', 'hash must be an MD5, SHA-1, SHA-256 or SHA-512');
  return eb(`samples.${column}`, '=', hash.toLowerCase());
}

function nameCondition(eb: SamplesEb, lowerPattern: string) {
  return eb(
    'samples.sha256',
    'in',
    eb
      .selectFrom('sample_names')
      .select('sample_names.sha256')
      .where(sql<boolean>`lower(sample_names.name) like ${lowerPattern} escape '\\'`),
  );
}

function tagCondition(eb: SamplesEb, tag: string) {
  return eb(
    'samples.sha256',
    'in',
    eb.selectFrom('sample_tags').select('sample_tags.sha256').where('sample_tags.tag', '=', tag),
  );
}

function yaraCondition(eb: SamplesEb, rule: string) {
  return eb(
    'samples.sha256',
    'in',
    eb.selectFrom('yara_matches').select('yara_matches.sha256').where('yara_matches.rule', '=', rule),
  );
}

/** Indicators are stored normalised (lower-cased where case does not matter), so try the value both ways. */
function iocCondition(eb: SamplesEb, value: string) {
  const values = [...new Set([value, value.toLowerCase()])];
  return eb(
    'samples.sha256',
    'in',
    eb
      .selectFrom('sample_indicators')
      .innerJoin('indicators', 'indicators.id', 'sample_indicators.indicator_id')
      .select('sample_indicators.sha256')
      .where('indicators.value', 'in', values),
  );
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function encodeCursor(lastSeen: string, sha256: string): string {
  return Buffer.from(JSON.stringify([lastSeen, sha256]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string'
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // Fall through: any undecodable cursor is the client's mistake, reported below.
  }
  throw new AppError(
    'VALIDATION_FAILED',
    'invalid cursor (pass back the nextCursor of the previous page unchanged)',
  );
}
