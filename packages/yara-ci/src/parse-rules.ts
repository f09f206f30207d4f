import { createHash } from 'node:crypto';

/**
 * A YARA reader sufficient for linting: imports, includes, rule headers, tags, meta, strings (text, hex,
 * regex) with modifiers, and the condition text, each with its 1-based line. It is not a validator: the
 * engines report syntax errors; where this reader gets lost it records a parse error and skips to the next
 * `rule` keyword so the other rules are still linted.
 */
export type MetaValue = string | number | boolean;

export interface ParsedMeta {
  readonly key: string;
  readonly value: MetaValue;
  readonly line: number;
}

export type StringKind = 'text' | 'hex' | 'regex';

export interface ParsedString {
  /** Without the `$`; empty for anonymous strings. */
  readonly id: string;
  readonly kind: StringKind;
  /** Source text between the delimiters (quotes, braces, slashes), unescaped for nothing. */
  readonly raw: string;
  /** Regex flags after the closing slash (`i`, `s`). */
  readonly flags: string;
  /** Modifier words with their arguments as written: `wide`, `xor(0x01-0xff)`. */
  readonly modifiers: readonly string[];
  readonly line: number;
}

export interface ParsedRule {
  readonly name: string;
  readonly file: string;
  readonly namespace: string;
  readonly isPrivate: boolean;
  readonly isGlobal: boolean;
  readonly tags: readonly string[];
  readonly meta: readonly ParsedMeta[];
  readonly strings: readonly ParsedString[];
  readonly condition: string;
  readonly conditionLine: number;
  /** Line of the `rule` keyword (or of its `private`/`global` modifier). */
  readonly line: number;
  readonly endLine: number;
  /** The rule's source text, from its first modifier to its closing brace. */
  readonly text: string;
}

export interface ParsedSource {
  readonly file: string;
  readonly namespace: string;
  readonly imports: readonly { readonly module: string; readonly line: number }[];
  readonly includes: readonly { readonly path: string; readonly line: number }[];
  readonly rules: readonly ParsedRule[];
  readonly errors: readonly { readonly line: number; readonly message: string }[];
  /** The source's lines, for inline suppressions. */
  readonly lines: readonly string[];
}

class ParseError extends Error {}

const IDENT_CHAR = /[A-Za-z0-9_]/;

class Reader {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}

  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  advance(): string {
    const ch = this.text[this.pos] ?? '';
    this.pos += 1;
    if (ch === '\n') this.line += 1;
    return ch;
  }

  skipTrivia(): void {
    while (!this.done) {
      const ch = this.peek();
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') this.advance();
      else if (ch === '/' && this.peek(1) === '/') while (!this.done && this.peek() !== '\n') this.advance();
      else if (ch === '/' && this.peek(1) === '*') {
        this.advance();
        this.advance();
        while (!this.done && !(this.peek() === '*' && this.peek(1) === '/')) this.advance();
        this.advance();
        this.advance();
      } else return;
    }
  }

  identifier(): string {
    const start = this.pos;
    while (!this.done && IDENT_CHAR.test(this.peek())) this.advance();
    return this.text.slice(start, this.pos);
  }

  expect(ch: string): void {
    this.skipTrivia();
    if (this.peek() !== ch) throw new ParseError(`expected "${ch}" at line ${this.line}`);
    this.advance();
  }

  /** Raw text of a "..." literal (cursor on the quote), escapes left as written. */
  quoted(): string {
    this.advance();
    const start = this.pos;
    while (!this.done && this.peek() !== '"') {
      if (this.peek() === '\n') throw new ParseError(`unterminated string at line ${this.line}`);
      if (this.advance() === '\\') this.advance();
    }
    const raw = this.text.slice(start, this.pos);
    this.advance();
    return raw;
  }

  /** Raw text of a /regex/ and its flags (cursor on the slash). */
  regex(): { raw: string; flags: string } {
    this.advance();
    const start = this.pos;
    while (!this.done && this.peek() !== '/') {
      if (this.peek() === '\n') throw new ParseError(`unterminated regular expression at line ${this.line}`);
      if (this.advance() === '\\') this.advance();
    }
    const raw = this.text.slice(start, this.pos);
    this.advance();
    let flags = '';
    while (/[is]/.test(this.peek())) flags += this.advance();
    return { raw, flags };
  }

  /** Raw text of a { hex } string (cursor on the brace), comments removed. */
  hex(): string {
    this.advance();
    let out = '';
    while (!this.done && this.peek() !== '}') {
      if (this.peek() === '/' && (this.peek(1) === '/' || this.peek(1) === '*')) {
        this.skipTrivia();
        out += ' ';
        continue;
      }
      out += this.advance();
    }
    if (this.done) throw new ParseError('unterminated hex string');
    this.advance();
    return out.replace(/\s+/g, ' ').trim();
  }
}

