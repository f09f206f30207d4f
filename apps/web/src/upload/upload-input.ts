/**
 * The upload form's free-text fields, checked as the server checks them (samples-routes.ts: tags of letters,
 * digits and `._:/-`, at most 64 characters, at most 50; at most 20 passwords) so mistakes show before upload.
 */

export const MAX_TAGS = 50;
export const MAX_TAG_LENGTH = 64;
export const MAX_PASSWORDS = 20;
const TAG_PATTERN = /^[\p{L}\p{N}._:/-]+$/u;

/** Comma- or blank-separated tags, lower-cased and de-duplicated as the server stores them. */
export function parseTagInput(text: string): { tags: string[]; problems: string[] } {
  const tags = new Set<string>();
  const problems: string[] = [];
  for (const raw of text.split(/[,\s]+/)) {
    const tag = raw.trim().toLowerCase();
    if (tag === '') continue;
    if (tag.length > MAX_TAG_LENGTH) problems.push(`tag "${tag.slice(0, 20)}…" is longer than ${MAX_TAG_LENGTH} characters`);
    else if (!TAG_PATTERN.test(tag)) problems.push(`tag "${tag}" may only hold letters, digits and . _ : / -`);
    else tags.add(tag);
  }
  if (tags.size > MAX_TAGS) problems.push(`at most ${MAX_TAGS} tags`);
  return { tags: [...tags], problems };
}

/** One password per line; blank lines dropped, the rest kept verbatim (passwords may have spaces), in order. */
export function parsePasswordInput(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .slice(0, MAX_PASSWORDS);
}
