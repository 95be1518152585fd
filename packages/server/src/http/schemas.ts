import { Type, type Static } from '@sinclair/typebox';
import { Id } from '@flowgate/protocol';

/** Shared schema pieces. Every string and array is bounded (SR 3.5 input validation). */
// An id and a version are the agent protocol's too: one definition, there.
export { Id, Version } from '@flowgate/protocol';
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
// Something visible, and no control characters (PostgreSQL refuses NUL in text).
export const Name = Type.String({ minLength: 1, maxLength: 120, pattern: '^(?=.*\\S)[^\\u0000-\\u001F\\u007F]*$' });
export const Password = Type.String({ minLength: 1, maxLength: 256 });
export const Timestamp = Type.String({ format: 'date-time' });

export const TeamParams = Type.Object({ teamId: Id });
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

export const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  platformRole: Type.Union([Type.Literal('admin'), Type.Literal('user')]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  mfaEnrolled: Type.Boolean(),
  locked: Type.Boolean(),
  createdAt: Type.String(),
});
export type UserView = Static<typeof UserView>;
