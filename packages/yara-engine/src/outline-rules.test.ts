import { describe, expect, it } from 'vitest';
import { outlineRules } from './outline-rules.js';

describe(outlineRules.name, () => {
  it('finds names, modifiers, tags, typed meta and lines through comments, strings, regexes and hex', () => {
    const source = [
      'import "pe"',
      '/* rule fake_in_comment { condition: true } */',
      'private rule helper { strings: $x = "}{ rule not_a_rule" condition: $x }',
      'global private rule gate { condition: filesize > 0 }',
      'rule main : t1 t2 {',
      '  meta:',
      '    s = "a \\"quoted\\" } value"',
      '    n = -12',
      '    h = 0x10',
      '    yes = true',
      '    no = false',
      '  strings:',
      '    $re = /rule x \\/ \\{/ nocase',
      '    $hex = { 4D 5A [2-4] ( 90 | 91 ) // comment }',
      '      }',
      '    $b64 = "abc" base64("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")',
      '  condition:',
      '    helper and (filesize \\ 2 > 10) and pe.number_of_sections > 0 and any of them // }',
      '}',
      'rule last { condition: "x" matches /}/ }',
    ].join('\n');
    const outline = outlineRules(source);
    expect(outline.complete).toBe(true);
    expect(outline.rules.map((r) => [r.name, r.isPrivate, r.isGlobal, r.line])).toEqual([
      ['helper', true, false, 3],
      ['gate', true, true, 4],
      ['main', false, false, 5],
      ['last', false, false, 20],
    ]);
    const main = outline.rules[2];
    expect(main?.tags).toEqual(['t1', 't2']);
    expect(main?.meta).toEqual({ s: 'a "quoted" } value', n: -12, h: 16, yes: true, no: false });
  });

  it('says when it cannot follow the text instead of guessing', () => {
    expect(outlineRules('rule { condition: true }').complete).toBe(false);
    expect(outlineRules('rule a { condition: true').complete).toBe(false);
    expect(outlineRules('').complete).toBe(true);
  });
});
