import { useCallback, useEffect, useRef, useState } from 'react';
import { ProblemError } from './api/client.ts';

function asProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  return new ProblemError({
    type: 'about:blank',
    title: 'Unexpected error',
    status: 0,
    detail: error instanceof Error ? error.message : String(error),
  });
}

export interface Resource<T> {
  data: T | null;
  error: ProblemError | null;
  loading: boolean;
  reload(): void;
  /** Replaces the data in place after a change the server confirmed. */
  setData(update: (current: T | null) => T | null): void;
}

/** Loads data on mount and whenever key changes; the latest request wins. */
export function useResource<T>(load: () => Promise<T>, key: string): Resource<T> {
  const [data, setDataState] = useState<T | null>(null);
  const [error, setError] = useState<ProblemError | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let current = true;
    setLoading(true);
    loadRef.current().then(
      (value) => {
        if (!current) return;
        setDataState(value);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(asProblem(failure));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const setData = useCallback((update: (current: T | null) => T | null) => setDataState(update), []);
  return { data, error, loading, reload, setData };
}

export interface Action<A extends unknown[]> {
  run(...args: A): Promise<boolean>;
  pending: boolean;
  error: ProblemError | null;
  clearError(): void;
}

/** Runs a change, keeping its pending state and the problem it answered; run() resolves true on success. */
export function useAction<A extends unknown[]>(perform: (...args: A) => Promise<unknown>): Action<A> {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ProblemError | null>(null);
  const performRef = useRef(perform);
  performRef.current = perform;

  const run = useCallback(async (...args: A) => {
    setPending(true);
    setError(null);
    try {
      await performRef.current(...args);
      return true;
    } catch (failure) {
      setError(asProblem(failure));
      return false;
    } finally {
      setPending(false);
    }
  }, []);
  const clearError = useCallback(() => setError(null), []);
  return { run, pending, error, clearError };
}
