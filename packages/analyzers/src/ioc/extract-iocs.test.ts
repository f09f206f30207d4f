import type { Indicator } from '@malpipe/core';
import { describe, expect, test } from 'vitest';
import { isDomain } from './domain-name.js';
import { extractHashes, isHash } from './extract-hashes.js';
import { extractIocs, isUrl } from './extract-iocs.js';
import { isIpv4, isIpv6 } from './ip-address.js';

/** `type:value`, with ` !flag` suffixes, sorted: order-free and readable in a table. */
const show = (indicators: readonly Indicator[]): string[] =>
  indicators.map((i) => `${i.type}:${i.value}${(i.flags ?? []).map((f) => ` !${f}`).join('')}`).sort();
const found = (text: string): string[] => show(extractIocs(text));
const sorted = (values: string[]): string[] => [...values].sort();

const MD5 = '5d41402abc4b2a76b9719d911017c592';
const SHA1 = 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d';
const SHA256 = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';
const SHA512 =
  '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043';

describe('extractIocs: defanged and full-width forms', () => {
  test.each([
    ['hxxp://evil[.]com/gate.php', ['url:http://evil.com/gate.php', 'domain:evil.com']],
    ['hXXps://evil[.]com/a', ['url:https://evil.com/a', 'domain:evil.com']],
    ['HXXPS://EVIL[.]COM/A', ['url:https://evil.com/A', 'domain:evil.com']],
    ['h**p://evil(.)net/x', ['url:http://evil.net/x', 'domain:evil.net']],
    ['h00ps://evil{.}org', ['url:https://evil.org', 'domain:evil.org']],
    ['fxp://files[.]evil[.]ru/a.bin', ['url:ftp://files.evil.ru/a.bin', 'domain:files.evil.ru']],
    ['http[s]://evil.com/x', ['url:https://evil.com/x', 'domain:evil.com']],
    ['hxxp[:]//evil[dot]com', ['url:http://evil.com', 'domain:evil.com']],
    ['hxxps[://]evil(dot)com/p', ['url:https://evil.com/p', 'domain:evil.com']],
    ['http:\\\\evil.com\\x', ['url:http://evil.com', 'domain:evil.com']],
    ['evil [.] com', ['domain:evil.com']],
    ['evil[.com', ['domain:evil.com']],
    ['evil\\.com', ['domain:evil.com']],
    ['admin[@]evil[.]ru', ['email:admin@evil.ru', 'domain:evil.ru']],
    ['admin[at]evil[.]ru', ['email:admin@evil.ru', 'domain:evil.ru']],
    ['admin (at) evil (dot) ru', ['email:admin@evil.ru', 'domain:evil.ru']],
    ['beacon to evil dot com', ['domain:evil.com']],
    ['c2 dot evil dot co dot uk', ['domain:c2.evil.co.uk']],
    ['the dot com bubble', []],
    ['click the red dot in the corner', []],
    ['1[.]2[.]3[.]4', ['ipv4:1.2.3.4']],
    ['8.8.8[.]8:53', ['ipv4:8.8.8.8', 'ip-port:8.8.8.8:53']],
    ['ｈｔｔｐ：／／ｅｖｉｌ．ｃｏｍ／ｇａｔｅ', ['url:http://evil.com/gate', 'domain:evil.com']],
    ['evil．com', ['domain:evil.com']],
    ['evil。com', ['domain:evil.com']],
    ['evil｡com', ['domain:evil.com']],
    ['１．２．３．４', ['ipv4:1.2.3.4']],
    ['evil［.］com', ['domain:evil.com']],
    ['admin＠evil．ru', ['email:admin@evil.ru', 'domain:evil.ru']],
    ['C2は（hxxps://evil[.]com/gate.php）です。', ['url:https://evil.com/gate.php', 'domain:evil.com']],
    ['C2は「evil[.]com」です', ['domain:evil.com']],
    ['ev\u200Bil.com', ['domain:evil.com']],
    ['完了。次に', []],
  ])('%j', (input, expected) => {
    expect(found(input)).toEqual(sorted(expected));
  });
});

