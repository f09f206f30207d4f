import { z } from 'zod';

/**
 * Wire shapes of the /api/v1/cobaltstrike routes, shared by the routes, the client, the CLI (`malpipe cs export`)
 * and the dashboard's Cobalt Strike pages.
 * Config bodies (native, JPCERT) are passed through as JSON objects: their shape belongs to the parser.
 */
export const ProbeRequestSchema = z.object({
  /** `host:port`, `[v6]:port`, or an http(s) URL (e.g. a stager's stage URL). */
  target: z.string().trim().min(1).max(2048),
});

export const ProbeQueuedSchema = z.object({ jobId: z.string(), target: z.string() });

export const ConfigQuerySchema = z.object({
  watermark: z.coerce.number().int().min(0).max(0xffffffff).optional(),
  c2: z.string().min(1).max(255).optional(),
  publicKeyMd5: z.string().regex(/^[0-9a-fA-F]{32}$/).optional(),
  version: z.string().min(1).max(16).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(200).optional(),
});

export const ConfigSummarySchema = z.object({
  id: z.string(),
  watermark: z.number().nullable(),
  publicKeyMd5: z.string().nullable(),
  c2Hosts: z.array(z.string()),
  version: z.string().nullable(),
  architecture: z.string().nullable(),
  trial: z.boolean(),
  firstSeen: z.string(),
  lastSeen: z.string(),
});

export const ConfigSearchResponseSchema = z.object({ configs: z.array(ConfigSummarySchema), nextCursor: z.string().nullable() });

export const TeamServerSchema = z.object({
  id: z.string(),
  host: z.string(),
  port: z.number(),
  address: z.string().nullable(),
  firstSeen: z.string(),
  lastSeen: z.string().nullable(),
  lastProbedAt: z.string().nullable(),
  lastOutcome: z.string().nullable(),
  probeCount: z.number(),
});

export const ConfigDetailSchema = ConfigSummarySchema.extend({
  native: z.record(z.string(), z.unknown()),
  jpcert: z.record(z.string(), z.unknown()).nullable(),
  samples: z.array(z.object({ sha256: z.string(), analyzer: z.string(), firstSeen: z.string() })),
  servers: z.array(TeamServerSchema.extend({ scheme: z.string(), configFirstSeen: z.string(), configLastSeen: z.string() })),
});

export const ServerListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

export const ServerListResponseSchema = z.object({ servers: z.array(TeamServerSchema.extend({ configIds: z.array(z.string()) })) });

export const ConfigIdParamsSchema = z.object({ id: z.string().regex(/^[0-9a-f]{64}$/) });


export const ServerIdParamsSchema = z.object({ id: z.string().min(3).max(300) });

export const ProbeHistorySchema = z.object({
  probes: z.array(
    z.object({
      probeId: z.string(),
      url: z.string(),
      scheme: z.string().nullable(),
      arch: z.string().nullable(),
      address: z.string().nullable(),
      probedAt: z.string(),
      outcome: z.string(),
      httpStatus: z.number().nullable(),
      error: z.string().nullable(),
      configId: z.string().nullable(),
      responseKey: z.string().nullable(),
      bodySize: z.number(),
      tls: z.record(z.string(), z.unknown()).nullable(),
      headers: z.record(z.string(), z.unknown()),
    }),
  ),
});

export type ProbeRequest = z.infer<typeof ProbeRequestSchema>;
export type ProbeQueued = z.infer<typeof ProbeQueuedSchema>;
export type ConfigQuery = z.infer<typeof ConfigQuerySchema>;
export type ConfigSummary = z.infer<typeof ConfigSummarySchema>;
export type ConfigSearchResponse = z.infer<typeof ConfigSearchResponseSchema>;
export type ConfigDetail = z.infer<typeof ConfigDetailSchema>;
export type ServerListQuery = z.infer<typeof ServerListQuerySchema>;
export type ServerListResponse = z.infer<typeof ServerListResponseSchema>;
export type TeamServerSummary = ServerListResponse['servers'][number];
export type ProbeHistory = z.infer<typeof ProbeHistorySchema>;
export type ProbeRecord = ProbeHistory['probes'][number];
