import type { Clock, RequestContext } from '../../context.ts';
import type { UsersTable } from '../../db/schema.ts';
import { ConflictError, NotFoundError } from '../../http/errors.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';
import type { PlatformSettings, SettingsStore } from './settings.store.ts';

export interface UserChange {
  status?: 'active' | 'disabled' | undefined;
  platformRole?: 'admin' | 'user' | undefined;
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
        // A platform with no active admin has no one left to manage it.
        if (before.platform_role === 'admin' && before.status === 'active' && (after.platform_role !== 'admin' || after.status !== 'active')) {
          const others = (await identityStore.lockActiveAdmins(tx.trx)).filter((id) => id !== userId);
          if (others.length === 0) throw new ConflictError(`${before.email} is the last active platform admin: make someone else an admin first.`);
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
