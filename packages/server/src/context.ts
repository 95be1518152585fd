import type { AuditActorType } from '@flowgate/core';

/** Who is acting and from where. Services take this, never the HTTP request. */
export interface Actor {
  type: AuditActorType;
  /** The person behind the action (also for API tokens); null for system and anonymous. */
  userId: string | null;
  /** Human-readable: the person's email, or "system". */
  label: string | null;
  /** Set when the person acts through an API token. */
  tokenId?: string;
}

export interface RequestContext {
  actor: Actor;
  ip: string | null;
  userAgent: string | null;
}

export const SYSTEM_CONTEXT: RequestContext = {
  actor: { type: 'system', userId: null, label: 'system' },
  ip: null,
  userAgent: null,
};

/** The same request, acting as this person: for events a sign-in or sign-up records before a session exists. */
export function actingAs(user: { id: string; email: string }, ctx: RequestContext): RequestContext {
  return { ...ctx, actor: { type: 'user', userId: user.id, label: user.email } };
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
