/**
 * What a free-text search means. Analysts paste hashes and defanged IoCs straight from reports, so the text
 * is refanged first (`hxxp`, `[.]`, `(.)`, `[:]`, `[@]`), then matched from the most to the least specific.
 * `domain` is kept apart from `ioc` because a file name like `invoice.pdf` has a domain's shape.
 */
export type QueryMeaning =
  | { readonly kind: 'hash'; readonly value: string }
  | { readonly kind: 'ioc'; readonly value: string }
  | { readonly kind: 'domain'; readonly value: string }
  | { readonly kind: 'text'; readonly value: string };

const HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?::\d{1,5})?$/;
const IPV6 = /^[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$/i;

export function refang(text: string): string {
  return text
    .replace(/^hxxp/i, (m) => `${m.slice(0, 1)}tt${m.slice(3)}`)
    .replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]/gi, '.')
    .replace(/\[:\]/g, ':')
    .replace(/\[@\]|\[at\]/gi, '@');
}

export function interpretQuery(raw: string): QueryMeaning {
  const text = refang(raw.trim());
  if (HASH.test(text)) return { kind: 'hash', value: text.toLowerCase() };
  if (URL_LIKE.test(text) || IPV4.test(text) || EMAIL.test(text)) return { kind: 'ioc', value: text };
  if (IPV6.test(text) && /[0-9a-f]/i.test(text)) return { kind: 'ioc', value: text.toLowerCase() };
  if (DOMAIN.test(text)) return { kind: 'domain', value: text.toLowerCase() };
  return { kind: 'text', value: text };
}
