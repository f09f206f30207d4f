import { describe, expect, it } from 'vitest';
import { ROLES } from '@malpipe/api-client';
import { ROLE_PERMISSIONS } from '@malpipe/server/auth/permissions';
import { ROLE_CAPABILITIES } from '../src/auth/capabilities.js';

describe('dashboard capabilities match the server role table', () => {
  it.each(ROLES.map((role) => [role]))('%s', (role) => {
    const permissions = ROLE_PERMISSIONS[role];
    expect(ROLE_CAPABILITIES[role]).toEqual({
      submit: permissions.has('submit'),
      download: permissions.has('download'),
      manageJobs: permissions.has('jobs:manage'),
    });
  });
});
