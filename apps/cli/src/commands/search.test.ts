import { describe, expect, it } from 'vitest';
import { parseSearchQuery } from './search.js';

describe('parseSearchQuery', () => {
  it('turns known prefixes into filters and keeps the rest as free text', () => {
    expect(parseSearchQuery('tag:campaign-x')).toEqual({ tag: 'campaign-x' });
    expect(parseSearchQuery('TAG:a rule:Beacon_x64 type:pe32 invoice')).toEqual({
      tag: 'a',
      yara: 'Beacon_x64',
      type: 'pe32',
      q: 'invoice',
    });
    expect(parseSearchQuery('hxxp://evil[.]example/a')).toEqual({ q: 'hxxp://evil[.]example/a' });
    expect(parseSearchQuery('10.0.0.1:443')).toEqual({ q: '10.0.0.1:443' });
  });

  it('refuses a filter without a value', () => {
    expect(() => parseSearchQuery('tag:')).toThrow(/has no value/);
  });
});
