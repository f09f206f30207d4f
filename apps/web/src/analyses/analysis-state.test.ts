import { describe, expect, it } from 'vitest';
import { analysisIdOf, isActive, isLive } from './analysis-state.js';

describe('analysis state', () => {
  it('is active while queued or running', () => {
    expect(['queued', 'running', 'completed', 'failed'].map((state) => isActive({ state }))).toEqual([true, true, false, false]);
  });
  it('is live while a child is still going', () => {
    expect(isLive({ state: 'completed', children: [] })).toBe(false);
    expect(isLive({ state: 'completed', children: [{ state: 'completed' }, { state: 'running' }] as never })).toBe(true);
  });
  it('finds the analysis id in a job payload, whatever the payload', () => {
    expect(analysisIdOf({ analysisId: 'a1' })).toBe('a1');
    expect(analysisIdOf({ analysisId: 3 })).toBeNull();
    expect(analysisIdOf('a1')).toBeNull();
    expect(analysisIdOf(null)).toBeNull();
    expect(analysisIdOf({ ruleSetId: 'r' })).toBeNull();
  });
});
