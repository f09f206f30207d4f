import { useRef, useState, type FormEvent } from 'react';
import type { HashEntry, HashRequest } from '@malpipe/api-client';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { useResource } from '../data/use-resource.js';
import { shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { isPendingHashState } from './hash-request-state.js';

/** Rows whose state is followed live; the rest show the state at submission (a paste may hold thousands). */
const LIVE_ROWS = 50;
const LIVE_REFRESH_MS = 3000;
/** A request no source can serve stays `queued`: stop asking after about five minutes. */
const MAX_POLLS = 100;

function LiveHashState({ entry }: { readonly entry: HashEntry }) {
  const polls = useRef(0);
  const request = useResource<HashRequest>(`hash:${entry.id}`, (api) => api.getHashRequest(entry.id), {
    pollMs: (r) => (isPendingHashState(r.state) && ++polls.current < MAX_POLLS ? LIVE_REFRESH_MS : null),
  });
  const state = request.data?.state ?? entry.state;
  const sha256 = request.data?.sha256 ?? entry.sha256 ?? null;
  return (
    <>
      <td>
        <StateBadge state={state} />
        {request.data?.errorMessage != null && <span className="warn small"> {request.data.errorMessage}</span>}
      </td>
      <td className="mono">{sha256 === null ? '—' : <Link to={paths.sample(sha256)}>{shortHash(sha256, 16)}</Link>}</td>
    </>
  );
}

/**
 * Hashes without files: pasted as a list or inside any text (a report, an e-mail); known samples link at
 * once, the others are fetched from the configured sources (MalwareBazaar, VirusTotal) when there are any.
 */
export function HashSubmitForm() {
  const { api, reportError } = useSession();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [entries, setEntries] = useState<readonly HashEntry[]>([]);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    api.submitHashes({ text }).then(
      (result) => {
        setEntries(result);
        setBusy(false);
      },
      (failure: unknown) => {
        setError(reportError(failure));
        setBusy(false);
      },
    );
  };

  return (
    <form className="upload-form" onSubmit={submit}>
      <textarea
        aria-label="Hashes or text containing hashes"
        rows={4}
        className="mono"
        placeholder="MD5, SHA-1 or SHA-256 hashes, one per line, or any text containing them"
        value={text}
        onChange={(event) => setText(event.target.value)}
      />
      <button type="submit" className="primary" disabled={busy || text.trim() === ''}>
        {busy ? 'Submitting…' : 'Submit hashes'}
      </button>
      {error !== null && <ErrorBox error={error} title="Hash submission failed" />}
      {entries.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>Hash</th>
              <th>Type</th>
              <th>State</th>
              <th>Sample</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry, i) => (
              <tr key={entry.id}>
                <td className="mono small">{entry.hash}</td>
                <td className="small">{entry.type}</td>
                {i < LIVE_ROWS ? (
                  <LiveHashState entry={entry} />
                ) : (
                  <>
                    <td>
                      <StateBadge state={entry.state} />
                    </td>
                    <td className="mono">{entry.sha256 === undefined ? '—' : <Link to={paths.sample(entry.sha256)}>{shortHash(entry.sha256, 16)}</Link>}</td>
                  </>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {entries.length > LIVE_ROWS && <p className="small muted">States of the first {LIVE_ROWS} hashes update live.</p>}
    </form>
  );
}
