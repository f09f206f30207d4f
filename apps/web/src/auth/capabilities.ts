import { ROLES, type Role } from '@malpipe/api-client';

/**
 * What the signed-in token may do, to hide controls it cannot use. The API has no "who am I" route yet, so
 * the role is learnt from a probe (an admin-only call succeeds, or its 403 names the role); while unknown,
 * controls stay visible and a refused call shows the server's message. The server decides either way.
 */

export interface Capabilities {
  readonly role: Role | null;
  readonly submit: boolean;
  readonly download: boolean;
  readonly manageJobs: boolean;
}

/** Mirrors the server's ROLE_PERMISSIONS (test/capabilities.contract.test.ts keeps them equal). */
export const ROLE_CAPABILITIES: Readonly<Record<Role, Omit<Capabilities, 'role'>>> = {
  reader: { submit: false, download: false, manageJobs: false },
  submitter: { submit: true, download: false, manageJobs: false },
  analyst: { submit: true, download: true, manageJobs: false },
  admin: { submit: true, download: true, manageJobs: true },
};

/** Role unknown: show everything and let the server refuse. */
export const UNKNOWN_CAPABILITIES: Capabilities = { role: null, submit: true, download: true, manageJobs: true };

export function capabilitiesOf(role: Role | null): Capabilities {
  return role === null ? UNKNOWN_CAPABILITIES : { role, ...ROLE_CAPABILITIES[role] };
}

/** The role named in a FORBIDDEN message (`role analyst lacks the "jobs:manage" permission`), if any. */
export function roleFromForbiddenMessage(message: string): Role | null {
  const match = /\brole ([a-z]+)\b/.exec(message);
  const name = match?.[1];
  return name !== undefined && (ROLES as readonly string[]).includes(name) ? (name as Role) : null;
}
