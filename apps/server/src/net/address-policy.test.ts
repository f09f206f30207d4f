import { describe, expect, it } from 'vitest';
import { checkHost, compileAddressPolicy, deniedAddressReason, isAddressAllowed, isPrivateAddress, type HostLookup } from './address-policy.js';

describe('deniedAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.1.2.3', 'private'],
    ['172.20.1.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['0.0.0.0', 'this network'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fd00::1', 'unique local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2002:a00:1::1', '6to4'],
    ['64:ff9b:1::1', 'NAT64 local use'],
    // IPv6 literals that carry an IPv4 address are judged by that address, in every spelling.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:0:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
  ])('denies %s (%s)', (address, label) => {
    expect(deniedAddressReason(address)).toContain(label);
    expect(isPrivateAddress(address)).toBe(true);
    expect(isAddressAllowed(address, {})).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8'])(
    'allows public unicast %s',
    (address) => {
      expect(deniedAddressReason(address)).toBeNull();
      expect(isPrivateAddress(address)).toBe(false);
      expect(isAddressAllowed(address, {})).toBe(true);
    },
  );

  it('refuses what is not an IP literal', () => {
    expect(deniedAddressReason('localhost')).toBe('not an IP address');
    expect(isAddressAllowed('localhost', { allowedNetworks: ['127.0.0.0/8'] })).toBe(false);
  });
});

describe(compileAddressPolicy.name, () => {
  it('allows loopback only when asked for tests', () => {
    const filter = compileAddressPolicy({ allowLoopbackForTests: true });
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(filter(address)).toBe(true);
    expect(filter('10.0.0.1')).toBe(false);
    expect(filter('169.254.169.254')).toBe(false);
  });

  it('allows everything with allowPrivate', () => {
    expect(isAddressAllowed('10.0.0.1', { allowPrivate: true })).toBe(true);
    expect(isAddressAllowed('::1', { allowPrivate: true })).toBe(true);
  });

  it('allows listed networks one by one, in either spelling of the address', () => {
    const filter = compileAddressPolicy({ allowedNetworks: ['127.0.0.1/32', '10.20.0.0/16', 'fd00::/8'] });
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1', '10.20.3.4', 'fd00::1']) expect(filter(address)).toBe(true);
    for (const address of ['127.0.0.2', '10.21.0.1', '169.254.169.254', 'fe80::1']) expect(filter(address)).toBe(false);
  });

  it('rejects a malformed allowed network', () => {
    expect(() => compileAddressPolicy({ allowedNetworks: ['intranet/8'] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe(checkHost.name, () => {
  const deny = compileAddressPolicy({});
  const answers =
    (...addresses: string[]): HostLookup =>
    () =>
      Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

  it('checks a literal without resolving it', async () => {
    const never: HostLookup = () => Promise.reject(new Error('no DNS for literals'));
    expect(await checkHost('[::1]', deny, never)).toMatchObject({ host: '::1', refused: { address: '::1', reason: expect.stringContaining('loopback') } });
    expect(await checkHost('8.8.8.8', deny, never)).toEqual({ host: '8.8.8.8', addresses: [{ address: '8.8.8.8', family: 4 }], refused: null });
  });

  it('judges a name by every address it resolves to', async () => {
    const mixed = await checkHost('c2.example.test', deny, answers('93.184.216.34', '10.1.2.3'));
    expect(mixed.refused).toEqual({ address: '10.1.2.3', reason: 'private (10.0.0.0/8)' });
    const clean = await checkHost('c2.example.test', deny, answers('93.184.216.34', '2606:4700:4700::1111'));
    expect(clean.refused).toBeNull();
    expect(clean.addresses.map((a) => a.address)).toEqual(['93.184.216.34', '2606:4700:4700::1111']);
  });

  it('fails on an empty answer and passes lookup errors through', async () => {
    await expect(checkHost('void.example.test', deny, answers())).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', retryable: false });
    const failing: HostLookup = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    await expect(checkHost('nx.example.test', deny, failing)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});
