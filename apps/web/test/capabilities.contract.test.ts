import { describe, expect, it } from 'vitest';
import { ROLES } from '@malpipe/api-client';
import { permissionsOf, ROLE_PERMISSIONS } from '@malpipe/server/auth/permissions';
import { capabilitiesOf } from '../src/auth/capabilities.js';

/** What each role should see, given what GET /me answers for it (the server's permissionsOf). */
const EXPECTED = {
  reader: { submit: false, download: false, manageJobs: false, deployRulesets: false, probeServers: false },
  submitter: { submit: true, download: false, manageJobs: false, deployRulesets: false, probeServers: false },
  analyst: { submit: true, download: true, manageJobs: false, deployRulesets: false, probeServers: true },
  admin: { submit: true, download: true, manageJobs: true, deployRulesets: true, probeServers: true },
} as const;

describe('dashboard capabilities follow the server role table through GET /me', () => {
  it.each(ROLES.map((role) => [role]))('%s', (role) => {
    expect(new Set(permissionsOf(role))).toEqual(ROLE_PERMISSIONS[role]);
    expect(capabilitiesOf({ role, permissions: permissionsOf(role) })).toEqual({ role, ...EXPECTED[role] });
  });
});
