import { describe, expect, it } from 'vitest';
import { interpretQuery } from './interpret-query.js';

describe(interpretQuery.name, () => {
  it.each([
    ['D41D8CD98F00B204E9800998ECF8427E', { kind: 'hash', value: 'd41d8cd98f00b204e9800998ecf8427e' }],
    ['hxxps://evil[.]example/path', { kind: 'ioc', value: 'https://evil.example/path' }],
    ['203.0.113[.]7', { kind: 'ioc', value: '203.0.113.7' }],
    ['198.51.100.2:8443', { kind: 'ioc', value: '198.51.100.2:8443' }],
    ['ops[@]evil.example', { kind: 'ioc', value: 'ops@evil.example' }],
    ['2001:db8::1', { kind: 'ioc', value: '2001:db8::1' }],
    ['Evil.Example.NET', { kind: 'domain', value: 'evil.example.net' }],
    ['emotet', { kind: 'text', value: 'emotet' }],
    ['  CobaltStrike_Beacon ', { kind: 'text', value: 'CobaltStrike_Beacon' }],
  ])('%s', (query, expected) => {
    expect(interpretQuery(query)).toEqual(expected);
  });
});
