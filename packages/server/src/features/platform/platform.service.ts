import type { PlatformRole } from '@flowgate/core';
import type { Clock, RequestContext } from '../../context.ts';
import type { UsersTable } from '../../db/schema.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../http/errors.ts';
import { checkedByRoute } from '../../http/holds.ts';
import { accountActions, type AccountActions } from './users.policy.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';
import type { PlatformSettings, SettingsStore } from './settings.store.ts';

export interface UserChange {
  status?: 'active' | 'disabled' | undefined;
  platformRole?: PlatformRole | undefined;
  unlock?: true | undefined;
  /** For someone who lost both the authenticator and the recovery codes: MFA removed, signed out; a policy makes them enrol again. */
  resetMfa?: true | undefined;
}

export interface PlatformServiceDeps {
  settingsStore: SettingsStore;
  identityStore: IdentityStore;
  auditLog: AuditLog;
  clock: Clock;
}

/** The platform admin's work: the platform's settings and its people's accounts. */
export function createPlatformService({ settingsStore, identityStore, auditLog, clock }: PlatformServiceDeps) {
  return {
    settings: () => settingsStore.get(),

    async updateSettings(patch: Partial<PlatformSettings>, ctx: RequestContext): Promise<PlatformSettings> {
      const before = await settingsStore.get();
      await auditLog.transaction(ctx, async (tx) => {
        await settingsStore.set(patch, clock.now().toISOString(), tx.trx);
        await tx.record({ event: 'platform.settings.updated', target: { type: 'settings', id: 'platform' }, details: { before, after: patch } });
      });
      return settingsStore.get();
    },

    users: () => identityStore.listUsers(),

    /** Disables, enables, unlocks, resets MFA or changes the platform role; never leaves the platform without an active admin. */
    async updateUser(userId: string, change: UserChange, ctx: RequestContext): Promise<UsersTable> {
      return auditLog.transaction(ctx, async (tx) => {
        const before = await identityStore.userById(userId, tx.trx);
        if (!before) throw new NotFoundError('User');
        const patch = {
          updated_at: clock.now().toISOString(),
          ...(change.status ? { status: change.status } : {}),
          ...(change.platformRole ? { platform_role: change.platformRole } : {}),
          ...(change.unlock ? { locked_until: null, failed_logins: 0 } : {}),
          ...(change.resetMfa ? { mfa_secret_enc: null, mfa_enrolled_at: null, mfa_last_step: null } : {}),
        };
        const after = { ...before, ...patch };
        const entailed: Array<keyof AccountActions> = [
          ...(before.status === 'active' && after.status === 'disabled' ? (['disable'] as const) : []),
          ...(before.status === 'disabled' && after.status === 'active' ? (['enable'] as const) : []),
          ...(before.platform_role !== 'admin' && after.platform_role === 'admin' ? (['makeAdmin'] as const) : []),
          ...(before.platform_role === 'admin' && after.platform_role !== 'admin' ? (['removeAdmin'] as const) : []),
          ...(before.platform_role !== 'admin' && after.platform_role !== 'admin' && before.platform_role !== after.platform_role ? (['changeRole'] as const) : []),
          ...(change.resetMfa ? (['resetMfa'] as const) : []),
          ...(change.unlock ? (['unlock'] as const) : []),
        ];
        const self = ctx.actor.userId === userId;
        // Locked in the transaction: two admins demoting each other at once still leave one.
        const activeAdmins = before.platform_role === 'admin' && before.status === 'active' ? await identityStore.lockActiveAdmins(tx.trx) : [];
        const lastActiveAdmin = activeAdmins.length === 1 && activeAdmins[0] === userId;
        const locked = before.locked_until !== null && before.locked_until > clock.now().toISOString();
        const actions = accountActions(checkedByRoute, { user: { ...before, locked }, self, lastActiveAdmin });
        // Only two things hold an entailed action back: the last active admin stays one, and one's own account is another admin's to manage.
        // An unlock of an account that is not locked, like a reset of MFA never enrolled, changes nothing: not refused for that.
        const refused = entailed.filter((action) => !actions[action] && (self || (action !== 'unlock' && action !== 'resetMfa')));
        if (refused.length > 0 && lastActiveAdmin && (refused.includes('disable') || refused.includes('removeAdmin'))) {
          throw new ConflictError(`${before.email} is the last active platform admin: make someone else an admin first.`);
        }
        if (refused.length > 0) {
          throw new ForbiddenError('Another admin manages your account: your own password and MFA are changed on your account page.').audited({
            event: 'user.updated',
            target: { type: 'user', id: userId },
            details: { email: before.email, change, reason: 'own account' },
          });
        }
        await identityStore.updateUser(userId, patch, tx.trx);
        if (change.resetMfa) await identityStore.replaceRecoveryCodes(userId, [], tx.trx);
        // A disabled account, or one whose MFA was reset, is signed out everywhere at once.
        if (change.status === 'disabled' || change.resetMfa) await identityStore.deleteSessionsOfUser(userId, tx.trx);
        await tx.record({ event: 'user.updated', target: { type: 'user', id: userId }, details: { email: before.email, change } });
        if (change.resetMfa && before.mfa_enrolled_at) await tx.record({ event: 'user.mfa.reset', target: { type: 'user', id: userId }, details: { email: before.email } });
        return after;
      });
    },
  };
}

export type PlatformService = ReturnType<typeof createPlatformService>;