describe('extractIocs: URLs and their boundaries', () => {
  test.each([
    ['(see http://evil.com/a).', ['url:http://evil.com/a', 'domain:evil.com']],
    ['http://evil.com/b.php?x=1).', ['url:http://evil.com/b.php?x=1', 'domain:evil.com']],
    ['[r](https://evil.com/r)', ['url:https://evil.com/r', 'domain:evil.com']],
    ['https://en.wikipedia.org/wiki/Foo_(bar)', ['url:https://en.wikipedia.org/wiki/Foo_(bar)', 'domain:en.wikipedia.org']],
    ['"http://evil.com/x", \'ftp://evil.net/y\'', ['url:http://evil.com/x', 'url:ftp://evil.net/y', 'domain:evil.com', 'domain:evil.net']],
    ['<http://Evil.COM:8080/p?q=1&r=2#frag>', ['url:http://evil.com:8080/p?q=1&r=2#frag', 'domain:evil.com']],
    ['GET http://1.2.3.4:8080/gate', ['url:http://1.2.3.4:8080/gate', 'ipv4:1.2.3.4', 'ip-port:1.2.3.4:8080']],
    [
      'http://[2001:db8::1]:8443/x',
      ['url:http://[2001:db8::1]:8443/x !reserved', 'ipv6:2001:db8::1 !reserved', 'ip-port:[2001:db8::1]:8443 !reserved'],
    ],
    ['truncated http://evil.com/very/lo…', ['domain:evil.com']],
    ['http://not_a_host/x http://evil.notatld/x', []],
    ['http://evil.com:99999/', ['domain:evil.com']],
    ['ftp://user:pw@files.evil.net:2121/x.bin', ['url:ftp://user:pw@files.evil.net:2121/x.bin', 'domain:files.evil.net']],
    ['http://evil.com/?to=victim@corp.com', ['url:http://evil.com/?to=victim@corp.com', 'domain:evil.com', 'domain:corp.com', 'email:victim@corp.com']],
    ['http://010.1.1.1/', []],
    [`http://evil.com/${'a'.repeat(2100)}`, ['domain:evil.com']],
  ])('%j', (input, expected) => {
    expect(found(input)).toEqual(sorted(expected));
  });
});

