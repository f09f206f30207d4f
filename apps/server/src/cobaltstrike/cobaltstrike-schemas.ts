/** The /api/v1/cobaltstrike wire shapes live in the API client package (one source for server, client, CLI, dashboard). */
export * from '@malpipe/api-client/cobaltstrike-schemas';
