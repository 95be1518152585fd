import type { RequestContext } from '../context.ts';
import type { AuditEventInput } from '../features/audit/audit.service.ts';

/** The audit event a refusal puts on record, and as whom when not the request's caller. */
export interface Refusal {
  event: AuditEventInput;
  as: RequestContext | null;
}

/**
 * Domain errors. Services throw these; one mapper (problem.ts) turns them into
 * RFC 9457 problem+json at the edge. Nothing else builds an error response.
 */
export class DomainError extends Error {
  /** Set by audited(): the mapper records it before it answers. */
  refusal: Refusal | null = null;

  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  /**
   * Puts the refusal on record: the one error mapper (problem.ts) writes the event (outcome
   * `denied` unless it says otherwise) before it answers, as the request's caller or `as`.
   * Nothing was changed, so there is no transaction for it to join; if the event cannot be
   * written, the answer is 503 instead of the refusal, as for a change.
   */
  audited(event: AuditEventInput, as: RequestContext | null = null): this {
    this.refusal = { event: { outcome: 'denied', ...event }, as };
    return this;
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, errors: Array<{ field: string; message: string }> = []) {
    super(400, 'validation', 'Invalid request', message, errors.length ? { errors } : {});
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Sign in first.') {
    super(401, 'unauthenticated', 'Not signed in', message);
  }
}

/** A machine's credential (an agent token, a device credential, a provisioning token) was refused: not a person's sign-in. */
export class CredentialRefusedError extends DomainError {
  constructor(message: string) {
    super(401, 'credential-refused', 'Credential refused', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super(403, 'forbidden', 'Not allowed', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super(404, 'not-found', 'Not found', `${what} was not found.`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(409, 'conflict', 'Conflict', message);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(message: string) {
    super(429, 'too-many-requests', 'Too many requests', message);
  }
}

/** The audit event could not be written, so the change it records was not made. */
export class AuditUnavailableError extends DomainError {
  constructor() {
    super(503, 'audit-unavailable', 'Audit log unavailable', 'The change was not made because its audit event could not be written.');
  }
}

/** The platform is stopping: what it had in hand is answered, nothing new is started. */
export class StoppingError extends DomainError {
  constructor() {
    super(503, 'stopping', 'Platform stopping', 'The platform is stopping; ask again once it is back.');
  }
}
