import { Type } from '@sinclair/typebox';
import type { AppContext, TypedApp } from '../../app-context.ts';
import { ConflictError, NotFoundError } from '../../http/errors.ts';
import { presentUser } from '../../http/presenters.ts';
import { Id, UserView } from '../../http/schemas.ts';

const SettingsView = Type.Object({ loginBanner: Type.String(), requireMfa: Type.Boolean() });
const SettingsPatch = Type.Object(
  { loginBanner: Type.Optional(Type.String({ maxLength: 4000 })), requireMfa: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);
const UserPatch = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    platformRole: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('user')])),
    unlock: Type.Optional(Type.Literal(true)),
    /** For someone who lost both the authenticator and the recovery codes: MFA removed, signed out; a policy makes them enrol again. */
    resetMfa: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false, minProperties: 1 },
);
const AlertView = Type.Object({ kind: Type.String(), message: Type.String(), since: Type.String(), lastSeen: Type.String() });

export function platformRoutes(app: TypedApp, c: AppContext): void {
  const { settingsStore, auditLog, identityStore, clock } = c;

  app.get('/api/platform/settings', { config: { access: { kind: 'user', permission: 'platform:settings:read' } }, schema: { tags: ['platform'], response: { 200: SettingsView } } }, () =>
    settingsStore.get(),
  );

  app.patch(
    '/api/platform/settings',
    { config: { access: { kind: 'user', permission: 'platform:settings:write' } }, schema: { tags: ['platform'], body: SettingsPatch, response: { 200: SettingsView } } },
    async (request) => {
      const before = await settingsStore.get();
      await auditLog.transaction(request.ctx, async (tx) => {
        await settingsStore.set(request.body, clock.now().toISOString(), tx.trx);
        await tx.record({ event: 'platform.settings.updated', target: { type: 'settings', id: 'platform' }, details: { before, after: request.body } });
      });
      return settingsStore.get();
    },
  );

  app.get('/api/platform/users', { config: { access: { kind: 'user', permission: 'platform:users:read' } }, schema: { tags: ['platform'], response: { 200: Type.Array(UserView) } } }, async () =>
    (await identityStore.listUsers()).map((u) => presentUser(u, clock.now())),
  );

  app.patch(
    '/api/platform/users/:userId',
    { config: { access: { kind: 'user', permission: 'platform:users:write' } }, schema: { tags: ['platform'], params: Type.Object({ userId: Id }), body: UserPatch, response: { 200: UserView } } },
    async (request) => {
      const { userId } = request.params;
      const body = request.body;
      const user = await auditLog.transaction(request.ctx, async (tx) => {
        const before = await identityStore.userById(userId, tx.trx);
        if (!before) throw new NotFoundError('User');
        const patch = {
          updated_at: clock.now().toISOString(),
          ...(body.status ? { status: body.status } : {}),
          ...(body.platformRole ? { platform_role: body.platformRole } : {}),
          ...(body.unlock ? { locked_until: null, failed_logins: 0 } : {}),
          ...(body.resetMfa ? { mfa_secret_enc: null, mfa_enrolled_at: null, mfa_last_step: null } : {}),
        };
        const after = { ...before, ...patch };
        // A platform with no active admin has no one left to manage it.
        if (before.platform_role === 'admin' && before.status === 'active' && (after.platform_role !== 'admin' || after.status !== 'active')) {
          // Every active admin's row, this one's too, locked: two admins stepping each other down
          // at once, on PostgreSQL the second waits here and then sees the first's change
          // (SQLite runs one write transaction at a time anyway).
          const active = tx.trx.selectFrom('users').select('id').where('platform_role', '=', 'admin').where('status', '=', 'active');
          const admins = (await (c.database.dialect === 'postgres' ? active.forUpdate() : active).execute()).filter((u) => u.id !== userId);
          if (admins.length === 0) throw new ConflictError(`${before.email} is the last active platform admin: make someone else an admin first.`);
        }
        await identityStore.updateUser(userId, patch, tx.trx);
        if (body.resetMfa) await identityStore.replaceRecoveryCodes(userId, [], tx.trx);
        // A disabled account, or one whose MFA was reset, is signed out everywhere at once.
        if (body.status === 'disabled' || body.resetMfa) await identityStore.deleteSessionsOfUser(userId, tx.trx);
        await tx.record({ event: 'user.updated', target: { type: 'user', id: userId }, details: { email: before.email, change: body } });
        if (body.resetMfa && before.mfa_enrolled_at) await tx.record({ event: 'user.mfa.reset', target: { type: 'user', id: userId }, details: { email: before.email } });
        return after;
      });
      return presentUser(user, clock.now());
    },
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

  app.get('/api/platform/alerts', { config: { access: { kind: 'user', permission: 'platform:audit:read' } }, schema: { tags: ['platform'], response: { 200: Type.Array(AlertView) } } }, () =>
    c.alerts.list(),
  );
}
