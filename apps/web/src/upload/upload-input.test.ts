import { describe, expect, it } from 'vitest';
import { parsePasswordInput, parseTagInput } from './upload-input.js';

describe('parseTagInput', () => {
  it('splits on commas and blanks, lower-cases and de-duplicates', () => {
    expect(parseTagInput(' Phishing, campaign:2026-11  apt28,phishing,,')).toEqual({ tags: ['phishing', 'campaign:2026-11', 'apt28'], problems: [] });
  });
  it('reports tags the server would refuse', () => {
    const parsed = parseTagInput('ok, bad<tag>, ' + 'x'.repeat(65));
    expect(parsed.tags).toEqual(['ok']);
    expect(parsed.problems).toHaveLength(2);
    expect(parsed.problems[0]).toContain('bad<tag>');
  });
  it('caps the number of tags', () => {
    const many = Array.from({ length: 51 }, (_, i) => `t${i}`).join(',');
    expect(parseTagInput(many).problems).toEqual(['at most 50 tags']);
  });
});

describe('parsePasswordInput', () => {
  it('keeps one password per line, verbatim, in order', () => {
    expect(parsePasswordInput('infected\r\n\n  with space \nx')).toEqual(['infected', '  with space ', 'x']);
  });
});
