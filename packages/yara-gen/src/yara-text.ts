/** Small helpers to write YARA source text deterministically. */

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

export function hex8(value: number): string {
  return `0x${(value & 0xff).toString(16).padStart(2, '0')}`;
}

export function hexOffset(value: number): string {
  return `0x${value.toString(16)}`;
}

/** Little-endian dword at `offset`, as YARA's `uint32()` reads it. */
export function dwordAt(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8) | ((bytes[offset + 2] ?? 0) << 16) | ((bytes[offset + 3] ?? 0) << 24)) >>> 0;
}

/** `{ 4d 5a 90 00 }` */
export function hexString(bytes: Uint8Array): string {
  return `{ ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ')} }`;
}

/** A quoted YARA text string; anything outside printable ASCII (and `"`/`\`) is written as `\xNN`. */
export function textString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

export function metaString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/[\r\n]+/g, ' ')}"`;
}

/** A valid rule identifier from free text. */
export function ruleIdentifier(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 96);
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `r_${cleaned}`;
}

export interface RuleText {
  readonly name: string;
  readonly tags?: readonly string[];
  readonly meta: readonly (readonly [string, string | number | boolean])[];
  readonly strings: readonly string[];
  readonly condition: readonly string[];
}

/** Renders one rule; condition terms are joined with `and`, one per line, cheapest first as given. */
export function renderRule(rule: RuleText): string {
  const lines = [`rule ${rule.name}${rule.tags !== undefined && rule.tags.length > 0 ? ` : ${rule.tags.join(' ')}` : ''}`, '{', '  meta:'];
  for (const [key, value] of rule.meta) lines.push(`    ${key} = ${typeof value === 'string' ? metaString(value) : String(value)}`);
  if (rule.strings.length > 0) {
    lines.push('  strings:');
    for (const s of rule.strings) lines.push(`    ${s}`);
  }
  lines.push('  condition:');
  rule.condition.forEach((term, i) => lines.push(`    ${i === 0 ? '' : 'and '}${term}`));
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
