import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { verifyEditorToken } from '@flowgate/core';
import { sendProblem } from '../../http/problem.ts';
import type { UsersTable } from '../../db/schema.ts';
import { SESSION_COOKIE } from '../../http/auth.ts';
import { INSTANCE_COOKIE } from './instance-origins.ts';
import { ForbiddenError } from '../../http/errors.ts';

/**
 * What proxying a Node-RED editor needs, wherever that Node-RED runs: a hosted instance
 * on the platform's loopback (instance-proxy.ts) or a device at the far end of its tunnel
 * (fleet/device-editor.routes.ts). Both put the same sign-in, the same token rules and the
 * same headers in front of it.
 */

/** The editor keeps its token for WebSocket sign-in; the session still gates every request. */
export const EDITOR_TOKEN_SECONDS = 8 * 3600;
/** What Node-RED gets for one forwarded request lives no longer than the request may. */
export const FORWARDED_TOKEN_SECONDS = 60;
/** An editor request Node-RED has not begun to answer by then fails (502). */
export const EDITOR_ANSWER_MS = 30_000;
export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * What Node-RED's pages need instead of the platform's strict policy: the editor runs the
 * inline scripts of every node's definition and Monaco's workers, and a dashboard its own
 * scripts. Connections stay on this origin (no calls out to the public flow catalogue:
 * what may be installed is the team's palette policy), and no other site may frame them.
 */
const NODE_RED_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'self'",
].join('; ');

export function withNodeRedPolicy<H extends Record<string, unknown>>(headers: H): H {
  return { ...headers, 'content-security-policy': NODE_RED_CSP };
}

/**
 * Node-RED's own static files under its editor: its scripts and styles (red/, vendor/, the
 * editor's type definitions under types/), the nodes' icons and the favicon. They change
 * only with Node-RED (or, for icons, a node module) installed anew, and the editor's page
 * asks for its scripts and styles with its version in the query (`?v=`). Node-RED serves them
 * with `max-age=0`, so every open of the editor asked for each again, through the
 * platform's sign-in each time. Everything else (the page, the API, flows, settings, nodes,
 * locales, theme, resources of node modules) keeps Node-RED's own headers.
 */
const EDITOR_ASSET = /^(?:red|vendor|types|icons)\/|^favicon\.ico$/;
/** A day: an instance moved to another Node-RED version gets the new files within it at worst (the versioned scripts at once). Private: the person's browser only. */
export const EDITOR_ASSET_CACHE_CONTROL = 'private, max-age=86400';

/** The Cache-Control a successful answer to `path` (under the editor's root, without the query) gets, if not Node-RED's own. */
export function editorCacheControl(method: string, path: string): string | undefined {
  return (method === 'GET' || method === 'HEAD') && EDITOR_ASSET.test(path) ? EDITOR_ASSET_CACHE_CONTROL : undefined;
}

/**
 * Cookies Node-RED must not see: the platform's own session, and the sign-in on the
 * instance's origin (a flow that read it could act in the editor as whoever visited).
 */
