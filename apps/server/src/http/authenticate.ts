import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { AppError } from '@malpipe/core';
import { authenticateToken, type Principal } from '../auth/api-tokens.js';
import { hasPermission, type Permission } from '../auth/permissions.js';
import type { Database } from '../database/database.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; every /api/v1 route declares one or `public: true`. */
    permission?: Permission;
    public?: boolean;
    /** A JSON Schema documenting a body Fastify does not parse itself (multipart uploads); OpenAPI only. */
    openapiBody?: Readonly<Record<string, unknown>>;
  }
  interface FastifyRequest {
    /** The caller, set by the auth hook on protected routes. */
    principal: Principal | null;
  }
}

export const API_PREFIX = '/api/v1';

/** A registered route, as the auth layer sees it (the security test walks these). */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly permission: Permission | null;
  readonly public: boolean;
}

/**
 * Installs bearer-token authentication. Fails closed at start-up: an /api/v1 route that declares neither a
 * permission nor `public: true` is a programming error and throws while the app is built.
 */
export function installAuth(app: FastifyInstance, db: Database, onRoute?: (route: RouteInfo) => void): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = route.config?.permission ?? null;
    const isPublic = route.config?.public === true;
    if (route.url.startsWith(API_PREFIX) && permission === null && !isPublic) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    }
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD')
        onRoute?.({ method, url: route.url, permission, public: isPublic || permission === null });
    }
  });

  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.permission;
    if (permission === undefined) return;
    const principal = await authenticate(db, request);
    if (!hasPermission(principal.role, permission)) {
      throw new AppError('FORBIDDEN', `role ${principal.role} lacks the "${permission}" permission`);
    }
    request.principal = principal;
  });
}

async function authenticate(db: Database, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (header === undefined)
    throw new AppError('UNAUTHORIZED', 'missing "Authorization: Bearer <token>" header');
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  if (match?.[1] === undefined)
    throw new AppError('UNAUTHORIZED', 'malformed Authorization header (expected "Bearer <token>")');
  const principal = await authenticateToken(db, match[1]);
  if (principal === null) throw new AppError('UNAUTHORIZED', 'unknown or revoked token');
  return principal;
}

/** The caller of a protected route; throws if the route was (wrongly) left unprotected. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new AppError('UNAUTHORIZED', 'this route needs a token');
  return request.principal;
}
