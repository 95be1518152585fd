import diagnostics from 'node:diagnostics_channel';
import type { FastifyInstance } from 'fastify';
import type { FlowgateRouteConfig, RouteAccess } from '../src/http/route-config.ts';

/**
 * Every route an app registers, hidden ones too, with the config it was declared with.
 * Fastify publishes each new instance on the `fastify.initialization` diagnostics channel;
 * an onRoute hook added there sees all routes, and src/ needs no test hook.
 */
export interface DeclaredRoute {
  method: string;
  url: string;
  /** The route's access, as flags the tests read: which kind, its permission, and whether the editor's token stands in for CSRF. */
  config: { permission?: string; public?: boolean; agent?: boolean; device?: boolean; scim?: boolean; csrfByBearer?: boolean; browserSession?: boolean; team?: string };
  access: RouteAccess | undefined;
}

function flagsOf(access: RouteAccess | undefined): DeclaredRoute['config'] {
  if (!access) return {};
  if (access.kind === 'user') {
    return {
      permission: access.permission,
      ...(access.csrfByBearer ? { csrfByBearer: true } : {}),
      ...(access.browserSession ? { browserSession: true } : {}),
      ...(access.team ? { team: access.team } : {}),
    };
  }
  return { [access.kind]: true };
}

const registered = new WeakMap<object, DeclaredRoute[]>();
diagnostics.subscribe('fastify.initialization', (message) => {
  const { fastify } = message as { fastify: FastifyInstance };
  const routes: DeclaredRoute[] = [];
  registered.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    const access = (route.config as FlowgateRouteConfig | undefined)?.access;
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, config: flagsOf(access), access });
  });
});

export function registeredRoutes(app: object): DeclaredRoute[] {
  return registered.get(app) ?? [];
}

/** Fastify's HEAD twins share their GET route's config; the Swagger UI assets are public documentation. */
export const isExempt = (r: DeclaredRoute) => r.method === 'HEAD' || r.url.startsWith('/api/docs');
export const routeKey = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
