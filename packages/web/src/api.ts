/**
 * The one way the UI talks to the server: JSON in, JSON out, problem+json errors
 * turned into ProblemError, and the CSRF header on every write of a cookie session.
 */
export interface FieldProblem {
  field: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}

export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldProblem[];

  constructor(problem: ProblemBody) {
    super(problem.detail);
    this.name = 'ProblemError';
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiClient {
  get<T>(url: string): Promise<T>;
  post<T>(url: string, body?: unknown): Promise<T>;
  put<T>(url: string, body?: unknown): Promise<T>;
  patch<T>(url: string, body?: unknown): Promise<T>;
  delete<T>(url: string, body?: unknown): Promise<T>;
}

export interface ApiHooks {
  /** The CSRF token of the current session, or null before sign-in. */
  csrfToken(): string | null;
  /** Called when a signed-in call answers 401: the session ended (idle, revoked, disabled). */
  onSessionLost(): void;
}

/** Calls whose 401 is an answer to show (wrong password, wrong code), not a lost session. */
const SIGN_IN_CALLS = ['/api/auth/', '/api/setup', '/api/invitations/'];

async function problemOf(response: Response): Promise<ProblemError> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    const body = (await response.json().catch(() => null)) as Partial<ProblemBody> | null;
    if (body && typeof body.detail === 'string') {
      return new ProblemError({
        type: body.type ?? 'about:blank',
        title: body.title ?? response.statusText,
        status: body.status ?? response.status,
        detail: body.detail,
        ...(body.errors ? { errors: body.errors } : {}),
      });
    }
  }
  return new ProblemError({
    type: 'about:blank',
    title: response.statusText || 'Request failed',
    status: response.status,
    detail: `The server answered ${response.status} ${response.statusText}.`,
  });
}

export function createApiClient(hooks: ApiHooks): ApiClient {
  async function request<T>(method: Method, url: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const csrf = hooks.csrfToken();
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ProblemError({
        type: 'about:blank',
        title: 'No connection',
        status: 0,
        detail: 'The platform did not answer. Check your connection and try again.',
      });
    }
    if (!response.ok) {
      const problem = await problemOf(response);
      if (response.status === 401 && !SIGN_IN_CALLS.some((prefix) => url.startsWith(prefix))) hooks.onSessionLost();
      throw problem;
    }
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
  return {
    get: (url) => request('GET', url),
    post: (url, body) => request('POST', url, body ?? {}),
    put: (url, body) => request('PUT', url, body ?? {}),
    patch: (url, body) => request('PATCH', url, body ?? {}),
    delete: (url, body) => request('DELETE', url, body),
  };
}

/** Builds a query string from the filled-in fields only. */
export function queryString(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
