import { describe, expect, it } from 'vitest';
import { capabilitiesOf, UNKNOWN_CAPABILITIES } from './capabilities.js';

describe('capabilitiesOf', () => {
  it('shows a control only when GET /me granted its permission', () => {
    expect(capabilitiesOf({ role: 'submitter', permissions: ['read', 'submit'] })).toEqual({
      role: 'submitter',
      submit: true,
      download: false,
      manageJobs: false,
      deployRulesets: false,
      probeServers: false,
    });
    expect(capabilitiesOf({ role: 'analyst', permissions: ['read', 'submit', 'download'] })).toMatchObject({ probeServers: true, deployRulesets: false });
    expect(capabilitiesOf({ role: 'reader', permissions: ['read'] }).submit).toBe(false);
  });
  it('trusts the permissions, not the role name', () => {
    expect(capabilitiesOf({ role: 'admin', permissions: ['read'] })).toMatchObject({ manageJobs: false, deployRulesets: false });
  });
  it('shows everything while the role is unknown', () => {
    expect(Object.values(UNKNOWN_CAPABILITIES).filter((v) => v === false)).toEqual([]);
  });
});
