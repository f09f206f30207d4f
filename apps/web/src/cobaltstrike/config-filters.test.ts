import { describe, expect, it } from 'vitest';
import { configSearchFromUrl, configSearchToUrl, EMPTY_CONFIG_FILTERS, hasFilters, toConfigQuery } from './config-filters.js';

describe('config search <-> URL', () => {
  it('round-trips filters and the cursor, leaving empty fields out', () => {
    const state = { filters: { ...EMPTY_CONFIG_FILTERS, watermark: '1359593325', c2: 'cdn.example.org' }, cursor: 'abc' };
    const url = configSearchToUrl(state);
    expect(url).toBe('watermark=1359593325&c2=cdn.example.org&cursor=abc');
    expect(configSearchFromUrl(`?${url}`)).toEqual(state);
    expect(configSearchToUrl({ filters: EMPTY_CONFIG_FILTERS, cursor: null })).toBe('');
    expect(configSearchFromUrl('?cursor=&version=%204.9%20')).toEqual({ filters: { ...EMPTY_CONFIG_FILTERS, version: '4.9' }, cursor: null });
  });
  it('knows when a search is filtered', () => {
    expect(hasFilters(EMPTY_CONFIG_FILTERS)).toBe(false);
    expect(hasFilters({ ...EMPTY_CONFIG_FILTERS, c2: ' x ' })).toBe(true);
  });
});

describe('toConfigQuery', () => {
  it('builds the API query with the watermark as a number', () => {
    const result = toConfigQuery({ filters: { watermark: '0', c2: '', publicKeyMd5: 'ABCDEF0123456789abcdef0123456789', version: '4.9' }, cursor: 'c1' }, 20);
    expect(result).toEqual({ ok: true, query: { watermark: 0, publicKeyMd5: 'ABCDEF0123456789abcdef0123456789', version: '4.9', limit: 20, cursor: 'c1' } });
  });
  it.each([
    ['watermark', '12abc'],
    ['watermark', '1e3'],
    ['watermark', '4294967296'],
    ['watermark', '-1'],
    ['publicKeyMd5', 'abc'],
    ['c2', 'x'.repeat(256)],
    ['version', 'v'.repeat(17)],
  ] as const)('refuses %s = %s as the server would', (field, value) => {
    const result = toConfigQuery({ filters: { ...EMPTY_CONFIG_FILTERS, [field]: value }, cursor: null });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(Object.keys(result.errors)).toEqual([field]);
  });
});