describe('extractIocs: domains', () => {
  test.each([
    ['evil.xyz', ['domain:evil.xyz']],
    ['sub.evil.co.jp', ['domain:sub.evil.co.jp']],
    ['xn--80ak6aa92e.com', ['domain:xn--80ak6aa92e.com']],
    ['EVIL.COM.', ['domain:evil.com']],
    ['evil.notatld', []],
    ['www.evil.zip', ['domain:www.evil.zip']],
    ['http://invoice.zip/', ['url:http://invoice.zip/', 'domain:invoice.zip']],
    ['mail me: ops@payload.sh', ['email:ops@payload.sh', 'domain:payload.sh']],
    ['my_host.evil.com', []],
    ['microsoft.com', ['domain:microsoft.com']],
    ['Microsoft.com', ['domain:microsoft.com']],
    ['ex\u0430mple.com and evil.com\u0430', []],
    ['C2はevil.comです', ['domain:evil.com']],
    ['日本語.jp', []],
  ])('%j', (input, expected) => {
    expect(found(input)).toEqual(sorted(expected));
  });

  // Each is a file name: either its extension is not a TLD, or it is one of the TLDs that collide with a
  // common extension and there is no host context.
  test.each([
    'kernel32.dll', 'ntdll.dll', 'setup.exe', 'index.php', 'readme.txt', 'document.pdf', 'report.docx', 'invoice.xlsx',
    'macro.docm', 'slides.pptx', 'payload.js', 'script.vbs', 'run.ps1', 'install.bat', 'go.cmd', 'loader.hta',
    'evil.scr', 'update.msi', 'libc.so', 'payload.sh', 'loader.py', 'module.pm', 'plugin.pl', 'README.md', 'main.rs',
    'notes.ps', 'clip.mov', 'invoice.zip', 'invoice.pdf.zip', 'archive.rar', 'archive.7z', 'config.ini', 'data.json',
    'page.html', 'page.htm', 'image.jpg', 'image.png', 'shortcut.lnk', 'driver.sys', 'app.jar', 'Main.class',
    'Main.java', 'config.xml', 'backup.tar', 'backup.gz', 'dump.bin', 'file.dat', 'temp.tmp', 'debug.log', 'style.css',
    'component.ocx', 'control.cpl', 'runme.app', 'logging.cc', 'Makefile.in', 'configure.ac', 'Makefile.am',
    'libfoo.la', 'id_rsa.pub', 'setup.run', 'data.cab', 'messages.mo', 'lure.one', 'link.website', 'loader.wsf',
    'module.psm1', 'stub.iso', 'disk.vhd',
  ])('file name %j is not a domain', (name) => {
    expect(found(`dropped ${name} into %TEMP%`)).toEqual([]);
  });

  test.each([
    'System.Runtime.InteropServices', 'System.IO', 'System.Net', 'System.Net.Http', 'Microsoft.Win32',
    'java.lang.String', 'javax.crypto.Cipher', 'android.app', 'com.google.android.gms', 'org.apache.commons.io',
    'this.name', 'window.open("x")', 'obj.link(url)', 'document.domain', 'user.email', 'x.Name = 1', 'item.Link',
  ])('code name %j is not a domain', (name) => {
    expect(found(name)).toEqual([]);
  });
});

describe('extractIocs: IP addresses', () => {
  test.each([
    ['8.8.8.8', ['ipv4:8.8.8.8']],
    ['255.255.255.254', ['ipv4:255.255.255.254 !reserved']],
    ['256.1.1.1 1.2.3 1.2.3.4.5 1.1.1.1.1', []],
    ['010.1.1.1 1.2.3.04 0x7f.0.0.1', []],
    ['version 1.2.3.4', []],
    ['Version: 10.0.0.1', []],
    ['v1.2.3.4 and ver. 5.6.7.8 and build=9.9.9.9 and rev "4.3.2.1"', []],
    ['FileVersion\n6.1.7.1', []],
    ['1.2.3.4 version 2', ['ipv4:1.2.3.4']],
    ['server 5.6.7.8', ['ipv4:5.6.7.8']],
    ['Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91', []],
    ['http://5.6.7.8/a/9.9.9.9', ['url:http://5.6.7.8/a/9.9.9.9', 'ipv4:5.6.7.8', 'ipv4:9.9.9.9']],
    ['10.0.0.1 172.16.5.4 192.168.1.1 100.64.0.1', ['ipv4:10.0.0.1 !private', 'ipv4:172.16.5.4 !private', 'ipv4:192.168.1.1 !private', 'ipv4:100.64.0.1 !private']],
    ['127.0.0.1 169.254.1.1 192.0.2.1 224.0.0.1', ['ipv4:127.0.0.1 !reserved', 'ipv4:169.254.1.1 !reserved', 'ipv4:192.0.2.1 !reserved', 'ipv4:224.0.0.1 !reserved']],
    ['1.2.3.4:8080', ['ipv4:1.2.3.4', 'ip-port:1.2.3.4:8080']],
    ['1.2.3.4:70000', ['ipv4:1.2.3.4']],
    ['[8.8.4.4]:443', ['ipv4:8.8.4.4', 'ip-port:8.8.4.4:443']],
    ['10.0.0.1-10.0.0.5', ['ipv4:10.0.0.1 !private', 'ipv4:10.0.0.5 !private']],
    ['192.168.0.0/16', ['ipv4:192.168.0.0 !private']],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', ['ipv6:2001:db8:85a3::8a2e:370:7334 !reserved']],
    ['2a00:1450:4001:82b::200e', ['ipv6:2a00:1450:4001:82b::200e']],
    ['2A00:1450:4001:082B:0000:0000:0000:200E.', ['ipv6:2a00:1450:4001:82b::200e']],
    ['::ffff:8.8.4.4', ['ipv6:::ffff:8.8.4.4', 'ipv4:8.8.4.4']],
    ['fd12:3456:789a::1', ['ipv6:fd12:3456:789a::1 !private']],
    ['12:30:45 00:11:22:33:44:55 std::vector Db::Add 1:2:3:4:5:6:7:8:9 2001:db8::1::2', []],
    ['[2a00:1450::200e]:443', ['ipv6:2a00:1450::200e', 'ip-port:[2a00:1450::200e]:443']],
  ])('%j', (input, expected) => {
    expect(found(input)).toEqual(sorted(expected));
  });
});

