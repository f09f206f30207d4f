import { TLDS } from './tlds.js';

/**
 * Undoes the usual ways analysts and feeds "defang" indicators so they are not clickable, and folds
 * full-width and compatibility forms to ASCII. Returns the new text (no offset map: indicators carry the
 * refanged text as context).
 *
 * Handled, case-insensitively:
 * - Unicode: NFKC (`ｈｔｔｐ：／／ｅｖｉｌ．ｃｏｍ`, `［.］`, `＠`), ideographic full stops (`。`, `｡`) between host
 *   characters, zero-width characters and soft hyphens removed.
 * - schemes: `hxxp`, `hXXp`, `h**p`, `h00p`, `hxp`, `hxxps`..., `http[s]`, `fxp` (before `://`, `:\\` or `__`).
 * - separators: `[.]`, `(.)`, `{.}`, `[dot]`, `(dot)`, `{dot}` (also doubled brackets and inner spaces), `[.` or
 *   `.]` between host characters, `\.`; `[:]`, `[://]`, `[/]`, `[//]`; `[@]`, `(@)`, `[at]`, `(at)`, `{at}`.
 * - ` dot ` (bare word, e.g. `evil dot com`) only where unambiguous: the chain ends in a classic gTLD or a
 *   ccTLD that is not an English word (`in`, `is`, `to`, `me`... are refused) and does not start with an
 *   English function word (`the dot com era` stays as it is).
 *
 * Passes repeat until the text stops changing (at most MAX_PASSES), so `refang(refang(x)) === refang(x)`
 * except for adversarial nesting deeper than that.
 */
export function refang(text: string): string {
  let current = text;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = refangOnce(current);
    if (next === current) return next;
    current = next;
  }
  return current;
}

const MAX_PASSES = 8;

const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/g;
// Lookbehinds are slow in V8 on long inputs: the left character is captured and put back instead.
// After NFKC, U+FF61 (half-width ideographic full stop) has become U+3002.
const IDEOGRAPHIC_DOT = /([A-Za-z0-9-])\u3002(?=[A-Za-z0-9])/g;
const BRACKET_DOT = /[ \t]*[[({]+[ \t]*(?:\.|dot|\u3002)[ \t]*[\])}]+[ \t]*/gi;
// Half-defanged "evil[.com" / "evil.]com"; a digit after "[." is more likely code ("a[.5]").
const PARTIAL_BRACKET_DOT = /([A-Za-z0-9])(?:\[\.(?=[A-Za-z])|\.\](?=[A-Za-z0-9]))/g;
const ESCAPED_DOT = /([A-Za-z0-9])\\\.(?=[A-Za-z0-9])/g;
const BRACKET_SEPARATOR = /[[({]+(:\/\/|:|\/\/|\/)[\])}]+/g;
const BRACKET_AT = /[ \t]*[[({]+[ \t]*(?:@|at)[ \t]*[\])}]+[ \t]*/gi;
const SCHEME_OPTIONAL_S = /\b(h(?:tt|xx|\*\*|00)p)\[s\]/gi;
const DEFANGED_HTTP = /\b(?:h(?:xx|\*\*|00)p|hxp)(s?)(?=:\/\/|:\\|__)/gi;
const DEFANGED_FTP = /\bfx{1,2}p(?=:\/\/|:\\|__)/gi;
const SCHEME_SEPARATOR = /\b(https?|ftp)(?::\\\\?|__)(?=[A-Za-z0-9[])/gi;
const WORD_DOT = /\b[A-Za-z0-9-]+(?:[ \t]+dot[ \t]+[A-Za-z0-9-]+)+\b/gi;
const WORD_DOT_SEPARATOR = /[ \t]+dot[ \t]+/i;

const NON_ASCII = /[\u0080-\uFFFF]/;

function refangOnce(text: string): string {
  let out = text.replace(INVISIBLE, '');
  if (NON_ASCII.test(out)) out = out.normalize('NFKC').replace(IDEOGRAPHIC_DOT, '$1.');
  // Each rewrite runs only when its cheap marker is present: most text has no brackets-around-dots at all.
  const hasBracket = /[[({]/.test(out);
  if (hasBracket) {
    out = out
      .replace(SCHEME_OPTIONAL_S, '$1s')
      .replace(BRACKET_DOT, '.')
      .replace(BRACKET_SEPARATOR, '$1')
      .replace(BRACKET_AT, '@');
  }
  if (out.includes('[.') || out.includes('.]')) out = out.replace(PARTIAL_BRACKET_DOT, '$1.');
  if (out.includes('\\.')) out = out.replace(ESCAPED_DOT, '$1.');
  if (/[:_][\\/_]/.test(out)) {
    out = out
      .replace(DEFANGED_HTTP, (_match, s: string) => `http${s.toLowerCase()}`)
      .replace(DEFANGED_FTP, 'ftp')
      .replace(SCHEME_SEPARATOR, '$1://');
  }
  if (/[ \t]dot[ \t]/i.test(out)) out = out.replace(WORD_DOT, refangWordDot);
  return out;
}

/** Legacy gTLDs safe to read in `x dot tld` prose. */
const WORD_DOT_GTLDS = new Set(['com', 'net', 'org', 'info', 'biz', 'edu', 'gov', 'mil', 'onion', 'xyz', 'top']);
/** ccTLDs that are also common English words. */
const WORD_DOT_AMBIGUOUS = new Set(['am', 'as', 'at', 'be', 'by', 'do', 'go', 'id', 'in', 'is', 'it', 'me', 'my', 'no', 'so', 'to', 'us', 'tv']);
const WORD_DOT_STOPWORDS = new Set([
  'the', 'a', 'an', 'this', 'that', 'of', 'to', 'and', 'or', 'is', 'in', 'on', 'at', 'with', 'by', 'for', 'from',
  'as', 'red', 'blue', 'green', 'black', 'white', 'small', 'big', 'one', 'each', 'every', 'single', 'no',
]);

function refangWordDot(match: string): string {
  const labels = match.split(WORD_DOT_SEPARATOR);
  const first = labels[0]?.toLowerCase() ?? '';
  const tld = labels[labels.length - 1]?.toLowerCase() ?? '';
  const knownTld = WORD_DOT_GTLDS.has(tld) || (tld.length === 2 && TLDS.has(tld) && !WORD_DOT_AMBIGUOUS.has(tld));
  if (!knownTld || WORD_DOT_STOPWORDS.has(first)) return match;
  return labels.join('.');
}
