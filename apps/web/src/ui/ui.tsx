import { useCallback, useEffect, useId, useRef, useState, type ReactElement, type ReactNode } from 'react';
import { humanMessage } from '../api/errors.ts';

export type Async<T> =
  | { status: 'loading'; data?: undefined; error?: undefined }
  | { status: 'ok'; data: T; error?: undefined }
  | { status: 'error'; data?: undefined; error: unknown };

/** Runs `load` when `deps` change; `reload` runs it again; a stale answer never overwrites a newer one. */
export function useAsync<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
): Async<T> & { reload: () => void; set: (data: T) => void } {
  const [state, setState] = useState<Async<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setState((s) => (s.status === 'ok' ? s : { status: 'loading' }));
    load().then(
      (data) => run === latest.current && setState({ status: 'ok', data }),
      (error: unknown) => run === latest.current && setState({ status: 'error', error }),
    );
    // `load` is recreated every render; `deps` say when it means something new.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((data: T) => setState({ status: 'ok', data }), []);
  return { ...state, reload, set };
}

/** Loading, error (with a retry) or the content, for one async value. */
export function AsyncView<T>({
  value,
  label,
  children,
}: {
  value: Async<T> & { reload: () => void };
  label: string;
  children: (data: T) => ReactNode;
}): ReactElement {
  if (value.status === 'loading') return <Loading label={label} />;
  if (value.status === 'error') return <ErrorState error={value.error} onRetry={value.reload} />;
  return <>{children(value.data)}</>;
}

/**
 * A page that edits a record or creates one: with an `id` it loads the record first (its title and
 * a loading or error state until then), without one the editor starts empty (`null`).
 */
export function EditOrCreate<T>({
  id,
  title,
  label,
  load,
  children,
}: {
  id: string | null;
  title: string;
  label: string;
  load: (id: string) => Promise<T>;
  children: (record: T | null, onSaved: (record: T) => void) => ReactNode;
}): ReactElement {
  const record = useAsync(() => (id ? load(id) : Promise.resolve(null)), [id]);
  if (record.status !== 'ok') {
    return (
      <>
        <PageTitle title={title}>{title}</PageTitle>
        <AsyncView value={record} label={label}>
          {() => null}
        </AsyncView>
      </>
    );
  }
  return <>{children(record.data, record.set)}</>;
}

/**
 * Where an invitation's e-mail stands, under its status: failed (until an e-mail of it is
 * delivered: a resent link, a reminder), or queued and not delivered yet.
 */
export function InvitationEmailState({
  invitation: i,
}: {
  invitation: {
    status: string;
    sentAt: string | null;
    deliveryFailedAt: string | null;
    deliveryFailure: string | null;
  };
}) {
  if (i.deliveryFailedAt) return <div className="delivery-failed">E-mail failed: {i.deliveryFailure}</div>;
  if (i.sentAt === null && i.status === 'pending') return <div className="muted">E-mail queued, not delivered yet</div>;
  return null;
}

export function Loading({ label }: { label: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {label}…
    </p>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="alert" role="alert">
      <p style={{ margin: 0 }}>{humanMessage(error)}</p>
      {onRetry && (
        <div className="actions" style={{ marginBottom: 0 }}>
          <button type="button" className="secondary" onClick={onRetry}>
            Try again
          </button>
        </div>
      )}
    </div>
  );
}

/** An error message for a form or action; nothing when there is no error. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  return (
    <div className="alert" role="alert">
      {humanMessage(error)}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** Sets the document title and puts focus on the page heading, so screen readers hear the new page. */
export function PageTitle({ children, title }: { children: ReactNode; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Parley`;
    ref.current?.focus({ preventScroll: true });
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

interface FieldProps {
  label: string;
  error?: string;
  hint?: string;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}

/** A label, a control, a hint and an error, wired together for assistive technology. */
export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {children({ id, 'aria-invalid': Boolean(error), ...(describedBy ? { 'aria-describedby': describedBy } : {}) })}
      {error && (
        <p className="error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

/** Runs an action, tracking busy and error state for a button and an error message. */
export function useAction<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): { run: (...args: A) => void; busy: boolean; error: unknown; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  const run = (...args: A) => {
    setBusy(true);
    setError(null);
    action(...args)
      .catch((e: unknown) => mounted.current && setError(e))
      .finally(() => mounted.current && setBusy(false));
  };
  return { run, busy, error, clear: () => setError(null) };
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const SESSION_STATUS_LABELS: Record<string, string> = {
  invited: 'Invited',
  consented: 'Consented',
  in_progress: 'In progress',
  completed: 'Completed',
  scoring: 'Scoring',
  scored: 'Scored',
  expired: 'Expired',
  abandoned: 'Abandoned',
};

export function StatusBadge({ status }: { status: string }) {
  const tone =
    status === 'scored' || status === 'completed' || status === 'published' || status === 'accepted'
      ? 'ok'
      : status === 'expired' || status === 'abandoned' || status === 'revoked' || status === 'archived'
        ? 'bad'
        : 'warn';
  return <span className={`badge ${tone}`}>{SESSION_STATUS_LABELS[status] ?? status}</span>;
}
