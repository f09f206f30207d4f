import type { Role } from '@malpipe/api-client';

export { ROLES, type Role } from '@malpipe/api-client';

/** What a route may require. Each route declares exactly one; the auth hook checks it against this table. */
export const PERMISSIONS = ['read', 'submit', 'download', 'tokens:manage', 'jobs:manage'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * The explicit role table (no inheritance by rank, so a change to one role never leaks into another):
 * reader reads and searches; submitter also submits samples and hashes; analyst also downloads samples;
 * admin also manages tokens and the job queue.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  reader: new Set(['read']),
  submitter: new Set(['read', 'submit']),
  analyst: new Set(['read', 'submit', 'download']),
  admin: new Set(['read', 'submit', 'download', 'tokens:manage', 'jobs:manage']),
};

export function hasPermission(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
