import { Type } from '@sinclair/typebox';
import { Email, Id, Name, Password, TeamRole, UserView } from '../../http/schemas.ts';

export const SetupBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }), email: Email, name: Name, password: Password }, { additionalProperties: false });
export const LoginBody = Type.Object({ email: Email, password: Password }, { additionalProperties: false });
export const LoginReply = Type.Object({
  status: Type.Union([Type.Literal('signed-in'), Type.Literal('mfa-required'), Type.Literal('mfa-enrolment-required')]),
  user: Type.Optional(UserView),
  csrfToken: Type.String(),
});
export const MfaCodeBody = Type.Object({ code: Type.String({ minLength: 6, maxLength: 32 }) }, { additionalProperties: false });
export const AuthConfigReply = Type.Object({ loginBanner: Type.String(), setupRequired: Type.Boolean() });
export const SessionReply = Type.Object({
  signedIn: Type.Boolean(),
  stage: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('mfa'), Type.Literal('enrol')])),
  csrfToken: Type.Optional(Type.String()),
  user: Type.Optional(UserView),
  teams: Type.Optional(Type.Array(Type.Object({ id: Type.String(), name: Type.String(), role: TeamRole }))),
  mfaRequired: Type.Optional(Type.Boolean()),
});
export const AccountReply = Type.Object({ user: UserView, recoveryCodesLeft: Type.Integer(), mfaRequired: Type.Boolean() });
export const PasswordChangeBody = Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false });
export const MfaSetupReply = Type.Object({ secret: Type.String(), otpauthUrl: Type.String(), qrSvg: Type.String() });
export const MfaConfirmReply = Type.Object({ recoveryCodes: Type.Array(Type.String()), csrfToken: Type.Optional(Type.String()) });
export const PasswordBody = Type.Object({ password: Password }, { additionalProperties: false });
export const SessionView = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});
export const SessionParams = Type.Object({ sessionId: Id });
export const TokenParams = Type.Object({ tokenId: Id });
export const TokenCreateBody = Type.Object(
  {
    name: Name,
    access: Type.Union([Type.Literal('read'), Type.Literal('write')]),
    teamIds: Type.Optional(Type.Union([Type.Array(Id, { maxItems: 100 }), Type.Null()])),
    expiresInDays: Type.Integer({ minimum: 1, maximum: 365 }),
  },
  { additionalProperties: false },
);
export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  access: Type.Union([Type.Literal('read'), Type.Literal('write')]),
  teamIds: Type.Union([Type.Array(Type.String()), Type.Null()]),
  expiresAt: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
export const TokenCreateReply = Type.Object({ token: Type.String(), record: TokenView });
