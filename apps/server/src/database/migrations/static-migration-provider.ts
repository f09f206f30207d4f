import type { Migration, MigrationProvider } from 'kysely';
import { initialSchema } from './0001-initial-schema.js';
import { cobaltStrikeSchema } from './0002-cobaltstrike.js';
import { jobOutboxSchema } from './0003-job-outbox.js';
import { sampleFetchingSchema } from './0004-sample-fetching.js';
import { jobsDueByNameIndex } from './0005-jobs-due-by-name.js';
import { rulesetVersionsSchema } from './0006-ruleset-versions.js';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * Every migration, listed by hand: no directory scanning at run time, so bundling or a missing file cannot
 * silently skip one. Names sort in the order they must run; never rename or edit one that has shipped.
 */
export class StaticMigrationProvider implements MigrationProvider {
  readonly #dialect: MigrationDialect;

  constructor(dialect: MigrationDialect) {
    this.#dialect = dialect;
  }

  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve({
      '0001-initial-schema': initialSchema(this.#dialect),
      '0002-cobaltstrike': cobaltStrikeSchema(this.#dialect),
      '0003-job-outbox': jobOutboxSchema(this.#dialect),
      '0004-sample-fetching': sampleFetchingSchema(this.#dialect),
      '0005-jobs-due-by-name': jobsDueByNameIndex(this.#dialect),
      '0006-ruleset-versions': rulesetVersionsSchema(this.#dialect),
    });
  }
}
