import { AppError } from '@malpipe/core';
import {
  CreateTokenRequestSchema,
  CreatedTokenSchema,
  IdParamsSchema,
  JobListQuerySchema,
  JobListSchema,
  JobSchema,
  TokenListSchema,
  TokenSchema,
  type Job,
} from '@malpipe/api-client';
import { createApiToken, listApiTokens, revokeApiToken } from '../auth/api-tokens.js';
import type { JobRecord } from '../queue/job-queue.js';
import type { HttpServices } from './http-services.js';
import type { ZodApp } from './zod-app.js';

/** Tokens and the job queue. */
export function registerAdminRoutes(api: ZodApp, services: HttpServices): void {
  api.get(
    '/jobs/:id',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'One queue job record',
        tags: ['jobs'],
        params: IdParamsSchema,
        response: { 200: JobSchema },
      },
    },
    async (request) => toApiJob(await getJob(services, request.params.id)),
  );

  api.get(
    '/jobs',
    {
      config: { permission: 'jobs:manage' },
      schema: {
        summary: 'List queue jobs, e.g. ?state=dead',
        tags: ['jobs'],
        querystring: JobListQuerySchema,
        response: { 200: JobListSchema },
      },
    },
    async (request) => {
      const filter =
        request.query.state === undefined
          ? { limit: request.query.limit }
          : { state: request.query.state, limit: request.query.limit };
      const jobs = await services.queue.list(filter);
      return { jobs: jobs.map(toApiJob) };
    },
  );

  api.post(
    '/jobs/:id/retry',
    {
      config: { permission: 'jobs:manage' },
      schema: {
        summary: 'Put a dead or failed job back in the queue',
        tags: ['jobs'],
        params: IdParamsSchema,
        response: { 200: JobSchema },
      },
    },
    async (request) => {
      await getJob(services, request.params.id);
      await services.queue.retry(request.params.id);
      return toApiJob(await getJob(services, request.params.id));
    },
  );

  api.post(
    '/tokens',
    {
      config: { permission: 'tokens:manage' },
      schema: {
        summary: 'Create an API token (the secret is returned once)',
        tags: ['tokens'],
        body: CreateTokenRequestSchema,
        response: { 201: CreatedTokenSchema },
      },
    },
    async (request, reply) => {
      const { token, secret } = await createApiToken(services.db, request.body);
      request.log.info(
        { tokenId: token.id, role: token.role, by: request.principal?.tokenId },
        'token created',
      );
      return reply.status(201).send({ ...token, token: secret });
    },
  );

  api.get(
    '/tokens',
    {
      config: { permission: 'tokens:manage' },
      schema: {
        summary: 'List API tokens (never their secrets)',
        tags: ['tokens'],
        response: { 200: TokenListSchema },
      },
    },
    async () => ({ tokens: await listApiTokens(services.db) }),
  );

  api.delete(
    '/tokens/:id',
    {
      config: { permission: 'tokens:manage' },
      schema: {
        summary: 'Revoke an API token',
        tags: ['tokens'],
        params: IdParamsSchema,
        response: { 200: TokenSchema },
      },
    },
    async (request) => {
      const token = await revokeApiToken(services.db, request.params.id);
      request.log.info({ tokenId: token.id, by: request.principal?.tokenId }, 'token revoked');
      return token;
    },
  );
}

async function getJob(services: HttpServices, id: string): Promise<JobRecord> {
  const job = await services.queue.get(id);
  if (job === null) throw new AppError('JOB_NOT_FOUND', `no job with id ${id}`);
  return job;
}

function toApiJob(job: JobRecord): Job {
  return {
    id: job.id,
    name: job.name,
    payload: job.payload,
    state: job.state,
    priority: job.priority,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    lastError: job.lastError,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}
