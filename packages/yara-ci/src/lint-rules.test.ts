import { describe, expect, it } from 'vitest';
import { lintRuleset } from './lint-rules.js';
import { logicHash, parseRules, ruleHash } from './parse-rules.js';
import { diffRuleIdentities } from './diff-rulesets.js';
import { ruleIdentities } from './rule-identities.js';

const META = 'meta: author = "malpipe" description = "a test rule" date = "2026-11-27" reference = "https://example.org"';

function ids(source: string): string[] {
  return lintRuleset([parseRules(source, 'test.yar')]).map((f) => `${f.rule ?? '-'}:${f.id}`).sort();
}

describe(parseRules.name, () => {
  it('reads header, tags, meta, strings with modifiers, hex, regex and condition with lines', () => {
    const parsed = parseRules(
      [
        'import "pe"',
        'private rule Demo_Rule : tag_one tag_two {',
        '  meta:',
        '    author = "a \\"quoted\\" name"',
        '    score = -5',
        '    active = true',
        '  strings:',
        '    $t = "te\\x41xt" wide ascii nocase',
        '    $h = { 4D 5A [2-4] ( 50 | 51 ) ?? } // comment',
        '    $r = /ab{2,3}\\/c/is xor(0x01-0xff)',
        '  condition:',
        '    pe.is_pe and any of them /* tail */',
        '}',
      ].join('\n'),
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.imports).toEqual([{ module: 'pe', line: 1 }]);
    const [rule] = parsed.rules;
    expect(rule).toMatchObject({ name: 'Demo_Rule', isPrivate: true, tags: ['tag_one', 'tag_two'], line: 2, endLine: 13, conditionLine: 12 });
    expect(rule?.meta).toEqual([
      { key: 'author', value: 'a "quoted" name', line: 4 },
      { key: 'score', value: -5, line: 5 },
      { key: 'active', value: true, line: 6 },
    ]);
    expect(rule?.strings.map((s) => [s.id, s.kind, s.raw, s.flags, s.modifiers, s.line])).toEqual([
      ['t', 'text', 'te\\x41xt', '', ['wide', 'ascii', 'nocase'], 8],
      ['h', 'hex', '4D 5A [2-4] ( 50 | 51 ) ??', '', [], 9],
      ['r', 'regex', 'ab{2,3}\\/c', 'is', ['xor(0x01-0xff)'], 10],
    ]);
    expect(rule?.condition).toBe('pe.is_pe and any of them');
  });

  it('records a parse error and still reads the rules after it', () => {
    const parsed = parseRules('rule Broken { strings: $a = condition: $a }\nrule Fine_Rule { condition: true }');
    expect(parsed.errors).toHaveLength(1);
    expect(parsed.rules.map((r) => r.name)).toEqual(['Fine_Rule']);
  });

  it('hashes rule text without comments or formatting, and logic without string names', () => {
    const [a] = parseRules('rule A_Rule { strings: $x = "abcd" condition: $x }').rules;
    const [b] = parseRules('rule   A_Rule {\n  // note\n  strings: $x = "abcd"\n  condition: $x\n}').rules;
    const [c] = parseRules('rule C_Rule { strings: $y = "abcd" condition: $y }').rules;
    if (a === undefined || b === undefined || c === undefined) throw new Error('parse failed');
    expect(ruleHash(a)).toBe(ruleHash(b));
    expect(logicHash(a)).toBe(logicHash(c));
    expect(ruleHash(a)).not.toBe(ruleHash(c));
  });
});

describe(lintRuleset.name, () => {
  it('accepts a well-formed rule', () => {
    expect(ids(`rule Good_Rule : tag { ${META} strings: $a = "malpipe" condition: filesize < 1MB and $a }`)).toEqual([]);
  });

  it.each([
    ['no-strings-used', 'strings: $a = "abcdef" condition: filesize < 10'],
    ['impossible-count', 'strings: $a = "abcdef" $b = "ghijkl" condition: 3 of them'],
    ['all-of-them-single', 'strings: $a = "abcdef" condition: all of them'],
    ['duplicate-string', 'strings: $a = "abcdef" $b = "abcdef" condition: any of them'],
    ['no-atom', 'strings: $a = /[a-z]+[0-9]/ condition: $a'],
    ['short-atom', 'strings: $a = "ab" condition: $a'],
    ['common-atom', 'strings: $a = { 00 00 00 00 00 } condition: $a'],
    ['atom-explosion', 'strings: $a = "abc-def" ascii wide nocase condition: $a'],
    ['unbounded-regex', 'strings: $a = /abcd.*efgh/ condition: $a'],
    ['unbounded-repeat', 'strings: $a = /abcd[^x]*efgh/ condition: $a'],
    ['filesize-loop', 'condition: for any i in (0..filesize-1) : (uint8(i) == 0x41)'],
    ['condition-order', 'condition: for any i in (0..10) : (uint8(i) == 0x41) and filesize < 100'],
    ['hex-as-text', 'strings: $a = { 61 62 63 64 65 } condition: $a'],
    ['short-string-at', 'strings: $a = "MZab" condition: $a at 0'],
  ])('flags %s', (id, body) => {
    expect(ids(`rule Some_Rule { ${META} ${body} }`)).toContain(`Some_Rule:${id}`);
  });

  it('checks meta presence and form, names and tags', () => {
    expect(ids('rule bad_name : Bad { meta: author = "someone" date = "27/11/2026" condition: true }')).toEqual([
      'bad_name:meta-invalid',
      'bad_name:meta-missing',
      'bad_name:rule-name-style',
      'bad_name:tag-style',
    ]);
  });

  it('finds set-wide problems: duplicate names, logic twins, modules, includes, Livehunt modules', () => {
    const rules = (n: number): string =>
      Array.from({ length: n }, (_, i) => `rule Rule_${i} { ${META} strings: $a = "unique-${i}" condition: $a }`).join('\n');
    const source = `include "other.yar"\nimport "pe"\nimport "cuckoo2"\n${rules(5)}\nrule Pe_User { ${META} condition: pe.is_pe }\nrule Rule_0 { ${META} strings: $z = "unique-0" condition: $z }`;
    expect(ids(source)).toEqual([
      '-:livehunt-include',
      '-:livehunt-module',
      '-:unused-import',
      'Pe_User:module-single-rule',
      'Rule_0:duplicate-rule-name',
    ]);
    const twins = `rule Twin_A { ${META} strings: $a = "twin-value" condition: $a }\nrule Twin_B { ${META} strings: $b = "twin-value" condition: $b }`;
    expect(ids(twins)).toEqual(['Twin_B:duplicate-logic']);
  });
});

describe(diffRuleIdentities.name, () => {
  it('lists added, removed and changed rules by normalised text', () => {
    const before = ruleIdentities([{ namespace: 'a', source: 'rule Kept { condition: true }\nrule Gone { condition: true }\nrule Edited { condition: false }' }]);
    const after = ruleIdentities([{ namespace: 'a', source: 'rule Kept {\n  condition: true // same\n}\nrule Edited { condition: true }\nrule New_One { condition: true }' }]);
    const diff = diffRuleIdentities(before, after);
    expect(diff.added.map((r) => r.name)).toEqual(['New_One']);
    expect(diff.removed.map((r) => r.name)).toEqual(['Gone']);
    expect(diff.changed.map((r) => r.name)).toEqual(['Edited']);
    expect(diff.unchanged).toBe(1);
  });
});
