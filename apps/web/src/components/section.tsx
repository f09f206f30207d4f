import type { ReactNode } from 'react';

/** A collapsible section (`<details>`, so it works with the keyboard and without script). */
export function Section({
  title,
  meta,
  open = true,
  className,
  children,
}: {
  readonly title: ReactNode;
  readonly meta?: ReactNode;
  readonly open?: boolean;
  readonly className?: string;
  readonly children: ReactNode;
}) {
  return (
    <details className={`section ${className ?? ''}`} open={open}>
      <summary>
        <span className="section-title">{title}</span>
        {meta !== undefined && <span className="section-meta">{meta}</span>}
      </summary>
      <div className="section-body">{children}</div>
    </details>
  );
}

/** A definition list of label/value rows; rows with an undefined value are skipped. */
export function Facts({ rows }: { readonly rows: readonly (readonly [string, ReactNode])[] }) {
  return (
    <dl className="facts">
      {rows
        .filter(([, value]) => value !== undefined)
        .map(([label, value]) => (
          <div key={label} className="fact">
            <dt>{label}</dt>
            <dd>{value ?? '—'}</dd>
          </div>
        ))}
    </dl>
  );
}
