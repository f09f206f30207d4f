/**
 * A light reader of YARA source that finds each rule's name, modifiers, tags and meta without compiling.
 * The YARA-X binding (0.3.0) cannot put rules into namespaces, count rules or report boolean meta, so the
 * YARA-X engine uses this outline for those. It is not a validator: the engines report syntax errors; on
 * text it cannot follow it stops and says so (`complete: false`).
 */
export type MetaValue = string | number | boolean;

export interface RuleOutline {
  readonly name: string;
  readonly isPrivate: boolean;
  readonly isGlobal: boolean;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, MetaValue>>;
  /** 1-based line of the `rule` keyword. */
  readonly line: number;
}

export interface SourceOutline {
  readonly rules: readonly RuleOutline[];
  readonly complete: boolean;
}

const IDENT = /[A-Za-z0-9_]/;
const WORD_START = /[A-Za-z_$#@!]/;

class Cursor {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}

  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }

  advance(): string {
    const ch = this.text[this.pos] ?? '';
    this.pos += 1;
    if (ch === '\n') this.line += 1;
    return ch;
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  /** Skips whitespace and comments. */
  skipTrivia(): void {
    while (!this.done) {
      const ch = this.peek();
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
        this.advance();
      } else if (ch === '/' && this.peek(1) === '/') {
        while (!this.done && this.peek() !== '\n') this.advance();
      } else if (ch === '/' && this.peek(1) === '*') {
        this.advance();
        this.advance();
        while (!this.done && !(this.peek() === '*' && this.peek(1) === '/')) this.advance();
        this.advance();
        this.advance();
      } else {
        return;
      }
    }
  }

  word(): string {
    const start = this.pos;
    if (WORD_START.test(this.peek())) this.advance();
    while (!this.done && (IDENT.test(this.peek()) || this.peek() === '*')) this.advance();
    return this.text.slice(start, this.pos);
  }

  /** Reads a "..." literal (cursor on the opening quote) and returns its unescaped text. */
  quoted(): string {
    this.advance();
    let out = '';
    while (!this.done && this.peek() !== '"') {
      const ch = this.advance();
      if (ch === '\\') {
        const next = this.advance();
        if (next === 'n') out += '\n';
        else if (next === 't') out += '\t';
        else if (next === 'x') {
          const hex = this.advance() + this.advance();
          out += String.fromCharCode(Number.parseInt(hex, 16));
        } else out += next;
      } else if (ch === '\n') {
        return out; // unterminated: the engine will report it
      } else {
        out += ch;
      }
    }
    this.advance();
    return out;
  }

  /** Skips a /regex/ with its flags (cursor on the opening slash). */
  regex(): void {
    this.advance();
    while (!this.done && this.peek() !== '/' && this.peek() !== '\n') {
      if (this.advance() === '\\') this.advance();
    }
    this.advance();
    while (/[is]/.test(this.peek())) this.advance();
  }

  /** Skips a { hex string } (cursor on the brace). Hex strings never nest braces. */
  hex(): void {
    while (!this.done && this.advance() !== '}') {
      if (this.peek() === '/' && (this.peek(1) === '/' || this.peek(1) === '*')) this.skipTrivia();
    }
  }

  /** Skips a balanced (...) group such as a modifier's arguments. */
  parens(): void {
    let depth = 0;
    while (!this.done) {
      this.skipTrivia();
      const ch = this.peek();
      if (ch === '"') {
        this.quoted();
        continue;
      }
      this.advance();
      if (ch === '(') depth += 1;
      else if (ch === ')' && --depth <= 0) return;
    }
  }
}

function parseMetaValue(cursor: Cursor): MetaValue | undefined {
  cursor.skipTrivia();
  const ch = cursor.peek();
  if (ch === '"') return cursor.quoted();
  let sign = 1;
  if (ch === '-') {
    cursor.advance();
    sign = -1;
  }
  const token = cursor.word();
  if (token === 'true') return true;
  if (token === 'false') return false;
  if (/^0x[0-9a-f]+$/i.test(token)) return sign * Number.parseInt(token.slice(2), 16);
  if (/^0o[0-7]+$/i.test(token)) return sign * Number.parseInt(token.slice(2), 8);
  if (/^\d+$/.test(token)) return sign * Number.parseInt(token, 10);
  return undefined;
}

type Section = 'none' | 'meta' | 'strings' | 'condition';

/** Reads a rule body from just after `{` to its closing brace. Returns false when it got lost. */
function parseBody(cursor: Cursor, meta: Record<string, MetaValue>): boolean {
  let section: Section = 'none';
  let previous = '';
  while (!cursor.done) {
    cursor.skipTrivia();
    const ch = cursor.peek();
    if (ch === '}') {
      cursor.advance();
      return true;
    }
    if (ch === '"') {
      cursor.quoted();
      previous = '"';
      continue;
    }
    if (ch === '/' && (previous === '=' || previous === 'matches')) {
      cursor.regex();
      previous = '/';
      continue;
    }
    if (ch === '{') {
      if (section !== 'strings' || previous !== '=') return false;
      cursor.hex();
      previous = '}';
      continue;
    }
    if (ch === '(' && section === 'strings') {
      cursor.parens();
      previous = ')';
      continue;
    }
    if (WORD_START.test(ch) || /[0-9]/.test(ch)) {
      const token = cursor.word();
      if (cursor.peek() === ':' && (token === 'meta' || token === 'strings' || token === 'condition')) {
        cursor.advance();
        section = token;
        previous = ':';
        continue;
      }
      if (section === 'meta' && /^[A-Za-z_]/.test(token)) {
        cursor.skipTrivia();
        if (cursor.peek() === '=') {
          cursor.advance();
          const value = parseMetaValue(cursor);
          // YARA keeps duplicate meta keys; callers here see the first, as a record can only hold one.
          if (value !== undefined && !(token in meta)) meta[token] = value;
          previous = 'value';
          continue;
        }
      }
      previous = token;
      continue;
    }
    cursor.advance();
    previous = ch;
  }
  return false;
}

export function outlineRules(source: string): SourceOutline {
  const cursor = new Cursor(source);
  const rules: RuleOutline[] = [];
  let isPrivate = false;
  let isGlobal = false;
  while (true) {
    cursor.skipTrivia();
    if (cursor.done) return { rules, complete: true };
    if (cursor.peek() === '"') {
      cursor.quoted();
      continue;
    }
    const line = cursor.line;
    const token = cursor.word();
    if (token === '') return { rules, complete: false };
    if (token === 'import' || token === 'include') continue;
    if (token === 'private') {
      isPrivate = true;
      continue;
    }
    if (token === 'global') {
      isGlobal = true;
      continue;
    }
    if (token !== 'rule') return { rules, complete: false };
    cursor.skipTrivia();
    const name = cursor.word();
    const tags: string[] = [];
    cursor.skipTrivia();
    if (cursor.peek() === ':') {
      cursor.advance();
      for (;;) {
        cursor.skipTrivia();
        if (cursor.peek() === '{' || cursor.done) break;
        const tag = cursor.word();
        if (tag === '') return { rules, complete: false };
        tags.push(tag);
      }
    }
    cursor.skipTrivia();
    if (name === '' || cursor.peek() !== '{') return { rules, complete: false };
    cursor.advance();
    const meta: Record<string, MetaValue> = {};
    const closed = parseBody(cursor, meta);
    rules.push({ name, isPrivate, isGlobal, tags, meta, line });
    if (!closed) return { rules, complete: false };
    isPrivate = false;
    isGlobal = false;
  }
}
