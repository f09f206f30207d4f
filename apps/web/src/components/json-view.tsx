import { useMemo, useState } from 'react';

/** Above this, the JSON is cut until the user asks for all of it (a strings result can be ~1 MB). */
const PREVIEW_CHARS = 20_000;

export function JsonView({ value }: { readonly value: unknown }) {
  const text = useMemo(() => JSON.stringify(value, null, 2) ?? 'undefined', [value]);
  const [full, setFull] = useState(false);
  const cut = !full && text.length > PREVIEW_CHARS;
  return (
    <div className="json-view">
      <pre>{cut ? `${text.slice(0, PREVIEW_CHARS)}\n…` : text}</pre>
      {cut && (
        <button type="button" onClick={() => setFull(true)}>
          Show all ({Math.round(text.length / 1024)} KiB)
        </button>
      )}
    </div>
  );
}
