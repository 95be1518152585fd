import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { AGENT_API_ROOT, DEVICE_API_ROOT } from '@flowgate/protocol';
import type { Config } from '../config.ts';

/**
 * The server's log: one line per request, at a level that keeps a terminal readable, and in
 * the format FLOWGATE_LOG_FORMAT names: `pretty` lines (`12:00:01 INFO  GET /api/teams 200
 * 4 ms`) or `json`, one object per line, for log shippers; `auto` (the default) is pretty on a
 * terminal and JSON otherwise.
 */

/**
 * A request as the server log records it: without its query string, which may carry a
 * bearer (a Node-RED editor is opened with ?access_token=, as the editor expects) or a
 * one-time code.
 */
export function requestForLog(request: { method: string; url: string; ip?: string }): { method: string; url: string; remoteAddress: string | undefined } {
  return { method: request.method, url: request.url.split('?')[0]!, remoteAddress: request.ip };
}

/** A file's name at the end of the path: the web UI's assets, and the editors' through the proxy. */
const FILE_NAME = /\/[^/]+\.[a-z0-9]{1,8}$/i;

/**
 * Traffic that would bury what a person reads: health and metrics polls, static files, and
 * the routine calls of agents and devices (long polls, status reports, log uploads). Logged at
 * debug when it succeeds; a refusal or a failure is logged as any other request is.
 */
export function isRoutine(method: string, path: string): boolean {
  if (path === '/api/health' || path === '/metrics') return true;
  if (path.startsWith(`${AGENT_API_ROOT}/`) || path.startsWith(`${DEVICE_API_ROOT}/`)) return true;
  return (method === 'GET' || method === 'HEAD') && !path.startsWith('/api/') && FILE_NAME.test(path);
}

export function requestLogLevel(method: string, path: string, statusCode: number): 'debug' | 'info' | 'warn' | 'error' {
  if (statusCode >= 500) return 'error';
  if (statusCode >= 400) return 'info';
  return isRoutine(method, path) ? 'debug' : 'info';
}

/** One line per request, as it is answered (Fastify's own two lines a request are off). */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const req = requestForLog(request);
  const ms = reply.elapsedTime;
  const level = requestLogLevel(req.method, req.url, reply.statusCode);
  request.log[level](
    { req, res: { statusCode: reply.statusCode }, responseTime: ms },
    `${req.method} ${req.url} ${reply.statusCode} ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`,
  );
}

type Destination = { write(text: string): unknown; isTTY?: boolean };

/** Fastify's logger options: the level, the query-free request, and the format's destination. */
export function loggerOptions(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  destination: Destination = process.stdout,
): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && destination.isTTY === true);
  return { level: config.logLevel, serializers: { req: requestForLog }, stream: pretty ? prettyStream(destination) : destination };
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** What every line carries, or a request line says in its message already. */
const LEFT_OUT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId', 'req', 'res', 'responseTime', 'err']);

const two = (n: number) => String(n).padStart(2, '0');

/** Pino's JSON line as a person reads it: local time, level, message, the other fields as key=value, an error's stack below. */
export function prettyLine(json: string, colour = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  let out = `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())} ${colour ? `\u001b[${COLOURS[level] ?? '0'}m${name}\u001b[0m` : name} ${String(entry.msg ?? '')}`;
  for (const [key, value] of Object.entries(entry)) {
    if (LEFT_OUT.has(key) || value === undefined) continue;
    out += ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`;
  }
  const err = entry.err as { message?: string; stack?: string } | undefined;
  if (err) out += `\n    ${(err.stack ?? err.message ?? JSON.stringify(err)).split('\n').join('\n    ')}`;
  return out;
}

/** A destination that takes pino's JSON lines and writes them as pretty lines. */
export function prettyStream(destination: Destination): { write(text: string): void } {
  const colour = destination.isTTY === true && !process.env.NO_COLOR;
  return {
    write(text: string) {
      for (const json of text.split('\n')) if (json) destination.write(`${prettyLine(json, colour)}\n`);
    },
  };
}
