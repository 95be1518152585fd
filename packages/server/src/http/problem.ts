import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROXIED_PAGE_PATH } from '@flowgate/core';
import type { AuditLog } from '../features/audit/audit.service.ts';
import { AuditUnavailableError, DomainError, ValidationError } from './errors.ts';

const TYPE_BASE = 'https://flowgate.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extra: string]: unknown;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (reply.request.url.startsWith(SCIM_PREFIX)) return sendScimError(reply, problem);
  const page = proxiedPageOf(reply.request);
  if (page) return sendProblemPage(reply, problem, page);
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

const SCIM_PREFIX = '/scim/';
/** RFC 7644 §3.12: what a SCIM client reads of a refusal, and which scimType a framework refusal is. */
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const SCIM_TYPES: Record<string, string> = {
  [TYPE_BASE + 'validation']: 'invalidValue',
  [TYPE_BASE + 'malformed-json']: 'invalidSyntax',
  [TYPE_BASE + 'bad-url']: 'invalidSyntax',
};

/**
 * The same problem in SCIM's own error format, for an identity provider's SCIM client: a
 * refusal of the service's (a ScimError's scimType), of the schema, of the body parser or of
 * the router alike.
 */
function sendScimError(reply: FastifyReply, problem: Problem): FastifyReply {
  const scimType = typeof problem.scimType === 'string' ? problem.scimType : SCIM_TYPES[problem.type];
  return reply
    .code(problem.status)
    .type('application/scim+json')
    .send({ schemas: [SCIM_ERROR], status: String(problem.status), ...(scimType ? { scimType } : {}), detail: problem.detail });
}

/**
 * Pages the platform proxies rather than renders (a Node-RED editor, a flow's dashboard),
 * opened by a person's browser: the instance's or device's own page, to go back to. Null for
 * anything else, which is a script's request and gets problem+json.
 */
function proxiedPageOf(request: FastifyRequest): ProxiedPage | null {
  if (request.method !== 'GET') return null;
  // Only what the browser itself says is a navigation: a script asking for HTML (curl, an
  // XHR) still gets the status it can act on.
  if (request.headers['sec-fetch-mode'] !== 'navigate') return null;
  const host = request.instanceHost;
  if (host) {
    // An instance's own origin: the way back and the sign-in are the platform's, elsewhere.
    // Signing in again there goes through the platform's route that hands this origin a code.
    const base = `${host.platformUrl}/instances/${host.instanceId}`;
    const path = request.url.split('?')[0]!;
    const signIn = path.startsWith(`/instances/${host.instanceId}/app/`)
      ? `${base}/app?next=${encodeURIComponent(request.url)}`
      : path.startsWith(`/instances/${host.instanceId}/editor/`)
        ? `${base}/editor`
        : null; // the code's own exchange: a refused code is shown, not tried again in a loop
    return { back: base, signIn };
  }
  const match = PROXIED_PAGE_PATH.exec(request.url);
  if (!match) return null;
  return { back: `/${match[1]}/${match[2]}`, signIn: `/sign-in?next=${encodeURIComponent(request.url)}` };
}

