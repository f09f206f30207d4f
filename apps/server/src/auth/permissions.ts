import { PERMISSIONS, type Permission, type Role } from '@malpipe/api-client';

/** What a route may require (the list lives in the API schemas so GET /me can name them). Each route declares exactly one; the auth hook checks it against the table below. */
export { PERMISSIONS, ROLES, type Permission, type Role } from '@malpipe/api-client';

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

/** The permissions of a role, in PERMISSIONS order (GET /me). */
export function permissionsOf(role: Role): Permission[] {
  return PERMISSIONS.filter((permission) => ROLE_PERMISSIONS[role].has(permission));
}
