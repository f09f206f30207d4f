import { AppError } from '@malpipe/core';
import {
  AnalysisStatusSchema,
  HashRequestSchema,
  IdParamsSchema,
  SearchQuerySchema,
  SearchResponseSchema,
  SubmitHashesRequestSchema,
  SubmitHashesResponseSchema,
} from '@malpipe/api-client';
import { getHashRequest, submitHashes } from '../hashes/submit-hashes.js';
import { searchSamples } from '../search/search-samples.js';
import { principalOf } from './authenticate.js';
import type { HttpServices } from './http-services.js';
import type { ZodApp } from './zod-app.js';

/** Hash submissions, search and analysis status. */
export function registerQueryRoutes(api: ZodApp, services: HttpServices): void {
  api.post(
    '/hashes',
    {
      config: { permission: 'submit' },
      schema: {
        summary:
          'Submit hashes (a list, or free text to extract them from); known samples are linked at once',
        tags: ['hashes'],
        body: SubmitHashesRequestSchema,
        response: { 202: SubmitHashesResponseSchema },
      },
    },
    async (request, reply) => {
      const hashes = await submitHashes(services.db, {
        ...request.body,
        requestedBy: principalOf(request).tokenId,
        fetchQueue: services.fetchQueue,
      });
      return reply.status(202).send({ hashes });
    },
  );

  api.get(
    '/hashes/:id',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The state of one hash request',
        tags: ['hashes'],
        params: IdParamsSchema,
        response: { 200: HashRequestSchema },
      },
    },
    async (request) => getHashRequest(services.db, request.params.id),
  );

  api.get(
    '/search',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Search samples (filters combine with AND; pass nextCursor back as cursor for the next page)',
        tags: ['search'],
        querystring: SearchQuerySchema,
        response: { 200: SearchResponseSchema },
      },
    },
    async (request) => searchSamples(services.db, request.query),
  );

  api.get(
    '/analyses/:id',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The status of one analysis: state, results so far, child analyses',
        tags: ['analyses'],
        params: IdParamsSchema,
        response: { 200: AnalysisStatusSchema },
      },
    },
    async (request) => {
      const analysis = await services.getAnalysis(request.params.id);
      if (analysis === null) throw new AppError('NOT_FOUND', `no analysis with id ${request.params.id}`);
      return analysis;
    },
  );
}
