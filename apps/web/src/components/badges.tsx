import { entropyFraction, entropyLevel } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { toSearchParams, EMPTY_SEARCH, type SearchFilter } from '../search/search-state.js';

/** A job, analysis or result state as a coloured badge (`queued`, `running`, `completed`, `failed`, `dead`, `ok`...). */
export function StateBadge({ state }: { readonly state: string }) {
  return <span className={`badge state-${state.replace(/[^a-z-]/g, '')}`}>{state}</span>;
}

/** A link to the sample list filtered on one value. */
export function searchLink(filter: SearchFilter, value: string): string {
  return paths.samples(toSearchParams({ ...EMPTY_SEARCH, filters: { [filter]: value } }));
}

export function TagList({ tags }: { readonly tags: readonly string[] }) {
  if (tags.length === 0) return <span className="muted">—</span>;
  return (
    <span className="tags">
      {tags.map((tag) => (
        <Link
          key={tag}
          to={searchLink('tag', tag)}
          className={`tag ${tag.startsWith('yara:') ? 'tag-yara' : ''}`}
        >
          {tag}
        </Link>
      ))}
    </span>
  );
}

/** Shannon entropy as a bar (0..8 bits per byte) with the value. */
export function EntropyBar({ entropy }: { readonly entropy: number | null }) {
  if (entropy === null) return <span className="muted">—</span>;
  const level = entropyLevel(entropy);
  return (
    <span className="entropy" title={`${entropy.toFixed(3)} bits per byte`}>
      <span className="entropy-track">
        <span className={`entropy-fill entropy-${level}`} style={{ width: `${(entropyFraction(entropy) * 100).toFixed(1)}%` }} />
      </span>
      <span className="entropy-value">{entropy.toFixed(2)}</span>
    </span>
  );
}
