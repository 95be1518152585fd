import { PLATFORM_ROLES, TEAM_ROLES } from '@flowgate/core';
import { Type, type Static } from '@sinclair/typebox';
import { Id } from '@flowgate/protocol';

/** Shared schema pieces. Every string and array is bounded (SR 3.5 input validation). */
// Ids, versions, counters and moments are the agent protocol's too: one definition, there.
export { Counter, EpochMillis, Id, Version } from '@flowgate/protocol';
/** A one-time secret in a link (an invitation, a password reset): base64url, as randomToken makes them. */
export const LinkToken = Type.String({ minLength: 20, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
// Something visible, and no control characters (PostgreSQL refuses NUL in text).
export const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '^(?=.*\\S)[^\\u0000-\\u001F\\u007F]*$' });
/** Text to search for: no control characters either (a NUL in a LIKE pattern failed the query on PostgreSQL). */
export const SearchText = Type.String({ maxLength: 120, pattern: '^[^\\u0000-\\u001F\\u007F]*$' });
export const Password = Type.String({ minLength: 1, maxLength: 256 });
export const Timestamp = Type.String({ format: 'date-time' });

export const TeamParams = Type.Object({ teamId: Id });

/** A SHA-256 in hex, as snapshots and the audit chain carry them. */
export const Sha256Hex = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$' });

/** The rows a list answers when the caller names no limit. */
export const PAGE_SIZE = 100;
/**
 * Pagination, the one shape every offset-paged list takes in its query string. The bounds
 * keep an offset to what a database compares as an integer: SQLite refused one past 2^63
 * with a datatype mismatch (a 500), where it is now a 400 naming the field.
 */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: `Rows in the page (default ${PAGE_SIZE})` })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Rows to skip (default 0)' })),
};
/** A string field that may also be null. */
export const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const NoContent = Type.Null();

/** A role in a team, as the policy in packages/core names them. */
export const TeamRole = Type.Union(TEAM_ROLES.map((r) => Type.Literal(r)));
export const PlatformRole = Type.Union(PLATFORM_ROLES.map((r) => Type.Literal(r)));

export const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  platformRole: PlatformRole,
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  mfaEnrolled: Type.Boolean(),
  locked: Type.Boolean(),
  createdAt: Type.String(),
});
export type UserView = Static<typeof UserView>;
