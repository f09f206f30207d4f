import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAGE_SIZE,
  EMPTY_SEARCH,
  detectHash,
  formatSearchInput,
  hasCriteria,
  nextPage,
  pageNumber,
  parseSearchInput,
  parseSearchParams,
  previousPage,
  readTrail,
  toApiQuery,
  toDateBound,
  toSearchParams,
  tokenizeSearchInput,
  type SearchState,
} from './search-state.js';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('detectHash', () => {
  it.each([
    ['d41d8cd98f00b204e9800998ecf8427e', 'md5'],
    ['da39a3ee5e6b4b0d3255bfef95601890afd80709', 'sha1'],
    [SHA256, 'sha256'],
    [` ${SHA256.toUpperCase()}\n`, 'sha256'],
    ['a'.repeat(128), 'sha512'],
  ])('%s is %s', (text, kind) => {
    expect(detectHash(text)).toBe(kind);
  });
  it.each([[''], ['abc'], ['g'.repeat(32)], ['a'.repeat(33)], [`${SHA256} x`], ['evil.exe']])('%s is no hash', (text) => {
    expect(detectHash(text)).toBeNull();
  });
});

describe('query string', () => {
  it('round-trips a full state in a stable order', () => {
    const state: SearchState = {
      q: 'evil dropper',
      filters: { tag: 'phishing', type: 'pe32', yara: 'CobaltStrike_Beacon', from: '2026-01-01' },
      limit: 100,
      cursor: 'abc==',
    };
    const qs = toSearchParams(state);
    expect(qs).toBe('q=evil+dropper&type=pe32&tag=phishing&yara=CobaltStrike_Beacon&from=2026-01-01&limit=100&cursor=abc%3D%3D');
    expect(parseSearchParams(qs)).toEqual(state);
  });
  it('leaves defaults out and ignores junk', () => {
    expect(toSearchParams(EMPTY_SEARCH)).toBe('');
    expect(parseSearchParams('?q=&tag=%20&limit=zero&colour=red&cursor=')).toEqual(EMPTY_SEARCH);
    expect(parseSearchParams('limit=100000').limit).toBe(200);
    expect(parseSearchParams('limit=-3').limit).toBe(DEFAULT_PAGE_SIZE);
  });
});

describe('search box', () => {
  it('tokenizes with double quotes', () => {
    expect(tokenizeSearchInput('  name:"my file.exe"  tag:x "two words" ')).toEqual(['name:my file.exe', 'tag:x', 'two words']);
  });
  it('separates filters from free text and keeps unknown prefixes as text', () => {
    const parsed = parseSearchInput('TAG:phishing http://evil.example/a 10.0.0.1:443 yara:Beacon_x64');
    expect(parsed.filters).toEqual({ tag: 'phishing', yara: 'Beacon_x64' });
    expect(parsed.q).toBe('http://evil.example/a 10.0.0.1:443');
    expect(parsed.problems).toEqual([]);
  });
  it('reports bad hashes, bad dates, empty and repeated filters', () => {
    const parsed = parseSearchInput('hash:xyz from:2026-02-30 to:yesterday tag: tag:a tag:b');
    expect(parsed.filters.tag).toBe('b');
    expect(parsed.problems).toEqual([
      'tag: has no value',
      'tag: given twice, using "b"',
      'hash: "xyz" is not an MD5, SHA-1, SHA-256 or SHA-512',
      'from: "2026-02-30" is not a date (YYYY-MM-DD or ISO 8601 with a time zone)',
      'to: "yesterday" is not a date (YYYY-MM-DD or ISO 8601 with a time zone)',
    ]);
  });
  it('formats back to text that parses to the same search', () => {
    const state = { q: 'dropper', filters: { name: 'my file.exe', tag: 'apt' } };
    const text = formatSearchInput(state);
    expect(text).toBe('name:"my file.exe" tag:apt dropper');
    const parsed = parseSearchInput(text);
    expect({ q: parsed.q, filters: parsed.filters }).toEqual(state);
  });
  it('knows whether there is anything to search for', () => {
    expect(hasCriteria(EMPTY_SEARCH)).toBe(false);
    expect(hasCriteria({ q: '', filters: { tag: 'x' } })).toBe(true);
  });
});

describe('toApiQuery', () => {
  it('maps filters and widens day bounds to UTC instants', () => {
    const query = toApiQuery({
      q: 'x',
      filters: { hash: ` ${SHA256} `, from: '2026-01-01', to: '2026-01-31', ioc: 'evil.example' },
      limit: 25,
      cursor: 'c1',
    });
    expect(query).toEqual({
      q: 'x',
      hash: SHA256,
      ioc: 'evil.example',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-31T23:59:59.999Z',
      limit: 25,
      cursor: 'c1',
    });
  });
  it('drops invalid dates rather than sending a request the API refuses', () => {
    expect(toApiQuery({ ...EMPTY_SEARCH, filters: { from: 'soon' } })).toEqual({ limit: DEFAULT_PAGE_SIZE });
  });
  it('accepts full ISO timestamps with an offset only', () => {
    expect(toDateBound('2026-01-01T10:00:00+02:00', 'from')).toBe('2026-01-01T10:00:00+02:00');
    expect(toDateBound('2026-01-01T10:00:00', 'from')).toBeNull();
  });
});

describe('cursor trail', () => {
  it('goes forward and back through pages', () => {
    const first: SearchState = { ...EMPTY_SEARCH, q: 'x' };
    const second = nextPage(first, { previous: [] }, 'c2');
    const third = nextPage(second.state, second.trail, 'c3');
    expect(third.state.cursor).toBe('c3');
    expect(pageNumber(third.state, third.trail)).toBe(3);
    const back = previousPage(third.state, third.trail);
    expect(back.state.cursor).toBe('c2');
    const start = previousPage(back.state, back.trail);
    expect(start.state.cursor).toBeNull();
    expect(pageNumber(start.state, start.trail)).toBe(1);
  });
  it('goes to the first page from a linked page without a trail', () => {
    const linked: SearchState = { ...EMPTY_SEARCH, cursor: 'c9' };
    expect(pageNumber(linked, { previous: [] })).toBeNull();
    expect(previousPage(linked, { previous: [] }).state.cursor).toBeNull();
  });
  it('reads a trail from whatever history.state holds', () => {
    expect(readTrail(null)).toEqual({ previous: [] });
    expect(readTrail({ previous: 'x' })).toEqual({ previous: [] });
    expect(readTrail({ previous: [null, 'c2', 3] })).toEqual({ previous: [null, 'c2'] });
  });
});
