import { AppError } from '@malpipe/core';
import type { HttpServices } from '../http/http-services.js';
import type { ZodApp } from '../http/zod-app.js';
import { getBeaconConfig, listProbeHistory, listTeamServers, searchBeaconConfigs } from './beacon-config-repository.js';
import {
  ConfigDetailSchema,
  ConfigIdParamsSchema,
  ConfigQuerySchema,
  ConfigSearchResponseSchema,
  ProbeHistorySchema,
  ProbeQueuedSchema,
  ProbeRequestSchema,
  ServerListQuerySchema,
  ServerListResponseSchema,
  ServerIdParamsSchema,
} from './cobaltstrike-schemas.js';

/**
 * Cobalt Strike intelligence under /api/v1/cobaltstrike: queue a team-server probe, search configs by
 * watermark / C2 host / public-key MD5 / version, read one config with its samples and servers, list servers
 * and their probe history.
 * Starting a probe needs the `download` permission (analyst and admin): it makes the platform fetch live
 * malware from a host on the internet, the same trust as downloading samples.
 */
export function registerCobaltStrikeRoutes(api: ZodApp, services: Pick<HttpServices, 'db' | 'cobaltStrike'>): void {
  api.post(
    '/cobaltstrike/probe',
    {
      config: { permission: 'download' },
      schema: {
        summary: 'Queue a probe of a suspected team server (download and parse its beacon stage)',
        tags: ['cobaltstrike'],
        body: ProbeRequestSchema,
        response: { 202: ProbeQueuedSchema },
      },
    },
    async (request, reply) => {
      if (services.cobaltStrike === undefined) throw new AppError('CONFIG_INVALID', 'team-server probing is not enabled on this server');
      const jobId = await services.cobaltStrike.enqueueProbe(request.body.target);
      return reply.status(202).send({ jobId, target: request.body.target });
    },
  );

  api.get(
    '/cobaltstrike/configs',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Search beacon configs (filters combine with AND; newest first; pass nextCursor as cursor)',
        tags: ['cobaltstrike'],
        querystring: ConfigQuerySchema,
        response: { 200: ConfigSearchResponseSchema },
      },
    },
    async (request) => searchBeaconConfigs(services.db, request.query),
  );

  api.get(
    '/cobaltstrike/configs/:id',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'One beacon config (native and JPCERT views) with the samples and team servers it was seen in',
        tags: ['cobaltstrike'],
        params: ConfigIdParamsSchema,
        response: { 200: ConfigDetailSchema },
      },
    },
    async (request) => {
      const detail = await getBeaconConfig(services.db, request.params.id);
      return { ...detail, native: detail.native as unknown as Record<string, unknown> };
    },
  );

  api.get(
    '/cobaltstrike/servers',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Known team servers with their probe state and the configs they served',
        tags: ['cobaltstrike'],
        querystring: ServerListQuerySchema,
        response: { 200: ServerListResponseSchema },
      },
    },
    async (request) => ({ servers: await listTeamServers(services.db, request.query) }),
  );

  api.get(
    '/cobaltstrike/servers/:id/probes',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Probe history of one team server (id `host:port`), newest first',
        tags: ['cobaltstrike'],
        params: ServerIdParamsSchema,
        response: { 200: ProbeHistorySchema },
      },
    },
    async (request) => ({ probes: await listProbeHistory(services.db, request.params.id) }),
  );
}