export function withoutPlatformCookie(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  const rest = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${SESSION_COOKIE}=`) && !c.startsWith(`${INSTANCE_COOKIE}=`));
  return rest.length ? rest.join('; ') : undefined;
}

/**
 * Request bodies in this scope reach Node-RED as they came, streamed: not parsed and written
 * again (a deploy's flow JSON twice over), not refused for a type the platform has no parser
 * for (a form posted to an HTTP-in node, an upload), and bounded by Node-RED's own limit
 * rather than the platform API's. Nothing is read before the sign-in hook has passed.
 */
export function passBodiesThrough(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}

/** Connection-level headers: they belong to each hop, not to the message. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function withoutHopByHop(headers: Record<string, unknown>): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && value !== null && !HOP_BY_HOP.has(name)) kept[name] = value as string | string[];
  return kept;
}

/** Where a Node-RED listens: a hosted instance's port at the host its driver names (loopback, or its Pod), or a stream of a device's tunnel. */
export type NodeRedHop = { host: string; port: number; agent: http.Agent } | { openStream: () => Socket };

/**
 * One request to a Node-RED, streamed both ways with node:http (the body as it came, in a
 * scope that passes bodies through; the answer as Node-RED gives it, with Node-RED's
 * policy, and `cacheControl` on a successful answer when given). No answer begun within `answerWithinMs`, or no connection: 502, named.
 */
export function forwardToNodeRed(
  request: FastifyRequest,
  reply: FastifyReply,
  hop: NodeRedHop,
  target: { path: string; headers: Record<string, unknown>; answerWithinMs: number; cacheControl?: string },
): Promise<FastifyReply> {
  return new Promise((resolve) => {
    const fail = (why: string) =>
      resolve(sendProblem(reply, { type: 'https://flowgate.dev/problems/node-red-unreachable', title: 'Node-RED did not answer', status: 502, detail: why }));
    const headers = withoutHopByHop(target.headers);
    const body = request.body;
    // Fastify reads no body of a GET or HEAD: a length the client sent would have Node-RED wait for it.
    if (!(body instanceof Readable)) delete headers['content-length'];
    let upstream: http.ClientRequest;
    try {
      upstream = http.request({
        ...('port' in hop ? { host: hop.host, port: hop.port, agent: hop.agent } : { createConnection: hop.openStream }),
        method: request.method,
        path: target.path,
        headers: { ...headers, host: '127.0.0.1' },
      });
    } catch (error) {
      return fail(`no connection to Node-RED: ${(error as Error).message}`);
    }
    // The wait for an answer starts once the request is sent: a slow upload is not Node-RED's delay.
    let timer: NodeJS.Timeout | undefined;
    upstream.on('finish', () => {
      timer = setTimeout(() => upstream.destroy(new Error(`Node-RED did not answer within ${target.answerWithinMs / 1000} s`)), target.answerWithinMs);
    });
    let answering = false;
    upstream.on('response', (response: IncomingMessage) => {
      clearTimeout(timer);
      answering = true;
      reply.code(response.statusCode ?? 502);
      reply.headers(withNodeRedPolicy(withoutHopByHop(response.headers)));
      // Only what Node-RED served as the file: a refusal or an error is not kept.
      if (target.cacheControl && (response.statusCode === 200 || response.statusCode === 304)) reply.header('cache-control', target.cacheControl);
      resolve(reply.send(response));
    });
    upstream.on('error', (error) => {
      clearTimeout(timer);
      // Once the answer has begun, its status line is sent: all that is left is to cut it short.
      if (answering) reply.raw.destroy(error);
      else if (!reply.sent) fail(error.message);
    });
    // The person went away before the answer: so does the request to Node-RED.
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) upstream.destroy();
    });
    if (body instanceof Readable) body.pipe(upstream);
    else upstream.end();
  });
}

/** The part of a URL after the path: '' or '?…'. */
export function queryOf(url: string): string {
  return url.includes('?') ? url.slice(url.indexOf('?')) : '';
}

/**
 * Checks the editor token a request presents. A token minted for someone else or another
 * editor is refused, and a write must carry one: a cross-site form has the cookie but not the
 * token. What Node-RED then gets is a token minted for the request (editorRequestHeaders).
 */
export function checkPresentedEditorToken(request: FastifyRequest, key: string, expect: { userId: string; iid: string }, nowSeconds: number): void {
  const sent = request.headers.authorization?.startsWith('Bearer ') ? request.headers.authorization.slice(7) : null;
  const presented = sent ? verifyEditorToken(key, sent, nowSeconds) : null;
  if (presented && (presented.sub !== expect.userId || presented.iid !== expect.iid)) throw new ForbiddenError('This editor token belongs to someone else.');
  if (!SAFE.has(request.method) && !presented) throw new ForbiddenError('Editor changes need the editor token: reload the editor.');
}

/**
 * The editor's front door: GET of the editor's root with no query. The editor is then
 * handed a fresh token in the URL, as Node-RED's editor expects; it keeps it and reloads
 * itself at "editor/?" (the query emptied, not removed), which goes through to Node-RED.
 */
export function isEditorFrontDoor(request: FastifyRequest, path: string): boolean {
  return request.method === 'GET' && path === '' && queryOf(request.url) === '';
}

/** The request headers Node-RED gets: its editor token instead of the platform's session. */
export function editorRequestHeaders<H extends Record<string, unknown>>(headers: H, token: string): H {
  const next: Record<string, unknown> = { ...headers, authorization: `Bearer ${token}`, cookie: withoutPlatformCookie(headers.cookie as string | undefined) };
  delete next['x-csrf-token'];
  return next as H;
}

export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Who opens an editor's WebSocket: the signed-in person of the session cookie (the
 * platform's, or on an instance's origin that origin's own), when the page comes from the
 * same origin (cross-site WebSocket hijacking otherwise). Null:
 * refuse it, with the status given.
 */
export async function upgradeUser(
  req: IncomingMessage,
  authenticateSession: (token: string) => Promise<{ user: UsersTable; session: { stage: string } } | null>,
  cookieName: string = SESSION_COOKIE,
): Promise<{ user: UsersTable } | { status: 401 | 403 }> {
  const cookie = new RegExp(`(?:^|;\\s*)${cookieName}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
  const found = cookie ? await authenticateSession(decodeURIComponent(cookie)) : null;
  if (!found || found.session.stage !== 'full') return { status: 401 };
  const origin = req.headers.origin;
  if (origin && URL.parse(origin)?.host !== req.headers.host) return { status: 403 }; // 'null' (a sandboxed page) too
  return { user: found.user };
}

/**
 * The upgrade request with `headers` (the request's own, minus the platform's cookie, plus
 * what the caller adds) written to Node-RED, and then a byte pipe both ways until either
 * end closes.
 */
export function pipeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, upstream: Duplex, headers: IncomingHttpHeaders): void {
  const lines = Object.entries(headers)
    .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined && entry[0] !== 'proxy-authorization')
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
  upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  if (head.length) upstream.write(head);
  socket.pipe(upstream).pipe(socket);
  const close = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on('error', close);
  socket.on('error', close);
  upstream.on('close', close);
  socket.on('close', close);
}