/** Unescapes a YARA text literal to bytes (`\n`, `\t`, `\r`, `\\`, `\"`, `\xHH`). */
export function textBytes(raw: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i += 1) {
    const ch = raw[i] ?? '';
    if (ch !== '\\') {
      for (const byte of Buffer.from(ch, 'utf8')) bytes.push(byte);
      continue;
    }
    const next = raw[i + 1] ?? '';
    i += 1;
    if (next === 'n') bytes.push(0x0a);
    else if (next === 't') bytes.push(0x09);
    else if (next === 'r') bytes.push(0x0d);
    else if (next === 'x') {
      bytes.push(Number.parseInt(raw.slice(i + 1, i + 3), 16) || 0);
      i += 2;
    } else bytes.push(next.charCodeAt(0) & 0xff);
  }
  return bytes;
}

function parseMetaValue(reader: Reader): MetaValue {
  reader.skipTrivia();
  if (reader.peek() === '"') {
    const bytes = textBytes(reader.quoted());
    return Buffer.from(bytes).toString('utf8');
  }
  let sign = 1;
  if (reader.peek() === '-') {
    reader.advance();
    sign = -1;
  }
  const token = reader.identifier();
  if (token === 'true') return true;
  if (token === 'false') return false;
  if (/^0x[0-9a-f]+$/i.test(token)) return sign * Number.parseInt(token.slice(2), 16);
  if (/^\d+(\.\d+)?$/.test(token)) return sign * Number(token);
  throw new ParseError(`invalid meta value "${token}" at line ${reader.line}`);
}

function parseModifiers(reader: Reader, lineOf: number): string[] {
  const modifiers: string[] = [];
  for (;;) {
    // Modifiers sit on the string's line; the next line starts another string or section.
    const save = { pos: reader.pos, line: reader.line };
    reader.skipTrivia();
    if (reader.line !== lineOf || !/[a-z]/.test(reader.peek())) {
      reader.pos = save.pos;
      reader.line = save.line;
      return modifiers;
    }
    const wordStart = reader.pos;
    const word = reader.identifier();
    if (reader.peek() === ':') {
      reader.pos = wordStart;
      return modifiers; // `condition:` on the same line
    }
    let args = '';
    if (reader.peek() === '(') {
      const start = reader.pos;
      let depth = 0;
      while (!reader.done) {
        if (reader.peek() === '"') {
          reader.quoted();
          continue;
        }
        const ch = reader.advance();
        if (ch === '(') depth += 1;
        else if (ch === ')' && --depth === 0) break;
      }
      args = reader.text.slice(start, reader.pos);
    }
    modifiers.push(word + args);
  }
}

function parseRuleAt(
  reader: Reader,
  start: { pos: number; line: number },
  flags: { isPrivate: boolean; isGlobal: boolean },
  file: string,
  namespace: string,
): ParsedRule {
  reader.skipTrivia();
  const name = reader.identifier();
  if (name === '') throw new ParseError(`missing rule name at line ${reader.line}`);
  const tags: string[] = [];
  reader.skipTrivia();
  if (reader.peek() === ':') {
    reader.advance();
    for (;;) {
      reader.skipTrivia();
      if (reader.peek() === '{' || reader.done) break;
      const tag = reader.identifier();
      if (tag === '') throw new ParseError(`invalid tag at line ${reader.line}`);
      tags.push(tag);
    }
  }
  reader.expect('{');
  const meta: ParsedMeta[] = [];
  const strings: ParsedString[] = [];
  let condition = '';
  let conditionLine = reader.line;
  for (;;) {
    reader.skipTrivia();
    if (reader.done) throw new ParseError(`rule ${name} is not closed`);
    if (reader.peek() === '}') break;
    const section = reader.identifier();
    reader.expect(':');
    if (section === 'meta') {
      for (;;) {
        reader.skipTrivia();
        const save = { pos: reader.pos, line: reader.line };
        const key = reader.identifier();
        reader.skipTrivia();
        if (key === '' || reader.peek() !== '=') {
          reader.pos = save.pos;
          reader.line = save.line;
          break;
        }
        reader.advance();
        const line = save.line;
        meta.push({ key, value: parseMetaValue(reader), line });
      }
    } else if (section === 'strings') {
      for (;;) {
        reader.skipTrivia();
        if (reader.peek() !== '$') break;
        const line = reader.line;
        reader.advance();
        const id = reader.identifier();
        reader.expect('=');
        reader.skipTrivia();
        const ch = reader.peek();
        let kind: StringKind;
        let raw: string;
        let stringFlags = '';
        if (ch === '"') {
          kind = 'text';
          raw = reader.quoted();
        } else if (ch === '{') {
          kind = 'hex';
          raw = reader.hex();
        } else if (ch === '/') {
          kind = 'regex';
          const re = reader.regex();
          raw = re.raw;
          stringFlags = re.flags;
        } else throw new ParseError(`invalid value of $${id} at line ${line}`);
        const modifiers = parseModifiers(reader, reader.line);
        strings.push({ id, kind, raw, flags: stringFlags, modifiers, line });
      }
    } else if (section === 'condition') {
      reader.skipTrivia();
      conditionLine = reader.line;
      const begin = reader.pos;
      while (!reader.done && reader.peek() !== '}') {
        const ch = reader.peek();
        if (ch === '"') reader.quoted();
        else if (ch === '/' && (reader.peek(1) === '/' || reader.peek(1) === '*')) reader.skipTrivia();
        else if (ch === '/' && /matches\s*$/.test(reader.text.slice(Math.max(0, reader.pos - 12), reader.pos))) reader.regex();
        else reader.advance();
      }
      condition = stripComments(reader.text.slice(begin, reader.pos)).trim();
    } else {
      throw new ParseError(`unknown section "${section}" at line ${reader.line}`);
    }
  }
  reader.advance();
  return {
    name,
    file,
    namespace,
    isPrivate: flags.isPrivate,
    isGlobal: flags.isGlobal,
    tags,
    meta,
    strings,
    condition,
    conditionLine,
    line: start.line,
    endLine: reader.line,
    text: reader.text.slice(start.pos, reader.pos),
  };
}

