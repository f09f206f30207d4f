import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

/**
 * The Database seam is Kysely itself: repositories are functions taking a `Database` (or a transaction) and
 * stay portable SQL. `createDatabase(url)` picks the dialect from the URL scheme (`sqlite:` or `postgres:`)
 * and runs migrations; dialect differences live only in this folder.
 */
export type Database = Kysely<Schema>;
