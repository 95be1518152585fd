/**
 * The one way the UI talks to the server: JSON in, JSON out, problem+json errors
 * turned into ProblemError, and the CSRF header on every write of a cookie session.
 */
import type { paths } from './openapi.gen.ts';

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

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The operation a path answers with a method (paths list every method: an absent one is never). */
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The API's paths that answer a method. */
export type PathWith<M extends Method> = { [P in keyof paths]: [NonNullable<paths[P][M]>] extends [never] ? never : P }[keyof paths];

type Present<T> = [NonNullable<T>] extends [never] ? never : NonNullable<T>;
type JsonContent<R> = R extends { content: { 'application/json': infer J } } ? J : R extends { content?: never } ? undefined : unknown;
type Responses<O> = O extends { responses: infer R } ? R : never;
type SuccessCode<R> = Extract<keyof R, 200 | 201 | 202 | 204>;

/** What an operation answers on success, as the server's schema says. */
export type Reply<P extends PathWith<M>, M extends Method = 'get'> = JsonContent<Responses<Operation<P, M>>[SuccessCode<Responses<Operation<P, M>>>]>;
/** The JSON body an operation takes. */
export type RequestBody<P extends PathWith<M>, M extends Method> = Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The path parameters of an operation, by name. */
export type PathParameters<P extends PathWith<M>, M extends Method = 'get'> = Present<Operation<P, M>['parameters']['path']>;
/** The query parameters of an operation, by name. */
export type QueryParameters<P extends PathWith<M>, M extends Method = 'get'> = Present<Operation<P, M>['parameters']['query']>;

/** What a call names besides its path: the path's parameters, the query, the body, each only where the operation has one. */
export type CallOptions<P extends PathWith<M>, M extends Method> = ([PathParameters<P, M>] extends [never] ? unknown : { path: PathParameters<P, M> }) &
  ([QueryParameters<P, M>] extends [never] ? unknown : { query?: QueryParameters<P, M> }) &
  ([RequestBody<P, M>] extends [never] ? unknown : Operation<P, M> extends { requestBody: unknown } ? { body: RequestBody<P, M> } : { body?: RequestBody<P, M> });

/** Options may be left out when the operation needs none. */
type OptionsArgument<P extends PathWith<M>, M extends Method> = Record<string, never> extends CallOptions<P, M> ? [options?: CallOptions<P, M>] : [options: CallOptions<P, M>];

interface LooseOptions {
  path?: Record<string, string>;
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
}

/**
 * The URL of an API path with its parameters filled in (each encoded) and the filled-in query
 * fields: for links (an export to download) as well as calls.
 */
export function apiUrl<P extends keyof paths>(
  path: P,
  options: { path?: Record<string, string>; query?: Record<string, string | number | boolean | null | undefined> } = {},
): string {
  const filled = (path as string).replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = options.path?.[name];
    if (value === undefined) throw new Error(`apiUrl: ${path as string} needs its ${name}`);
    return encodeURIComponent(value);
  });
  return filled + queryString(options.query ?? {});
}

/** The server's API, typed from its OpenAPI document: each call names a path the server has and gets what it answers. */
export interface ApiClient {
  get<P extends PathWith<'get'>>(path: P, ...options: OptionsArgument<P, 'get'>): Promise<Reply<P, 'get'>>;
  post<P extends PathWith<'post'>>(path: P, ...options: OptionsArgument<P, 'post'>): Promise<Reply<P, 'post'>>;
  put<P extends PathWith<'put'>>(path: P, ...options: OptionsArgument<P, 'put'>): Promise<Reply<P, 'put'>>;
  patch<P extends PathWith<'patch'>>(path: P, ...options: OptionsArgument<P, 'patch'>): Promise<Reply<P, 'patch'>>;
  delete<P extends PathWith<'delete'>>(path: P, ...options: OptionsArgument<P, 'delete'>): Promise<Reply<P, 'delete'>>;
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
  async function request(method: HttpMethod, path: string, options: LooseOptions = {}, emptyBody?: object): Promise<never> {
    const url = apiUrl(path as keyof paths, options);
    const body = options.body ?? emptyBody;
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
    if (response.status === 204) return undefined as never;
    return (await response.json()) as never;
  }
  // A write always sends a JSON body (an empty object when the call has none) except DELETE.
  return {
    get: (path, ...options) => request('GET', path, options[0] as LooseOptions),
    post: (path, ...options) => request('POST', path, options[0] as LooseOptions, {}),
    put: (path, ...options) => request('PUT', path, options[0] as LooseOptions, {}),
    patch: (path, ...options) => request('PATCH', path, options[0] as LooseOptions, {}),
    delete: (path, ...options) => request('DELETE', path, options[0] as LooseOptions),
  };
}

/** Builds a query string from the filled-in fields only. */
export function queryString(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
