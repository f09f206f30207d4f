import { describe, expect, it } from 'vitest';
import { baseName } from './samples-routes.js';

describe(baseName.name, () => {
  it.each([
    ['invoice.pdf.exe', 'invoice.pdf.exe'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\victim\\Desktop\\payload.js', 'payload.js'],
    ['evil\u0000.exe\r\n', 'evil.exe'],
    ['..', 'unnamed'],
    ['dir/', 'unnamed'],
    [undefined, 'unnamed'],
    ['a'.repeat(300), 'a'.repeat(255)],
  ])('%j -> %j', (input, expected) => {
    expect(baseName(input)).toBe(expected);
  });
});
