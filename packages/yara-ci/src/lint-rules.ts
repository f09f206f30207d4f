import { COMMON_BYTES, estimateAtom, hasUnboundedDot, hasUnboundedRepeat } from './atoms.js';
import { logicHash, textBytes, type ParsedRule, type ParsedSource, type ParsedString } from './parse-rules.js';

export type Severity = 'error' | 'warning' | 'info';
export type CheckCategory = 'syntax' | 'logic' | 'performance' | 'style' | 'metadata' | 'platform' | 'test' | 'engine';

/** One finding of the quality gate. `rule` is null for findings about a file (imports, size, parse errors). */
export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly category: CheckCategory;
  readonly rule: string | null;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/**
 * Every lint check, with its default severity. References: yaraQA IDs (notes/yara.md 3.2), YARA-X warning
 * codes (3.6), YARA 4.2.3 warnings (3.7), Livehunt acceptance (3.8).
 */
export const LINT_CHECKS = {
  'parse-error': { severity: 'error', category: 'syntax', summary: 'the rule could not be read' },
  'no-strings-used': { severity: 'error', category: 'logic', summary: 'strings are declared but the condition uses none' },
  'unreferenced-string': { severity: 'error', category: 'logic', summary: 'a string the condition never references (compile error in YARA 4 and YARA-X)' },
  'impossible-count': { severity: 'error', category: 'logic', summary: '"N of them" with N above the number of strings: never matches (yaraQA CE1)' },
  'all-of-them-single': { severity: 'warning', category: 'style', summary: '"all of them" with a single string: write the string' },
  'duplicate-string': { severity: 'warning', category: 'logic', summary: 'two strings with the same value (yaraQA DS1)' },
  'no-atom': { severity: 'error', category: 'performance', summary: 'no fixed run of 2+ bytes: every offset is verified (YARA-X slow_pattern)' },
  'short-atom': { severity: 'warning', category: 'performance', summary: 'fewer than 4 useful atom bytes (yaraQA PA2 / RE1)' },
  'common-atom': { severity: 'warning', category: 'performance', summary: 'the atom is made of 00/20/90/CC/FF bytes or one repeated byte (yaraQA SV1)' },
  'atom-explosion': { severity: 'info', category: 'performance', summary: 'nocase + ascii + wide multiplies atoms (yaraQA NO1)' },
  'nocase-letters-only': { severity: 'info', category: 'performance', summary: 'nocase on a string of letters only (yaraQA NC1)' },
  'unbounded-regex': { severity: 'error', category: 'performance', summary: '.*, .+ or .{n,} in a regex (YARA 4 warning): use .{0,N}' },
  'unbounded-repeat': { severity: 'warning', category: 'performance', summary: 'unbounded repetition of a broad class ([^x]*, \\w+, \\S+, x{n,}): as slow as .* (panopticon)' },
  'filesize-loop': { severity: 'warning', category: 'performance', summary: 'a loop whose range depends on filesize (YARA-X potentially_slow_loop)' },
  'condition-order': { severity: 'info', category: 'performance', summary: 'an expensive term (loop, hash, math over the file) before cheap checks (yaraQA CF1)' },
  'math-heavy': { severity: 'warning', category: 'performance', summary: 'more than 3 math. calls (yaraQA CF2)' },
  'short-string-at': { severity: 'info', category: 'performance', summary: 'a short string tested at an offset: use uintNN(offset) == (yaraQA PA1)' },
  'too-many-strings': { severity: 'warning', category: 'performance', summary: 'more than 20 strings (yaraQA HS1/HS2)' },
  'module-single-rule': { severity: 'info', category: 'performance', summary: 'a module used by one rule only: every file pays its parsing (yaraQA MO1)' },
  'unused-import': { severity: 'warning', category: 'style', summary: 'a module imported but never used' },
  'meta-missing': { severity: 'error', category: 'metadata', summary: 'a required meta field is missing' },
  'meta-invalid': { severity: 'error', category: 'metadata', summary: 'a meta field has the wrong form (date, reference URL, hash)' },
  'duplicate-rule-name': { severity: 'error', category: 'logic', summary: 'two rules share a name' },
  'duplicate-logic': { severity: 'warning', category: 'logic', summary: 'two rules with the same strings and condition (yaraQA DU1)' },
  'rule-name-style': { severity: 'warning', category: 'style', summary: 'rule names are Capitalised_Words_With_Underscores' },
  'tag-style': { severity: 'warning', category: 'style', summary: 'tags are lower-case words, each once' },
  'hex-as-text': { severity: 'info', category: 'style', summary: 'a hex string of printable ASCII: write it as text (yaraQA SV2)' },
  'livehunt-size': { severity: 'warning', category: 'platform', summary: 'ruleset text above 1 MB (VirusTotal Livehunt limit)' },
  'livehunt-include': { severity: 'warning', category: 'platform', summary: 'include is not accepted by VirusTotal Livehunt' },
  'livehunt-module': { severity: 'warning', category: 'platform', summary: 'a module VirusTotal Livehunt does not offer' },
} as const satisfies Record<string, { severity: Severity; category: CheckCategory; summary: string }>;

