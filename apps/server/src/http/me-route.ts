import { MeSchema } from '@malpipe/api-client';
import { permissionsOf } from '../auth/permissions.js';
import { principalOf } from './authenticate.js';
import type { ZodApp } from './zod-app.js';

/**
 * GET /api/v1/me: who the calling token is and what it may do, so clients (the dashboard) show only the
 * controls the role can use instead of guessing from refusals. Every role has `read`, so any valid token may ask.
 */
export function registerMeRoute(api: ZodApp): void {
  api.get(
    '/me',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The calling token: id, name, role and the permissions that role grants',
        tags: ['tokens'],
        response: { 200: MeSchema },
      },
    },
    async (request) => {
      const { tokenId, name, role } = principalOf(request);
      return { tokenId, name, role, permissions: permissionsOf(role) };
    },
  );
}
