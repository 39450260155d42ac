// Small building blocks every page uses: loading, empty and error states,
// the document title, and data loading with abort on unmount.
import { useEffect, useState, type ReactNode, type DependencyList } from 'react';
import { ApiError } from './api';

export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Rigger` : 'Rigger';
  }, [title]);
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="state loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const e = error as ApiError & Error;
  return (
    <div className="state error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <p>
        {e?.name && e.name !== 'Error' ? <code>{e.name}</code> : null} {e?.message ?? String(error)}
      </p>
      {e?.requestId ? <p className="muted">Request id: <code>{e.requestId}</code></p> : null}
    </div>
  );
}

export interface Async<T> { data?: T; error?: unknown; loading: boolean; reload: () => void }

/** Runs load() when deps change; aborts the previous call. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load(ctl.signal).then(
      (data) => { if (!ctl.signal.aborted) setState({ data, loading: false }); },
      (error) => { if (!ctl.signal.aborted) setState({ error, loading: false }); },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** A value that settles `ms` after its last change (pickers, text filters). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
