import { describeError } from './describe-error.js';

export function ErrorBox({ error, title }: { readonly error: unknown; readonly title?: string }) {
  const { code, message, hint } = describeError(error);
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? 'Request failed'}</strong> <code className="error-code">{code}</code>
      <div className="error-message">{message}</div>
      {hint !== null && <div className="error-hint">{hint}</div>}
    </div>
  );
}