interface ProxiedPage {
  back: string;
  /** Where a signed-out person goes to sign in and come back; null: shown the problem instead. */
  signIn: string | null;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The same problem as a page a person can read: signed out (a session that timed out while
 * the editor's tab stayed open), to the sign-in page and back here after it; anything else,
 * what went wrong and a way back, with the problem's status.
 */
function sendProblemPage(reply: FastifyReply, problem: Problem, page: ProxiedPage): FastifyReply {
  if (problem.type === TYPE_BASE + 'unauthenticated' && page.signIn !== null) return reply.redirect(page.signIn, 303);
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(problem.title)} · Flowgate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d2733}h1{font-size:1.5rem}a{color:#0b5cad}.muted{color:#5b6673;font-size:.875rem}</style></head>
<body><main>
<h1>${escapeHtml(problem.title)}</h1>
<p>${escapeHtml(problem.detail)}</p>
<p><a href="${escapeHtml(page.back)}">Back to Flowgate</a></p>
<p class="muted">HTTP ${problem.status}</p>
</main></body>
</html>
`;
  return reply.code(problem.status).type('text/html; charset=utf-8').send(html);
}

/**
 * The one mapper from errors to problem+json. Domain errors say what was wrong;
 * Fastify's own errors (validation, body too large, bad JSON) are translated; anything
 * else is a 500 that reveals no internals and is logged with its stack.
 */
export function registerProblemHandler(app: FastifyInstance, auditLog: Pick<AuditLog, 'record'>): void {
  app.setErrorHandler(async (thrown: FastifyError, request, reply) => {
    const instance = request.url.split('?')[0];
    let error: FastifyError | DomainError = thrown;
    // A refusal on record (DomainError.audited): written here, once, for every route.
    if (error instanceof DomainError && error.refusal) {
      try {
        await auditLog.record(error.refusal.as ?? request.ctx, error.refusal.event);
      } catch (failure) {
        request.log.error({ err: failure, refusal: error.refusal.event.event }, 'a refusal could not be put on record');
        error = failure instanceof DomainError ? failure : new AuditUnavailableError();
      }
    }
    if (error instanceof DomainError) return sendProblem(reply, { ...problemOf(error), instance });
    if (error.validation) return sendProblem(reply, { ...problemOf(validationErrorOf(error)), instance });
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, {
        type: TYPE_BASE + (FASTIFY_CODES[error.code] ?? STATUS_CODES[status] ?? 'bad-request'),
        title: FASTIFY_TITLES[error.code] ?? STATUS_TITLES[status] ?? 'Bad request',
        status,
        detail: error.message,
        instance,
      });
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, {
      type: TYPE_BASE + 'internal',
      title: 'Internal error',
      status: 500,
      detail: 'Something went wrong on the server. The error was logged.',
      instance,
    });
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: TYPE_BASE + 'not-found',
      title: 'Not found',
      status: 404,
      detail: `No route ${request.method} ${request.url.split('?')[0]}.`,
      instance: request.url.split('?')[0],
    }),
  );
}

/**
 * Errors Fastify meets before any route runs (a malformed URL, a path parameter past
 * maxParamLength): they skip the error handler, so Fastify's \`frameworkErrors\` option
 * sends them here, to answer in problem+json like everything else.
 */
export function sendFrameworkProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.raw.url?.split('?')[0] ?? '';
  const status = error.statusCode ?? 400;
  return sendProblem(reply, {
    type: TYPE_BASE + (status === 414 ? 'uri-too-long' : 'bad-url'),
    title: status === 414 ? 'URI too long' : 'Bad URL',
    status,
    detail: status === 414 ? 'A path parameter is longer than any id or token: 100 characters at most.' : `The URL could not be read: ${error.message.slice(0, 200)}`,
    instance: path.slice(0, 200),
  });
}

const problemOf = (error: DomainError): Problem => ({ type: TYPE_BASE + error.type, title: error.title, status: error.status, detail: error.message, ...error.extra });

/** Fastify's schema validation error as the ValidationError it is: each field named, the detail listing them. */
export function validationErrorOf(error: FastifyError): ValidationError {
  const errors = (error.validation ?? []).map((v) => ({ field: fieldName(v.instancePath, v.params), message: v.message ?? 'is invalid' }));
  return new ValidationError(errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}

function fieldName(instancePath: string, params: Record<string, unknown>): string {
  const base = instancePath.replace(/^\//, '').replaceAll('/', '.');
  const extra = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  if (extra) return base ? `${base}.${extra}` : extra;
  return base || '(body)';
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
};
const FASTIFY_TITLES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'Malformed JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Malformed JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Body too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported media type',
};
/**
 * By status, for errors that carry no code: @fastify/rate-limit's 429 (the sign-in limit) is
 * a plain Error with a statusCode only.
 */
const STATUS_CODES: Record<number, string> = { 429: 'too-many-requests' };
const STATUS_TITLES: Record<number, string> = { 429: 'Too many requests' };