describe('extractIocs: e-mail addresses', () => {
  test.each([
    ['John.Doe@Evil.COM', ['email:john.doe@evil.com', 'domain:evil.com']],
    ['user@localhost', []],
    ['a..b@evil.com', ['domain:evil.com']],
    ['user@evil.notatld', []],
    ['user@example.com', ['email:user@example.com !reserved', 'domain:example.com !reserved']],
  ])('%j', (input, expected) => {
    expect(found(input)).toEqual(sorted(expected));
  });
});

describe('extractIocs: hashes', () => {
  test.each([
    [`md5 ${MD5}`, [`md5:${MD5}`]],
    [`MD5=${MD5.toUpperCase()}`, [`md5:${MD5}`]],
    [`sha1:${SHA1} sha256:${SHA256}`, [`sha1:${SHA1}`, `sha256:${SHA256}`]],
    [`(${SHA512})`, [`sha512:${SHA512}`]],
    [`${MD5}a`, []],
    [`0x${MD5}0`, []],
    [`${SHA256}abcd12`, []],
    [`key ${SHA256}${MD5}`, []],
    ['{6B29FC40-CA47-1067-B31D-00DD010662DA}', []],
    [`{${MD5}}`, []],
    [`CLSID: ${MD5}`, []],
    [`guid=${MD5}`, []],
    ['d41d8cd98f00b204e9800998ecf8427e e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', []],
    ['00000000000000000000000000000000 ffffffffffffffffffffffffffffffff', []],
    ['12345678901234567890123456789012', []],
    [`commit ${SHA1}`, []],
    [`https://github.com/x/y/commit/${SHA1}`, ['url:https://github.com/x/y/commit/' + SHA1, 'domain:github.com']],
    [`https://www.virustotal.com/gui/file/${SHA256}`, [`url:https://www.virustotal.com/gui/file/${SHA256}`, 'domain:www.virustotal.com', `sha256:${SHA256}`]],
  ])('%j', (input, expected) => {
    expect(found(input)).toEqual(sorted(expected));
  });

  test('extractHashes returns digests only, refanged and lower-cased', () => {
    expect(show(extractHashes(`hxxp://evil[.]com/${MD5.toUpperCase()} 1.2.3.4 ${SHA1}`))).toEqual(
      sorted([`md5:${MD5}`, `sha1:${SHA1}`]),
    );
  });
});

