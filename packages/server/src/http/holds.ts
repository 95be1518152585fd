import type { Permission } from '@flowgate/core';
import type { FastifyRequest } from 'fastify';
import { requestAllows } from './auth.ts';

/**
 * Whether the caller holds a permission in the resource's team: the auth hook's own answer
 * (requestAllows). A resource's policy (features/*\/*.policy.ts) takes it to say what the caller may
 * do with that resource.
 */
export type Holds = (permission: Permission) => boolean;

/**
 * For a service ruling on the resource's side of a policy: the route's declared access has
 * already checked the caller's permission before the service runs.
 */
export const checkedByRoute: Holds = () => true;

/** What a request's caller holds, for a policy to present the resource's allowed actions. */
export const holdsOf =
  (request: FastifyRequest): Holds =>
  (permission) =>
    requestAllows(request, permission);
