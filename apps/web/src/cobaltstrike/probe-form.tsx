import { useState, type FormEvent } from 'react';
import { ErrorBox } from '../components/error-box.js';
import { useAction } from '../data/use-action.js';

/**
 * Queue a team-server probe (analysts and admins): the worker fetches the beacon stage from the target and
 * parses it. The server refuses private, loopback and link-local addresses.
 */
export function ProbeForm({ initialTarget = '', onQueued }: { readonly initialTarget?: string; readonly onQueued?: () => void }) {
  const [target, setTarget] = useState(initialTarget);
  const probe = useAction((api, value: string) => api.probeTeamServer(value), onQueued);
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (target.trim() !== '') probe.run(target.trim());
  };
  return (
    <div className="probe-form">
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor="probe-target">Probe a server</label>
        <input
          id="probe-target"
          type="text"
          className="mono"
          value={target}
          maxLength={2048}
          onChange={(event) => setTarget(event.target.value)}
          placeholder="host:port, [v6]:port or http(s)://host/stage-uri"
        />
        <button type="submit" className="primary" disabled={target.trim() === '' || probe.pending}>
          {probe.pending ? 'Queuing…' : 'Probe'}
        </button>
      </form>
      <p className="small muted">Downloads the beacon stage from a live host on the internet (x86 and x64, http and https) and stores any config it decodes.</p>
      {probe.result !== null && (
        <div className="notice live">
          Probe of <span className="mono">{probe.result.target}</span> queued as job <span className="mono">{probe.result.jobId}</span>; the server list updates when it finishes.
        </div>
      )}
      {probe.error !== null && <ErrorBox error={probe.error} title="Probe refused" />}
    </div>
  );
}