describe('extractIocs: options and bounds', () => {
  test('flags reserved names and drops them on request', () => {
    const text = 'example.com foo.test a.localhost http://localhost/x 127.0.0.1 evil.com';
    expect(found(text)).toEqual(
      sorted([
        'domain:example.com !reserved',
        'domain:foo.test !reserved',
        'domain:a.localhost !reserved',
        'url:http://localhost/x !reserved',
        'ipv4:127.0.0.1 !reserved',
        'domain:evil.com',
      ]),
    );
    expect(show(extractIocs(text, { dropReserved: true }))).toEqual(['domain:evil.com']);
  });

  test('deduplicates after normalisation, keeping the first context', () => {
    const indicators = extractIocs('EVIL.com then evil[.]com then Evil.Com', { snippetChars: 5 });
    expect(indicators).toEqual([{ type: 'domain', value: 'evil.com', context: 'EVIL.com then' }]);
  });

  test('contextAt describes positions', () => {
    const indicators = extractIocs('xx 8.8.8.8', { contextAt: (index, length) => `at ${index}+${length}` });
    expect(indicators).toEqual([{ type: 'ipv4', value: '8.8.8.8', context: 'at 3+7' }]);
  });

  test('stops at maxIndicators', () => {
    const text = Array.from({ length: 100 }, (_, i) => `host${i}.evil.com`).join(' ');
    expect(extractIocs(text, { maxIndicators: 10 })).toHaveLength(10);
    expect(extractIocs(text)).toHaveLength(100);
  });

  test('minBareDomainLength drops short bare domains but not URL hosts', () => {
    const text = 'a.cg x.com vk.com http://t.co/x df@zl.mk';
    expect(show(extractIocs(text, { minBareDomainLength: 6 }))).toEqual(
      sorted(['domain:vk.com', 'url:http://t.co/x', 'domain:t.co']),
    );
    expect(show(extractIocs(text))).toHaveLength(7);
  });

  test('refang: false leaves defanged text alone', () => {
    expect(extractIocs('evil[.]com', { refang: false })).toEqual([]);
  });
});

describe('predicates', () => {
  test.each([
    ['evil.com', true], ['a.b.c.evil.co.uk', true], ['xn--p1ai.xn--p1ai', true], ['foo.test', true], ['evil.notatld', false],
    ['-evil.com', false], ['evil-.com', false], ['evil..com', false], ['com', false], [`${'a'.repeat(64)}.com`, false],
    ['kernel32.dll', false], ['evil.com.', false],
  ])('isDomain(%j) = %s', (value, expected) => {
    expect(isDomain(value)).toBe(expected);
  });

  test.each([
    ['1.2.3.4', true], ['0.0.0.0', true], ['255.255.255.255', true], ['256.0.0.1', false], ['01.2.3.4', false],
    ['1.2.3', false], ['1.2.3.4.5', false], ['1.2.3.4 ', false], ['a.b.c.d', false],
  ])('isIpv4(%j) = %s', (value, expected) => {
    expect(isIpv4(value)).toBe(expected);
  });

  test.each([
    ['::', true], ['::1', true], ['2001:db8::', true], ['1:2:3:4:5:6:7:8', true], ['::ffff:1.2.3.4', true],
    ['1:2:3:4:5:6:1.2.3.4', true], ['1:2:3:4:5:6:7::', true], ['1:2:3:4:5:6:7:8:9', false], ['1::2::3', false],
    ['12345::1', false], ['1:2:3:4:5:6:7', false], ['g::1', false], [':1:2:3:4:5:6:7', false], ['1.2.3.4', false],
    ['::1.2.3.256', false], ['1:2:3:4:5:6:7:1.2.3.4', false],
  ])('isIpv6(%j) = %s', (value, expected) => {
    expect(isIpv6(value)).toBe(expected);
  });

  test.each([
    ['http://evil.com', true], ['https://evil.com:443/a?b#c', true], ['ftp://1.2.3.4/x', true], ['http://[::1]/', true],
    ['http://localhost:8080/', true], ['gopher://evil.com', false], ['http://evil.notatld', false], ['http://evil.com/a b', false],
    ['http://evil.com:0/', false], ['evil.com', false],
  ])('isUrl(%j) = %s', (value, expected) => {
    expect(isUrl(value)).toBe(expected);
  });

  test.each([
    [MD5, true], [SHA1, true], [SHA256, true], [SHA512, true], [MD5.toUpperCase(), true], [`${MD5}0`, false],
    ['g'.repeat(32), false], ['', false],
  ])('isHash(%j) = %s', (value, expected) => {
    expect(isHash(value)).toBe(expected);
  });
});
