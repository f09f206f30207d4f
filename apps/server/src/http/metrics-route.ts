import type { FastifyInstance } from 'fastify';

/**
 * GET /metrics in the Prometheus text format, outside /api/v1 where scrapers expect it. It needs a token with
 * the `read` permission (Prometheus `authorization: { credentials: mp_... }`): queue depths are not secret,
 * but the API may face networks that should not see them.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: () => Promise<string>): void {
  app.get(
    '/metrics',
    { config: { permission: 'read', rateLimit: false }, schema: { hide: true } },
    async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics()),
  );
}
