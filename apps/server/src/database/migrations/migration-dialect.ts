/** The SQL dialects migrations are written for; the only place a migration may branch. */
export type MigrationDialect = 'sqlite' | 'postgres';
