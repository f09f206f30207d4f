import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import type { SampleSummary, SearchQuery } from '@malpipe/api-client';
import { callApi, createCliClient } from '../cli-config.js';

interface SearchOptions {
  readonly server?: string;
  readonly token?: string;
  readonly limit: string;
  readonly cursor?: string;
  readonly json?: boolean;
}

/** Filter prefixes the query may use (as in the dashboard's search box); `rule:` is `yara:`. */
const FILTER_KEYS = { hash: 'hash', name: 'name', type: 'type', tag: 'tag', yara: 'yara', rule: 'yara', ioc: 'ioc' } as const;

/**
 * Splits `tag:campaign-x rule:Beacon_x64 evil.example` into API filters and free text. Unknown prefixes stay
 * free text (`http://...`, `10.0.0.1:443`).
 */
export function parseSearchQuery(text: string): Omit<SearchQuery, 'limit' | 'cursor'> {
  const query: Record<string, string> = {};
  const words: string[] = [];
  for (const token of text.trim().split(/\s+/).filter((t) => t !== '')) {
    const colon = token.indexOf(':');
    const key = FILTER_KEYS[token.slice(0, Math.max(colon, 0)).toLowerCase() as keyof typeof FILTER_KEYS];
    if (colon <= 0 || key === undefined) {
      words.push(token);
      continue;
    }
    const value = token.slice(colon + 1);
    if (value === '') throw new AppError('VALIDATION_FAILED', `"${token}" has no value (e.g. tag:campaign-x)`);
    query[key] = value;
  }
  if (words.length > 0) query.q = words.join(' ');
  return query;
}

/** `malpipe search QUERY`: a hash, an IoC, a word (names, tags, types, YARA rules) and/or `tag:` ... filters. */
export function registerSearch(program: Command): void {
  program
    .command('search')
    .description('Search samples on a malpipe server')
    .argument(
      '<query>',
      'a hash, an IoC (URL, domain, IP, e-mail; defanged is fine) or a word, and/or filters ' +
        'tag:X rule:X (or yara:X) type:X name:X hash:X ioc:X',
    )
    .option('--server <url>', 'server URL (default: $MALPIPE_SERVER or http://127.0.0.1:8787)')
    .option('--token <token>', 'API token (default: $MALPIPE_TOKEN)')
    .option('--limit <n>', 'results per page (1-200)', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON (items and nextCursor)')
    .action(async (query: string, options: SearchOptions) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200)
        throw new AppError('VALIDATION_FAILED', '--limit must be an integer from 1 to 200');
      const client = createCliClient(options);
      const page = await callApi(() =>
        client.search({
          ...parseSearchQuery(query),
          limit,
          ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
        }),
      );
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
        return;
      }
      for (const item of page.items) process.stdout.write(`${formatSummary(item)}\n`);
      if (page.items.length === 0) process.stderr.write('no match\n');
      if (page.nextCursor !== null) process.stderr.write(`more results: --cursor ${page.nextCursor}\n`);
    });
}

function formatSummary(item: SampleSummary): string {
  const names = item.names.length > 0 ? item.names.join(', ') : '-';
  const tags = item.tags.length > 0 ? `  [${item.tags.join(', ')}]` : '';
  return `${item.sha256}  ${item.fileType.format.padEnd(10)} ${String(item.size).padStart(10)}  ${item.lastSeen}  ${names}${tags}`;
}
