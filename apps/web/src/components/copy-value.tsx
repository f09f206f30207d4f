import { useState } from 'react';

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard !== undefined && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a LAN address is not a secure context: fall back to a selected textarea.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy refused by the browser');
}

/** A value (hash, IoC) that copies itself when clicked, with brief feedback. */
export function CopyValue({ value, display, className }: { readonly value: string; readonly display?: string; readonly className?: string }) {
  const [status, setStatus] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = (): void => {
    copyText(value).then(
      () => setStatus('copied'),
      () => setStatus('failed'),
    );
    setTimeout(() => setStatus('idle'), 1200);
  };
  return (
    <button type="button" className={`copy-value ${className ?? ''}`} title={`Copy ${value}`} onClick={copy}>
      <span className="mono">{display ?? value}</span>
      <span className={`copy-status copy-${status}`} aria-live="polite">
        {status === 'copied' ? 'copied' : status === 'failed' ? 'copy failed' : 'copy'}
      </span>
    </button>
  );
}
