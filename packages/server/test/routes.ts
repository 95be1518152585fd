import diagnostics from 'node:diagnostics_channel';
import type { FastifyInstance } from 'fastify';

/**
 * Every route an app registers, hidden ones too, with the config it was declared with.
 * Fastify publishes each new instance on the `fastify.initialization` diagnostics channel;
 * an onRoute hook added there sees all routes, and src/ needs no test hook.
 */
export interface DeclaredRoute {
  method: string;
  url: string;
  config: { permission?: string; public?: boolean; agent?: boolean; device?: boolean; scim?: boolean; csrfByBearer?: boolean };
}

const registered = new WeakMap<object, DeclaredRoute[]>();
diagnostics.subscribe('fastify.initialization', (message) => {
  const { fastify } = message as { fastify: FastifyInstance };
  const routes: DeclaredRoute[] = [];
  registered.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, config: { ...(route.config as DeclaredRoute['config']) } });
  });
});

export function registeredRoutes(app: object): DeclaredRoute[] {
  return registered.get(app) ?? [];
}

/** Fastify's HEAD twins share their GET route's config; the Swagger UI assets are public documentation. */
export const isExempt = (r: DeclaredRoute) => r.method === 'HEAD' || r.url.startsWith('/api/docs');
export const routeKey = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
