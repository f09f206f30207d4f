import { describe, expect, it } from 'vitest';
import { matchRoute, paths, safeNextPath } from './routes.js';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('matchRoute', () => {
  it.each([
    ['/', { name: 'samples' }],
    ['/samples', { name: 'samples' }],
    ['/samples/', { name: 'samples' }],
    [`/samples/${SHA256}`, { name: 'sample', hash: SHA256 }],
    ['/upload', { name: 'upload' }],
    ['/analyses/an%2F1', { name: 'analysis', id: 'an/1' }],
    ['/jobs', { name: 'jobs' }],
    ['/sign-in', { name: 'sign-in' }],
    ['/rulesets', { name: 'rulesets' }],
    ['/rulesets/0123456789abcdef', { name: 'ruleset', version: '0123456789abcdef' }],
    ['/rules/Webshell_PHP', { name: 'rule', ruleName: 'Webshell_PHP' }],
    ['/cobaltstrike', { name: 'cs-configs' }],
    ['/cobaltstrike/configs', { name: 'cs-configs' }],
    [`/cobaltstrike/configs/${SHA256}`, { name: 'cs-config', id: SHA256 }],
    ['/cobaltstrike/servers', { name: 'cs-servers' }],
    ['/cobaltstrike/servers/%5B2001%3Adb8%3A%3A1%5D%3A443', { name: 'cs-server', id: '[2001:db8::1]:443' }],
  ])('%s', (path, route) => {
    expect(matchRoute(path)).toEqual(route);
  });
  it.each([['/nope'], ['/samples/a/b'], ['/samples/%E0%A4%A'], ['/upload/x'], ['/rulesets/a/b'], ['/rules'], ['/cobaltstrike/configs/a/b'], ['/cobaltstrike/other']])('%s is not found', (path) => {
    expect(matchRoute(path)).toEqual({ name: 'not-found', path });
  });
  it('builds paths that match back', () => {
    expect(matchRoute(paths.sample(SHA256))).toEqual({ name: 'sample', hash: SHA256 });
    expect(matchRoute(paths.analysis('a b/c'))).toEqual({ name: 'analysis', id: 'a b/c' });
    expect(paths.samples('q=x')).toBe('/?q=x');
    expect(matchRoute(paths.csServer('10.0.0.1:8443'))).toEqual({ name: 'cs-server', id: '10.0.0.1:8443' });
    expect(matchRoute(paths.rule('a_b'))).toEqual({ name: 'rule', ruleName: 'a_b' });
    expect(paths.csConfigs('watermark=1')).toBe('/cobaltstrike/configs?watermark=1');
    expect(paths.signIn('/samples/x?y=1')).toBe('/sign-in?next=%2Fsamples%2Fx%3Fy%3D1');
    expect(paths.signIn('/')).toBe('/sign-in');
  });
});

describe('safeNextPath', () => {
  it.each([
    ['/samples/abc?x=1', '/samples/abc?x=1'],
    [null, '/'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['/sign-in?next=/x', '/'],
  ])('%s -> %s', (next, path) => {
    expect(safeNextPath(next)).toBe(path);
  });
});
