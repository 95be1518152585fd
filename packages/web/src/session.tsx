import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { createApiClient, type ApiClient } from './api/client.ts';
import type { SessionState } from './types.ts';

interface SessionContextValue {
  api: ApiClient;
  /** null until the first answer from /api/auth/session. */
  session: SessionState | null;
  refresh(): Promise<SessionState>;
  /** Keeps the CSRF token a sign-in step answered with, for the next writes. */
  adoptCsrfToken(token: string): void;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionState | null>(null);
  const csrf = useRef<string | null>(null);
  const refreshRef = useRef<() => Promise<SessionState>>(async () => ({ signedIn: false }));

  const api = useMemo(
    () =>
      createApiClient({
        csrfToken: () => csrf.current,
        onSessionLost: () => void refreshRef.current().catch(() => {}),
      }),
    [],
  );

  const refresh = useCallback(async () => {
    const next = await api.get('/api/auth/session');
    csrf.current = next.csrfToken ?? null;
    setSession(next);
    return next;
  }, [api]);
  refreshRef.current = refresh;

  const adoptCsrfToken = useCallback((token: string) => {
    csrf.current = token;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.post('/api/auth/logout');
    } finally {
      csrf.current = null;
      await refresh().catch(() => setSession({ signedIn: false }));
    }
  }, [api, refresh]);

  useEffect(() => {
    refresh().catch(() => setSession({ signedIn: false }));
  }, [refresh]);

  const value = useMemo(() => ({ api, session, refresh, adoptCsrfToken, signOut }), [api, session, refresh, adoptCsrfToken, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

export function useApi(): ApiClient {
  return useSession().api;
}