export type LintCheckId = keyof typeof LINT_CHECKS;

export interface LintPolicy {
  /** Meta fields every rule must have (default author, description, date, reference). */
  readonly requiredMeta?: readonly string[];
  /** Modules Livehunt accepts. */
  readonly allowedModules?: readonly string[];
  readonly maxRulesetBytes?: number;
}

export const DEFAULT_REQUIRED_META = ['author', 'description', 'date', 'reference'] as const;
export const LIVEHUNT_MODULES = ['pe', 'elf', 'math', 'hash', 'magic', 'dotnet', 'time', 'string', 'console', 'cuckoo', 'vt', 'macho', 'lnk'] as const;
const MAX_RULESET_BYTES = 1024 * 1024;
const RULE_NAME = /^[A-Z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$/;
const TAG = /^[a-z][a-z0-9_]*$/;
const HASH_META = /^(hash\d*|sha256\d*|sha1\d*|md5\d*)$/i;
const EXPENSIVE = /\b(for\s+(any|all|\d+)\b|math\.\w+\s*\(\s*0\s*,\s*filesize|hash\.\w+\s*\(\s*0\s*,\s*filesize)/;
const CHEAP = /\b(filesize\s*[<>]|u?int(8|16|32)(be)?\s*\(\s*0\s*\)\s*==)/;

function finding(id: LintCheckId, rule: ParsedRule | null, file: string, line: number, message: string): Finding {
  const check = LINT_CHECKS[id];
  return { id, severity: check.severity, category: check.category, rule: rule?.name ?? null, file, line, message };
}

/** True when the condition can read string `id` (by name, count, offset, length, a `$prefix*` set or `them`). */
function isReferenced(condition: string, id: string): boolean {
  if (/\bthem\b/.test(condition)) return true;
  for (const ref of condition.matchAll(/[$#@!]([A-Za-z0-9_]*)(\*?)/g)) {
    const name = ref[1] ?? '';
    if (ref[2] === '*' ? id.startsWith(name) : name === id) return true;
  }
  return false;
}

function stringBytesKey(s: ParsedString): string {
  return `${s.kind}:${s.kind === 'text' ? Buffer.from(textBytes(s.raw)).toString('hex') : s.raw.replace(/\s+/g, ' ').toLowerCase()}`;
}

function lintStrings(rule: ParsedRule, out: Finding[]): void {
  const file = rule.file;
  const condition = rule.condition;
  if (rule.strings.length > 0 && !/[$#@!]|\bthem\b/.test(condition)) {
    out.push(finding('no-strings-used', rule, file, rule.conditionLine, `rule ${rule.name} declares ${rule.strings.length} strings but its condition uses none`));
  } else {
    for (const s of rule.strings) {
      if (s.id !== '' && !isReferenced(condition, s.id)) {
        out.push(finding('unreferenced-string', rule, file, s.line, `$${s.id} is never referenced by the condition`));
      }
    }
  }
  const count = /\b(\d+)\s+of\s+them\b/.exec(condition);
  if (count !== null && Number(count[1]) > rule.strings.length) {
    out.push(finding('impossible-count', rule, file, rule.conditionLine, `"${count[0]}" but the rule has ${rule.strings.length} strings: it never matches`));
  }
  if (rule.strings.length === 1 && /\ball\s+of\s+them\b/.test(condition)) {
    out.push(finding('all-of-them-single', rule, file, rule.conditionLine, `"all of them" with one string: write $${rule.strings[0]?.id ?? ''}`));
  }
  if (rule.strings.length > 20) {
    out.push(finding('too-many-strings', rule, file, rule.line, `${rule.strings.length} strings (yaraQA: > 20 info, > 40 warning)`));
  }
  const seen = new Map<string, string>();
  for (const s of rule.strings) {
    const key = stringBytesKey(s);
    const first = seen.get(key);
    if (first !== undefined) out.push(finding('duplicate-string', rule, file, s.line, `$${s.id} has the same value as $${first}`));
    else seen.set(key, s.id);

    const mods = new Set(s.modifiers.map((m) => m.replace(/\(.*$/, '')));
    const encoded = mods.has('xor') || mods.has('base64') || mods.has('base64wide');
    const atom = estimateAtom(s);
    if (!encoded) {
      if (atom.run.length < 2) {
        out.push(finding('no-atom', rule, file, s.line, `$${s.id} has no fixed run of 2 or more bytes: the engine verifies it at every offset`));
      } else if (atom.run.every((b) => b === atom.run[0]) || atom.run.every((b) => COMMON_BYTES.has(b))) {
        out.push(finding('common-atom', rule, file, s.line, `$${s.id}: its best atom is only common or repeated bytes (${Buffer.from(atom.run.slice(0, 4)).toString('hex')})`));
      } else if (atom.usefulBytes < 4) {
        out.push(finding('short-atom', rule, file, s.line, `$${s.id}: best atom has ${atom.usefulBytes} useful byte(s), fewer than 4`));
      }
    }
    if (mods.has('nocase') && mods.has('wide') && mods.has('ascii')) {
      out.push(finding('atom-explosion', rule, file, s.line, `$${s.id}: nocase + ascii + wide generates dozens of atoms`));
    } else if (mods.has('nocase') && s.kind === 'text' && /^[A-Za-z]+$/.test(s.raw)) {
      out.push(finding('nocase-letters-only', rule, file, s.line, `$${s.id}: nocase on letters only; add a non-letter byte`));
    }
    if (s.kind === 'regex') {
      if (hasUnboundedDot(s.raw)) {
        out.push(finding('unbounded-regex', rule, file, s.line, `$${s.id}: /${s.raw}/ has an unbounded dot; bound it (.{0,64})`));
      } else if (hasUnboundedRepeat(s.raw)) {
        out.push(finding('unbounded-repeat', rule, file, s.line, `$${s.id}: /${s.raw}/ repeats without an upper bound`));
      }
    }
    if (s.kind === 'hex' && /^([0-9A-Fa-f]{2}\s*)+$/.test(s.raw)) {
      const bytes = s.raw.replace(/\s+/g, '').match(/../g)?.map((h) => Number.parseInt(h, 16)) ?? [];
      if (bytes.length >= 4 && bytes.every((b) => b >= 0x20 && b < 0x7f)) {
        out.push(finding('hex-as-text', rule, file, s.line, `$${s.id} is printable ASCII "${Buffer.from(bytes).toString('latin1')}": write it as text`));
      }
    }
    const at = new RegExp(`\\$${s.id}\\s+at\\s+`).exec(condition);
    if (s.id !== '' && at !== null && s.kind === 'text' && textBytes(s.raw).length <= 4) {
      out.push(finding('short-string-at', rule, file, s.line, `$${s.id} at <offset>: use uint${textBytes(s.raw).length * 8 === 24 ? 32 : textBytes(s.raw).length * 8}(offset) ==`));
    }
  }
}

function lintCondition(rule: ParsedRule, out: Finding[]): void {
  const c = rule.condition;
  if (/\bfor\s+(any|all|\d+)\s+\w+\s+in\s*\(\s*[^)]*\bfilesize\b/.test(c) || /\bfor\s+(any|all|\d+)\s+\w+\s+in\s*\([^)]*#\w+/.test(c) && /filesize/.test(c)) {
    out.push(finding('filesize-loop', rule, rule.file, rule.conditionLine, 'loop over a range bounded by filesize: cost grows with the file'));
  }
  const mathCalls = c.match(/\bmath\.\w+\s*\(/g)?.length ?? 0;
  if (mathCalls > 3) out.push(finding('math-heavy', rule, rule.file, rule.conditionLine, `${mathCalls} math. calls`));
  // Short-circuit: in a top-level `and` chain, cheap gates should come before expensive terms.
  const terms = c.split(/\band\b/);
  const firstExpensive = terms.findIndex((t) => EXPENSIVE.test(t));
  const lastCheap = terms.map((t) => CHEAP.test(t)).lastIndexOf(true);
  if (firstExpensive >= 0 && lastCheap > firstExpensive) {
    out.push(finding('condition-order', rule, rule.file, rule.conditionLine, 'put filesize / magic checks before loops and whole-file hash or math'));
  }
}

function lintMetaAndStyle(rule: ParsedRule, policy: LintPolicy, out: Finding[]): void {
  const required = policy.requiredMeta ?? DEFAULT_REQUIRED_META;
  const keys = new Map(rule.meta.map((m) => [m.key, m]));
  const missing = required.filter((key) => !keys.has(key));
  if (missing.length > 0) {
    out.push(finding('meta-missing', rule, rule.file, rule.line, `missing meta: ${missing.join(', ')}`));
  }
  for (const m of rule.meta) {
    const value = m.value;
    let problem: string | null = null;
    if (m.key === 'date' && (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))) {
      problem = 'date must be YYYY-MM-DD';
    } else if (m.key === 'reference' && (typeof value !== 'string' || !/^(https?:\/\/\S+|internal|none)$/.test(value))) {
      problem = 'reference must be an http(s) URL (or "internal")';
    } else if ((m.key === 'author' || m.key === 'description') && (typeof value !== 'string' || value.trim().length < 3)) {
      problem = `${m.key} must be a non-empty text`;
    } else if (HASH_META.test(m.key) && (typeof value !== 'string' || !/^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i.test(value))) {
      problem = `${m.key} must be an MD5, SHA-1 or SHA-256 in hex`;
    }
    if (problem !== null) out.push(finding('meta-invalid', rule, rule.file, m.line, problem));
  }
  if (!RULE_NAME.test(rule.name) || rule.name.length > 128) {
    out.push(finding('rule-name-style', rule, rule.file, rule.line, `"${rule.name}" should look like MAL_Family_Variant`));
  }
  const tags = new Set<string>();
  for (const tag of rule.tags) {
    if (!TAG.test(tag) || tags.has(tag)) out.push(finding('tag-style', rule, rule.file, rule.line, `tag "${tag}" ${tags.has(tag) ? 'repeated' : 'is not a lower-case word'}`));
    tags.add(tag);
  }
}

/** Lints a parsed ruleset (all files together: duplicates and module usage are set-wide). */
export function lintRuleset(sources: readonly ParsedSource[], policy: LintPolicy = {}): Finding[] {
  const out: Finding[] = [];
  const allRules = sources.flatMap((s) => s.rules);
  let totalBytes = 0;
  const moduleUsers = new Map<string, Set<string>>();
  for (const source of sources) {
    totalBytes += source.lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    for (const error of source.errors) out.push(finding('parse-error', null, source.file, error.line, error.message));
    for (const include of source.includes) {
      out.push(finding('livehunt-include', null, source.file, include.line, `include "${include.path}"`));
    }
    const allowed = new Set<string>(policy.allowedModules ?? LIVEHUNT_MODULES);
    for (const imported of source.imports) {
      if (!allowed.has(imported.module)) {
        out.push(finding('livehunt-module', null, source.file, imported.line, `module "${imported.module}" is not available on Livehunt`));
      }
      const users = source.rules.filter((r) => new RegExp(`\\b${imported.module}\\.`).test(r.condition));
      if (users.length === 0) out.push(finding('unused-import', null, source.file, imported.line, `"${imported.module}" is imported but unused`));
      const set = moduleUsers.get(imported.module) ?? new Set<string>();
      for (const user of users) set.add(user.name);
      moduleUsers.set(imported.module, set);
    }
    for (const rule of source.rules) {
      lintStrings(rule, out);
      lintCondition(rule, out);
      lintMetaAndStyle(rule, policy, out);
    }
  }
  // yaraQA MO1, for sets large enough that a lone user of a module is worth a second look.
  if (allRules.length >= 5) {
    for (const [module, users] of moduleUsers) {
      const only = [...users][0];
      if (users.size === 1 && only !== undefined && module !== 'math' && module !== 'hash') {
        const rule = allRules.find((r) => r.name === only) ?? null;
        out.push(finding('module-single-rule', rule, rule?.file ?? '', rule?.line ?? 1, `only ${only} uses "${module}"; every scanned file pays for parsing it`));
      }
    }
  }
  if (totalBytes > (policy.maxRulesetBytes ?? MAX_RULESET_BYTES)) {
    out.push(finding('livehunt-size', null, sources[0]?.file ?? '', 1, `ruleset text is ${totalBytes} bytes (limit ${MAX_RULESET_BYTES})`));
  }
  const byName = new Map<string, ParsedRule>();
  const byLogic = new Map<string, ParsedRule>();
  for (const rule of allRules) {
    const first = byName.get(rule.name);
    if (first !== undefined) {
      out.push(finding('duplicate-rule-name', rule, rule.file, rule.line, `${rule.name} is also defined at ${first.file}:${first.line}`));
    } else byName.set(rule.name, rule);
    if (rule.strings.length === 0 && rule.condition.length < 8) continue;
    const hash = logicHash(rule);
    const twin = byLogic.get(hash);
    if (twin !== undefined && twin.name !== rule.name) {
      out.push(finding('duplicate-logic', rule, rule.file, rule.line, `same strings and condition as ${twin.name} (${twin.file}:${twin.line})`));
    } else if (twin === undefined) byLogic.set(hash, rule);
  }
  return out;
}
