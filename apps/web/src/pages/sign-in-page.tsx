import { useState, type FormEvent } from 'react';
import { ApiError } from '@malpipe/api-client';
import { useSessionContext } from '../auth/session.js';
import { describeError } from '../components/describe-error.js';
import { navigate, useLocation } from '../routing/router.js';
import { safeNextPath } from '../routing/routes.js';

export function SignInPage() {
  const { signIn, signInMessage } = useSessionContext();
  const location = useLocation();
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    signIn(token, remember).then(
      () => navigate(safeNextPath(new URLSearchParams(location.search).get('next')), { replace: true }),
      (error: unknown) => {
        setBusy(false);
        if (error instanceof ApiError && error.status === 401) setProblem(`The server refused this token: ${error.message}.`);
        else {
          const { code, message, hint } = describeError(error);
          setProblem(`${code}: ${message}${hint === null ? '' : ` ${hint}`}`);
        }
      },
    );
  };

  return (
    <div className="sign-in">
      <form className="card" onSubmit={submit}>
        <h1>malpipe</h1>
        <p className="muted">Paste an API token to use the dashboard.</p>
        {signInMessage !== null && problem === null && (
          <div className="error-box" role="alert">
            {signInMessage}
          </div>
        )}
        {problem !== null && (
          <div className="error-box" role="alert">
            {problem}
          </div>
        )}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="mp_…"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          autoFocus
        />
        <label className="checkbox">
          <input type="checkbox" checked={remember} onChange={(event) => setRemember(event.target.checked)} />
          <span>
            Remember on this computer
            <br />
            <span className="muted small">Kept in localStorage; otherwise the token is forgotten when this tab closes.</span>
          </span>
        </label>
        <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p className="small muted">
          An admin creates tokens with <code>malpipe token create --role analyst --name alice</code>. The token is sent as{' '}
          <code>Authorization: Bearer</code> to this server only.
        </p>
      </form>
    </div>
  );
}
