import { useState, type DragEvent, type FormEvent } from 'react';
import type { AnalysisStatus, SubmittedSample } from '@malpipe/api-client';
import { isLive } from '../analyses/analysis-state.js';
import { useSession } from '../auth/session.js';
import { StateBadge } from '../components/badges.js';
import { ErrorBox } from '../components/error-box.js';
import { useResource } from '../data/use-resource.js';
import { formatBytes, shortHash } from '../format/format.js';
import { Link } from '../routing/router.js';
import { paths } from '../routing/routes.js';
import { HashSubmitForm } from '../upload/hash-submit-form.js';
import { parseTagInput, parsePasswordInput } from '../upload/upload-input.js';

const LIVE_REFRESH_MS = 2000;

function AnalysisState({ id }: { readonly id: string }) {
  const status = useResource<AnalysisStatus>(`analysis:${id}`, (api) => api.getAnalysis(id), {
    pollMs: (a) => (isLive(a) ? LIVE_REFRESH_MS : null),
  });
  if (status.data === null) return status.error === null ? <span className="muted">…</span> : <span className="warn">unknown</span>;
  const a = status.data;
  return (
    <span>
      <StateBadge state={a.state} /> <span className="muted small">{a.results.length} results{a.children.length > 0 ? `, ${a.children.length} child analyses` : ''}</span>
      {a.errorMessage !== null && <span className="warn small"> {a.errorMessage}</span>}
    </span>
  );
}

export function UploadPage() {
  const { api, reportError } = useSession();
  const [files, setFiles] = useState<readonly File[]>([]);
  const [tags, setTags] = useState('');
  const [passwords, setPasswords] = useState('');
  const [force, setForce] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [submitted, setSubmitted] = useState<readonly SubmittedSample[]>([]);

  const addFiles = (list: FileList | null): void => {
    if (list === null) return;
    const added = [...list];
    setFiles((current) => [...current, ...added.filter((f) => !current.some((c) => c.name === f.name && c.size === f.size))]);
  };
  const onDrop = (event: DragEvent<HTMLLabelElement>): void => {
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  };

  const tagResult = parseTagInput(tags);
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (files.length === 0 || tagResult.problems.length > 0) return;
    setBusy(true);
    setError(null);
    api
      .submitSamples(
        files.map((f) => ({ name: f.name, data: f })),
        { tags: tagResult.tags, passwords: parsePasswordInput(passwords), force },
      )
      .then(
        (result) => {
          setSubmitted((previous) => [...result, ...previous]);
          setFiles([]);
          setBusy(false);
        },
        (failure: unknown) => {
          setError(reportError(failure));
          setBusy(false);
        },
      );
  };

  const total = files.reduce((n, f) => n + f.size, 0);
  return (
    <div className="page upload-page">
      <h2>Upload samples</h2>
      <form className="upload-form" onSubmit={submit}>
        <label
          className={`dropzone ${dragging ? 'dragging' : ''}`}
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <input type="file" multiple onChange={(event) => {
            addFiles(event.target.files);
            event.target.value = '';
          }} />
          <strong>Drop files here</strong> or click to choose. Archives are unpacked (ZIP, TAR, GZIP), their members analysed as
          samples of their own.
        </label>
        {files.length > 0 && (
          <table className="grid narrow">
            <thead>
              <tr>
                <th>File</th>
                <th className="num">Size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {files.map((f, i) => (
                <tr key={`${f.name}:${i}`}>
                  <td className="mono">{f.name}</td>
                  <td className="num">{formatBytes(f.size)}</td>
                  <td>
                    <button type="button" className="link-button" onClick={() => setFiles((current) => current.filter((_, j) => j !== i))}>
                      remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <div className="form-grid">
          <label htmlFor="tags">Tags</label>
          <div>
            <input id="tags" type="text" placeholder="phishing, campaign:2026-11, apt28" value={tags} onChange={(event) => setTags(event.target.value)} />
            {tagResult.problems.map((p) => (
              <div key={p} className="warn small">
                {p}
              </div>
            ))}
          </div>
          <label htmlFor="passwords">Archive passwords</label>
          <div>
            <textarea
              id="passwords"
              rows={2}
              placeholder={'one per line, tried in order; leave empty for the server defaults (usually “infected”)'}
              value={passwords}
              onChange={(event) => setPasswords(event.target.value)}
            />
          </div>
          <span />
          <label className="checkbox">
            <input type="checkbox" checked={force} onChange={(event) => setForce(event.target.checked)} /> Analyse again even if a
            report exists
          </label>
        </div>
        <button type="submit" className="primary" disabled={busy || files.length === 0 || tagResult.problems.length > 0}>
          {busy ? 'Uploading…' : `Submit ${files.length} file${files.length === 1 ? '' : 's'}${files.length > 0 ? ` (${formatBytes(total)})` : ''}`}
        </button>
      </form>
      {error !== null && <ErrorBox error={error} title="Upload failed" />}
      {submitted.length > 0 && (
        <>
          <h3>Submitted</h3>
          <table className="grid">
            <thead>
              <tr>
                <th>File</th>
                <th>Sample</th>
                <th>New?</th>
                <th>Analysis</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {submitted.map((s) => (
                <tr key={s.analysisId}>
                  <td className="mono">{s.fileName}</td>
                  <td className="mono">
                    <Link to={paths.sample(s.sha256)} title={s.sha256}>
                      {shortHash(s.sha256, 16)}
                    </Link>
                  </td>
                  <td>{s.isNewSample ? 'new' : <span className="muted">known</span>}</td>
                  <td className="mono">
                    <Link to={paths.analysis(s.analysisId)}>{shortHash(s.analysisId, 16)}</Link>
                  </td>
                  <td>
                    <AnalysisState id={s.analysisId} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2 className="spaced">Submit hashes</h2>
      <HashSubmitForm />
    </div>
  );
}
