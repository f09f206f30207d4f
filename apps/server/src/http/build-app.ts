import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { AppError } from '@malpipe/core';
import { HealthSchema } from '@malpipe/api-client';
import type { Config } from '../config.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerMeRoute } from './me-route.js';
import { registerMetricsRoute } from './metrics-route.js';
import { registerCobaltStrikeRoutes } from '../cobaltstrike/cobaltstrike-routes.js';
import { API_PREFIX, installAuth, type RouteInfo } from './authenticate.js';
import { handleError } from './error-handler.js';
import type { HttpServices } from './http-services.js';
import { registerQueryRoutes } from './query-routes.js';
import { registerRulesetRoutes } from '../rulesets/rulesets-routes.js';
import { registerSampleRoutes } from './samples-routes.js';

export const API_VERSION = '0.1.0';
/** JSON bodies: 10,000 SHA-256 hashes take ~700 KB; pasted reports may be larger. */
const JSON_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url));

export interface BuildHttpAppOptions {
  /** The root pino logger (main.ts); default: no logging. */
  readonly logger?: FastifyBaseLogger;
  /** The dashboard build to serve at `/`; default apps/web/dist; null disables it. */
  readonly webRoot?: string | null;
  /** Called for every registered route (the security test walks them). */
  readonly onRoute?: (route: RouteInfo) => void;
}

/**
 * The HTTP API: Fastify with zod schemas on every route (validation, serialisation and the OpenAPI document
 * at /api/openapi.json, docs at /api/docs), bearer-token auth with per-role permissions and per-token rate
 * limits, one JSON error shape, and the dashboard at `/` when it has been built. Call `listen()` or
 * `inject()` on the result; closing it does not close the services.
 */
export async function buildHttpApp(
  services: HttpServices,
  config: Pick<Config, 'http' | 'dataDir'>,
  options: BuildHttpAppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    // Client-supplied request ids would let callers forge log correlation.
    genReqId: () => crypto.randomUUID(),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);

  installAuth(app, services.db, options.onRoute);

  await app.register(fastifyRateLimit, {
    global: true,
    // After the auth hook (onRequest), so the key is the token rather than the client address.
    hook: 'preValidation',
    timeWindow: 60_000,
    max: (request) => request.principal?.rateLimitPerMinute ?? config.http.rateLimitPerMinute,
    keyGenerator: (request) =>
      request.principal === null ? `ip:${request.ip}` : `token:${request.principal.tokenId}`,
    errorResponseBuilder: (_request, context) =>
      new AppError(
        'RATE_LIMITED',
        `rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`,
        {
          details: { limitPerMinute: context.max, retryAfterMs: context.ttl },
        },
      ),
  });

  await app.register(fastifyMultipart, {
    limits: { fileSize: config.http.uploadLimitBytes },
    throwFileSizeLimit: true,
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'malpipe API',
        description: 'Automated malware analysis: submit samples and hashes, read reports, search.',
        version: API_VERSION,
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an mp_... API token' } },
      },
      security: [{ bearer: [] }],
    },
    transform: (input) => {
      const output = jsonSchemaTransform(input);
      const body = input.route.config?.openapiBody;
      return body === undefined ? output : { ...output, schema: { ...output.schema, body } };
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  await app.register(
    async (api) => {
      const zodApi = api.withTypeProvider<ZodTypeProvider>();
      zodApi.get(
        '/health',
        {
          config: { public: true, rateLimit: false },
          schema: {
            summary: 'Liveness check (no token needed)',
            tags: ['health'],
            security: [],
            response: { 200: HealthSchema },
          },
        },
        async () => ({ status: 'ok' as const, version: API_VERSION }),
      );
      registerSampleRoutes(zodApi, services, {
        uploadLimitBytes: config.http.uploadLimitBytes,
        tmpDir: join(config.dataDir, 'tmp', 'uploads'),
      });
      registerQueryRoutes(zodApi, services);
      registerAdminRoutes(zodApi, services);
      registerMeRoute(zodApi);
      registerCobaltStrikeRoutes(zodApi, services);
      registerRulesetRoutes(zodApi, services);
    },
    { prefix: API_PREFIX },
  );
  if (services.metrics !== undefined) registerMetricsRoute(app, services.metrics);

  const webRoot = options.webRoot === undefined ? DEFAULT_WEB_ROOT : options.webRoot;
  const serveDashboard = webRoot !== null && existsSync(`${webRoot}/index.html`);
  if (serveDashboard) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: ['index.html'] });
  }

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // SPA fallback: client-side routes (/samples/abc...) load the dashboard, which routes itself.
    if (serveDashboard && request.method === 'GET' && !path.startsWith('/api/') && path !== '/api') {
      return reply.type('text/html; charset=utf-8').sendFile('index.html');
    }
    throw new AppError('NOT_FOUND', `no route ${request.method} ${path}`);
  });

  return app;
}
