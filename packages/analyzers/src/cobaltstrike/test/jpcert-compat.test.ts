import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildBeacon, encodeProgram, int, ptr, short } from '../../../test/builders/build-beacon.js';
import { formatPythonJson, toJpcertJson } from '../jpcert-json.js';
import { parseBeaconConfigs } from '../parse-beacon-configs.js';

/**
 * Byte-for-byte compatibility with a file published in JPCERTCC/CobaltStrike-Config (config/1.116.124.178.80.config,
 * S1 `--json` output). A synthetic beacon carrying the same settings must render to exactly the same text in
 * bug-compatible mode, and differ only in the corrected fields otherwise.
 */
const published = readFileSync(new URL('./jpcert-1.116.124.178.80.config', import.meta.url), 'utf8');
const expected = JSON.parse(published) as Record<string, unknown>;

const b64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'));

function settings() {
  return [
    short(1, 0),
    short(2, 80),
    int(3, 60000),
    int(4, 1398104),
    short(5, 0),
    ptr(7, b64(expected.PublicKey as string), 256),
    ptr(8, 'vimstarim.gq,/image/', 256),
    ptr(9, 'Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko', 256),
    ptr(10, '/email/', 64),
    ptr(11, encodeProgram([[3], [4]]), 256),
    ptr(
      12,
      encodeProgram([
        [10, 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*l;q=0.8'],
        [10, 'Referer: http://www.google.com'],
        [16, 'Host: vimstarim.gq'],
        [10, 'Pragma: no-cache'],
        [10, 'Cache-Control: no-cache'],
        [7, 0],
        [8],
        [1, '.jpg'],
        [12],
      ]),
      256,
    ),
    ptr(
      13,
      encodeProgram([
        [10, 'Content-Type: application/octet-stream'],
        [10, 'Referer: http://www.google.com'],
        [16, 'Host: vimstarim.gq'],
        [10, 'Pragma: no-cache'],
        [10, 'Cache-Control: no-cache'],
        [7, 0],
        [11],
        [1, '.png'],
        [12],
        [7, 1],
        [3],
        [4],
      ]),
      256,
    ),
    ptr(14, new Uint8Array(16), 16),
    ptr(26, 'GET', 16),
    ptr(27, 'POST', 16),
    int(28, 0),
    ptr(29, '%windir%\\syswow64\\rundll32.exe', 64),
    ptr(30, '%windir%\\sysnative\\rundll32.exe', 64),
    short(31, 0),
    short(35, 2),
    int(37, 6),
    short(38, 0),
    short(39, 0),
    int(40, 0),
    int(41, 0),
    short(43, 0x40),
    short(44, 0x40),
    int(45, 0),
    ptr(46, new Uint8Array(256), 256),
    ptr(47, new Uint8Array(256), 256),
    short(50, 0),
    ptr(51, Uint8Array.of(1, 2, 3, 4, 0), 128),
    short(52, 0),
    ptr(53, b64('5hD7J15DOjVESOClstqgng=='), 16),
    ptr(54, 'Host: vimstarim.gq\r\n', 128),
    short(55, 0),
    ptr(57, b64(expected.smbFrameHeader as string), 128),
    ptr(58, b64(expected.tcpFrameHeader as string), 128),
    short(67, 0),
    int(68, 0xffffffff),
    int(69, 0xffffffff),
    int(70, 0xffffffff),
  ];
}

describe('JPCERT/CC CobaltStrike-Config compatibility', () => {
  const config = parseBeaconConfigs(buildBeacon(settings(), { encoding: 'sleeve' })).configs[0];

  it('bug-compatible output is byte-identical to the published file', () => {
    expect(config).toBeDefined();
    if (!config) return;
    expect(formatPythonJson(toJpcertJson(config, { bugCompatible: true }))).toBe(published);
  });

  it('corrected output differs only in SSH_Banner (read from id 56, absent here)', () => {
    if (!config) throw new Error('no config');
    const corrected = toJpcertJson(config);
    const diff = Object.keys(expected).filter((k) => JSON.stringify(corrected[k as keyof typeof corrected]) !== JSON.stringify(expected[k]));
    expect(diff).toEqual(['SSH_Banner']);
    expect(corrected.SSH_Banner).toBe('Not Found');
  });
});