/** Removes // and /* comments outside string literals. */
export function stripComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] ?? '';
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i += 1;
      out += '\n';
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const skipped = text.slice(i, end < 0 ? text.length : end + 2);
      out += skipped.replace(/[^\n]/g, ' ');
      i = end < 0 ? text.length : end + 1;
    } else out += ch;
  }
  return out;
}

/** Parses one source file. `namespace` defaults to the file name without its extension. */
export function parseRules(source: string, file = 'rules.yar', namespace = file.replace(/\.(yar|yara)$/i, '')): ParsedSource {
  const reader = new Reader(source);
  const rules: ParsedRule[] = [];
  const imports: { module: string; line: number }[] = [];
  const includes: { path: string; line: number }[] = [];
  const errors: { line: number; message: string }[] = [];
  let flags = { isPrivate: false, isGlobal: false };
  let start: { pos: number; line: number } | null = null;
  while (true) {
    reader.skipTrivia();
    if (reader.done) break;
    const here = { pos: reader.pos, line: reader.line };
    const word = reader.identifier();
    try {
      if (word === 'import' || word === 'include') {
        reader.skipTrivia();
        if (reader.peek() !== '"') throw new ParseError(`${word} needs a quoted name at line ${here.line}`);
        const value = reader.quoted();
        if (word === 'import') imports.push({ module: value, line: here.line });
        else includes.push({ path: value, line: here.line });
        continue;
      }
      if (word === 'private' || word === 'global') {
        start ??= here;
        flags = { ...flags, [word === 'private' ? 'isPrivate' : 'isGlobal']: true };
        continue;
      }
      if (word !== 'rule') throw new ParseError(`unexpected "${word || reader.peek()}" at line ${here.line}`);
      rules.push(parseRuleAt(reader, start ?? here, flags, file, namespace));
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      errors.push({ line: reader.line, message: error.message });
      // Resynchronise on the next line starting with a rule header.
      const next = /^\s*(?:(?:private|global)\s+)*rule\s/m;
      const rest = source.slice(reader.pos + 1);
      const found = next.exec(rest);
      if (found === null) break;
      const targetPos = reader.pos + 1 + found.index;
      while (reader.pos < targetPos) reader.advance();
    }
    flags = { isPrivate: false, isGlobal: false };
    start = null;
  }
  return { file, namespace, imports, includes, rules, errors, lines: source.split('\n') };
}

/** Rule text with comments removed and whitespace collapsed: a formatting change is not a rule change. */
export function normaliseRuleText(text: string): string {
  return stripComments(text).replace(/\s+/g, ' ').trim();
}

/** First 16 hex digits of the SHA-256 of the normalised rule text: the identity of a rule's content. */
export function ruleHash(rule: Pick<ParsedRule, 'text'>): string {
  return createHash('sha256').update(normaliseRuleText(rule.text)).digest('hex').slice(0, 16);
}

/**
 * plyara-style logic hash: the same strings (whatever their names and order) and the same condition
 * (with string names replaced by their position among the sorted strings) hash the same.
 */
export function logicHash(rule: Pick<ParsedRule, 'strings' | 'condition'>): string {
  const keyed = rule.strings.map((s) => ({
    id: s.id,
    key: `${s.kind}:${s.raw}:${s.flags}:${[...s.modifiers].sort().join(',')}`,
  }));
  const sorted = [...keyed].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const position = new Map(sorted.map((s, index) => [s.id, index]));
  const condition = rule.condition
    .replace(/([$#@!])([A-Za-z0-9_]+)(\*?)/g, (all, sigil: string, id: string, star: string) =>
      star === '' && position.has(id) ? `${sigil}${position.get(id)}` : all,
    )
    .replace(/\s+/g, ' ')
    .trim();
  return createHash('sha256')
    .update(sorted.map((s) => s.key).join('\n'))
    .update('\0')
    .update(condition)
    .digest('hex')
    .slice(0, 16);
}
