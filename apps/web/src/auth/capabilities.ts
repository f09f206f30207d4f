import type { Me, Permission, Role } from '@malpipe/api-client';

/**
 * What the signed-in token may do, to hide controls it cannot use. Learnt from `GET /api/v1/me` (the token's role
 * and that role's permissions); until it answers, controls stay visible and a refused call shows the server's
 * message. The server decides either way.
 */

export interface Capabilities {
  readonly role: Role | null;
  readonly submit: boolean;
  readonly download: boolean;
  readonly manageJobs: boolean;
  /** Deploy a ruleset version or roll back (the server's admin operations permission). */
  readonly deployRulesets: boolean;
  /** Queue a Cobalt Strike team-server probe (fetches live malware: the download permission). */
  readonly probeServers: boolean;
}

type Capability = Exclude<keyof Capabilities, 'role'>;

/** The permission each control needs, as the server's routes declare it (test/capabilities.contract.test.ts). */
export const CAPABILITY_PERMISSIONS: Readonly<Record<Capability, Permission>> = {
  submit: 'submit',
  download: 'download',
  manageJobs: 'jobs:manage',
  deployRulesets: 'jobs:manage',
  probeServers: 'download',
};

/** Role unknown (GET /me not answered yet): show everything and let the server refuse. */
export const UNKNOWN_CAPABILITIES: Capabilities = {
  role: null,
  submit: true,
  download: true,
  manageJobs: true,
  deployRulesets: true,
  probeServers: true,
};

/** The capabilities of the token `GET /me` describes: a control is shown when its permission was granted. */
export function capabilitiesOf(me: Pick<Me, 'role' | 'permissions'>): Capabilities {
  const granted = new Set<Permission>(me.permissions);
  const has = (capability: Capability): boolean => granted.has(CAPABILITY_PERMISSIONS[capability]);
  return {
    role: me.role,
    submit: has('submit'),
    download: has('download'),
    manageJobs: has('manageJobs'),
    deployRulesets: has('deployRulesets'),
    probeServers: has('probeServers'),
  };
}
