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

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
