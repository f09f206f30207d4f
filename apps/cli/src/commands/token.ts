import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import { ROLES, RoleSchema, type Token } from '@malpipe/api-client';
import type { Database } from '@malpipe/server/database/database';

interface TokenOptions {
  readonly data?: string;
  readonly json?: boolean;
}

/**
 * `malpipe token create|list|revoke`: works directly on the local database (no server needed), so the
 * first admin can bootstrap and an operator can recover from a lost admin token.
 */
export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('Manage API tokens in the local database (no server needed)');
  const common = (command: Command): Command =>
    command
      .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
      .option('--json', 'print JSON');

  common(token.command('create').description('Create a token; prints its secret once'))
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--name <name>', 'who or what uses it')
    .option('--rate-limit <perMinute>', 'requests per minute for this token (default: the server setting)')
    .action(async (options: TokenOptions & { role: string; name: string; rateLimit?: string }) => {
      const role = RoleSchema.safeParse(options.role);
      if (!role.success) throw new AppError('VALIDATION_FAILED', `--role must be one of ${ROLES.join(', ')}`);
      const name = options.name.trim();
      if (name === '' || name.length > 100)
        throw new AppError('VALIDATION_FAILED', '--name must have 1 to 100 characters');
      const rateLimit = options.rateLimit === undefined ? null : Number(options.rateLimit);
      if (rateLimit !== null && (!Number.isInteger(rateLimit) || rateLimit < 1)) {
        throw new AppError('VALIDATION_FAILED', '--rate-limit must be a positive integer');
      }
      await withDatabase(options, async (db, { createApiToken }) => {
        const created = await createApiToken(db, { name, role: role.data, rateLimitPerMinute: rateLimit });
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify({ ...created.token, token: created.secret }, null, 2)}\n`);
        } else {
          process.stderr.write(
            `created ${created.token.role} token ${created.token.id} (${created.token.name}); the secret is shown only once:\n`,
          );
          process.stdout.write(`${created.secret}\n`);
        }
      });
    });

  common(token.command('list').description('List tokens (never their secrets)')).action(
    async (options: TokenOptions) => {
      await withDatabase(options, async (db, { listApiTokens }) => {
        const tokens = await listApiTokens(db);
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
          return;
        }
        for (const t of tokens) process.stdout.write(`${formatToken(t)}\n`);
      });
    },
  );

  common(token.command('revoke').description('Revoke a token'))
    .argument('<id>', 'token id (see `malpipe token list`)')
    .action(async (id: string, options: TokenOptions) => {
      await withDatabase(options, async (db, { revokeApiToken }) => {
        const revoked = await revokeApiToken(db, id);
        process.stdout.write(
          options.json === true ? `${JSON.stringify(revoked, null, 2)}\n` : `${formatToken(revoked)}\n`,
        );
      });
    });
}

type TokenRepository = typeof import('@malpipe/server/auth/api-tokens');

/** Loads the database stack only for `token` (it costs ~0.5 s of start-up the client commands should not pay). */
async function withDatabase(
  options: TokenOptions,
  work: (db: Database, tokens: TokenRepository) => Promise<void>,
): Promise<void> {
  const [{ loadConfig }, { createDatabase }, tokens] = await Promise.all([
    import('@malpipe/server/config'),
    import('@malpipe/server/database/create-database'),
    import('@malpipe/server/auth/api-tokens'),
  ]);
  const config = loadConfig(
    options.data === undefined ? process.env : { ...process.env, MALPIPE_DATA_DIR: options.data },
  );
  const db = await createDatabase(config.databaseUrl);
  try {
    await work(db, tokens);
  } finally {
    await db.destroy();
  }
}

function formatToken(t: Token): string {
  const state = t.revokedAt === null ? 'active ' : 'revoked';
  const limit = t.rateLimitPerMinute === null ? '' : `  ${t.rateLimitPerMinute}/min`;
  return `${t.id}  ${t.role.padEnd(9)} ${state}  ${t.name}  last used ${t.lastUsedAt ?? 'never'}${limit}`;
}
