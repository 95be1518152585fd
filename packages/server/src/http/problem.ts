import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './errors.ts';

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
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/**
 * The one mapper from errors to problem+json. Domain errors say what was wrong;
 * Fastify's own errors (validation, body too large, bad JSON) are translated; anything
 * else is a 500 that reveals no internals and is logged with its stack.
 */
export function registerProblemHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const instance = request.url.split('?')[0];
    if (error instanceof DomainError) {
      return sendProblem(reply, {
        type: TYPE_BASE + error.type,
        title: error.title,
        status: error.status,
        detail: error.message,
        instance,
        ...error.extra,
      });
    }
    if (error.validation) {
      const errors = error.validation.map((v) => ({
        field: fieldName(v.instancePath, v.params),
        message: v.message ?? 'is invalid',
      }));
      return sendProblem(reply, {
        type: TYPE_BASE + 'validation',
        title: 'Invalid request',
        status: 400,
        detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        instance,
        errors,
      });
    }
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
