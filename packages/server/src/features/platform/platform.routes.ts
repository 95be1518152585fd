import { Type } from '@sinclair/typebox';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { presentUser } from '../../http/presenters.ts';
import { holdsOf } from '../../http/holds.ts';
import { Id, PlatformRole, UserView } from '../../http/schemas.ts';
import { accountActions } from './users.policy.ts';

const SettingsView = Type.Object({ loginBanner: Type.String(), requireMfa: Type.Boolean() });
const SettingsPatch = Type.Object(
  { loginBanner: Type.Optional(Type.String({ maxLength: 4000 })), requireMfa: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const UserPatch = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    platformRole: Type.Optional(PlatformRole),
    unlock: Type.Optional(Type.Literal(true)),
    /** For someone who lost both the authenticator and the recovery codes: MFA removed, signed out; a policy makes them enrol again. */
    resetMfa: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false, minProperties: 1 },
);
/** What the caller may do to the account (users.policy.ts): the Users page shows its buttons from this. */
const AccountAllowed = Type.Object({
  disable: Type.Boolean(),
  enable: Type.Boolean(),
  unlock: Type.Boolean(),
  resetPassword: Type.Boolean(),
  resetMfa: Type.Boolean(),
  makeAdmin: Type.Boolean(),
  removeAdmin: Type.Boolean(),
  changeRole: Type.Boolean(),
});
const AccountView = Type.Composite([UserView, Type.Object({ allowed: AccountAllowed })]);
const AlertView = Type.Object({ kind: Type.String(), message: Type.String(), since: Type.String(), lastSeen: Type.String() });

/** The routes of the platform admin's pages; they get only what they use. */
export function platformRoutes(app: TypedApp, c: Pick<AppContext, 'platform' | 'passwordResets' | 'teamsStore' | 'alerts' | 'clock'>): void {
  const { platform, clock } = c;

  app.get(
    '/api/platform/settings',
    { config: { access: { kind: 'user', permission: 'platform:settings:read' } }, schema: { tags: ['platform'], response: { 200: SettingsView } } },
    () => platform.settings(),
  );

  app.patch(
    '/api/platform/settings',
    { config: { access: { kind: 'user', permission: 'platform:settings:write' } }, schema: { tags: ['platform'], body: SettingsPatch, response: { 200: SettingsView } } },
    async (request) => platform.updateSettings(request.body, request.ctx),
  );

  app.get(
    '/api/platform/users',
    { config: { access: { kind: 'user', permission: 'platform:users:read' } }, schema: { tags: ['platform'], response: { 200: Type.Array(AccountView) } } },
    async (request) => {
      const users = await platform.users();
      const activeAdmins = users.filter((u) => u.platform_role === 'admin' && u.status === 'active');
      const holds = holdsOf(request);
      return users.map((u) => {
        const view = presentUser(u, clock.now());
        const facts = { user: { ...u, locked: view.locked }, self: u.id === request.auth?.user.id, lastActiveAdmin: activeAdmins.length === 1 && activeAdmins[0]!.id === u.id };
        return { ...view, allowed: accountActions(holds, facts) };
      });
    },
  );

  app.patch(
    '/api/platform/users/:userId',
    {
      config: { access: { kind: 'user', permission: 'platform:users:write' } },
      schema: { tags: ['platform'], params: Type.Object({ userId: Id }), body: UserPatch, response: { 200: UserView } },
    },
    async (request) => presentUser(await platform.updateUser(request.params.userId, request.body, request.ctx), clock.now()),
  );

  app.post(
    '/api/platform/users/:userId/password-reset',
    {
      config: { access: { kind: 'user', permission: 'platform:users:write' } },
      schema: {
        tags: ['platform'],
        description: 'Issues a one-time link (24 hours) with which the person sets a new password; mailed when a mail server is set up, else returned to pass on.',
        params: Type.Object({ userId: Id }),
        response: { 201: Type.Object({ link: Type.Union([Type.String(), Type.Null()]), mailed: Type.Boolean(), expiresAt: Type.String() }) },
      },
    },
    async (request, reply) => reply.code(201).send(await c.passwordResets.issue(request.params.userId, request.ctx)),
  );

  app.get(
    '/api/platform/teams',
    {
      config: { access: { kind: 'user', permission: 'platform:teams:read' } },
      schema: { tags: ['platform'], response: { 200: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), requireMfa: Type.Boolean(), createdAt: Type.String() })) } },
    },
    async () => (await c.teamsStore.allTeams()).map((t) => ({ id: t.id, name: t.name, requireMfa: t.require_mfa === 1, createdAt: t.created_at })),
  );

  app.get(
    '/api/platform/alerts',
    { config: { access: { kind: 'user', permission: 'platform:audit:read' } }, schema: { tags: ['platform'], response: { 200: Type.Array(AlertView) } } },
    () => c.alerts.list(),
  );
}
