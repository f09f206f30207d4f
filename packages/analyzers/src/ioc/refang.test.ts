import { describe, expect, test } from 'vitest';
import { refang } from './refang.js';

describe('refang', () => {
  test.each([
    // schemes, any case
    ['hxxp://evil.com', 'http://evil.com'],
    ['hXXp://evil.com', 'http://evil.com'],
    ['HXXPS://evil.com', 'https://evil.com'],
    ['hxxps://evil.com', 'https://evil.com'],
    ['h**p://evil.com', 'http://evil.com'],
    ['h00ps://evil.com', 'https://evil.com'],
    ['hxp://evil.com', 'http://evil.com'],
    ['fxp://files.evil.com', 'ftp://files.evil.com'],
    ['http[s]://evil.com', 'https://evil.com'],
    ['hxxp[s]://evil.com', 'https://evil.com'],
    ['http__evil.com', 'http://evil.com'],
    ['http:\\\\evil.com', 'http://evil.com'],
    // separators
    ['evil[.]com', 'evil.com'],
    ['evil(.)com', 'evil.com'],
    ['evil{.}com', 'evil.com'],
    ['evil[dot]com', 'evil.com'],
    ['evil(DOT)com', 'evil.com'],
    ['evil {dot} com', 'evil.com'],
    ['evil [ . ] com', 'evil.com'],
    ['evil[[.]]com', 'evil.com'],
    ['evil[.com', 'evil.com'],
    ['evil.]com', 'evil.com'],
    ['evil\\.com', 'evil.com'],
    ['hxxp[:]//evil.com', 'http://evil.com'],
    ['hxxp[://]evil.com', 'http://evil.com'],
    ['http:[//]evil.com[/]gate', 'http://evil.com/gate'],
    ['admin[@]evil.com', 'admin@evil.com'],
    ['admin(@)evil.com', 'admin@evil.com'],
    ['admin[at]evil.com', 'admin@evil.com'],
    ['admin (at) evil (dot) com', 'admin@evil.com'],
    // " dot " only where unambiguous
    ['evil dot com', 'evil.com'],
    ['c2 DOT evil DOT co DOT uk', 'c2.evil.co.uk'],
    ['the dot com era', 'the dot com era'],
    ['click the red dot in the corner', 'click the red dot in the corner'],
    ['a dot to join', 'a dot to join'],
    ['polka dot dress', 'polka dot dress'],
    // full-width and compatibility forms
    ['ｈｔｔｐ：／／ｅｖｉｌ．ｃｏｍ／ｇａｔｅ', 'http://evil.com/gate'],
    ['evil．com', 'evil.com'],
    ['evil。com', 'evil.com'],
    ['evil｡com', 'evil.com'],
    ['evil［.］com', 'evil.com'],
    ['１９２．１６８．０．１', '192.168.0.1'],
    ['admin＠evil．com', 'admin@evil.com'],
    ['C2は（hxxps://evil[.]com/gate.php）です。', 'C2は(https://evil.com/gate.php)です。'],
    ['完了。次に', '完了。次に'],
    ['ev\u200Bil.c\u00ADom\uFEFF', 'evil.com'],
    // left alone
    ['plain text without indicators', 'plain text without indicators'],
    ['array[.5] and (x) and [:alpha:]', 'array[.5] and (x) and [:alpha:]'],
    ['hxxp is a word here', 'hxxp is a word here'],
  ])('%j -> %j', (input, expected) => {
    expect(refang(input)).toBe(expected);
    expect(refang(expected)).toBe(expected);
  });
});
