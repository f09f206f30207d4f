import { describe, expect, it } from 'vitest';
import { capabilitiesOf, roleFromForbiddenMessage } from './capabilities.js';

describe('capabilities', () => {
  it('reads the role from a FORBIDDEN message', () => {
    expect(roleFromForbiddenMessage('role analyst lacks the "jobs:manage" permission')).toBe('analyst');
    expect(roleFromForbiddenMessage('role root lacks everything')).toBeNull();
    expect(roleFromForbiddenMessage('forbidden')).toBeNull();
  });
  it('shows only what a known role may do, everything while unknown', () => {
    expect(capabilitiesOf('submitter')).toEqual({ role: 'submitter', submit: true, download: false, manageJobs: false });
    expect(capabilitiesOf('reader').submit).toBe(false);
    expect(capabilitiesOf(null)).toMatchObject({ download: true, manageJobs: true });
  });
});
