import { randomUUID } from 'node:crypto';
import { actingAs, type Clock, type RequestContext } from '../../context.ts';
import type { PasswordResetsTable, UsersTable } from '../../db/schema.ts';
import { ConflictError, NotFoundError } from '../../http/errors.ts';
import { mailLink, type Mailer } from '../../mailer.ts';
import { randomToken, sha256Hex } from '../../security/crypto.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import { assertPasswordPolicy } from './identity.service.ts';
import type { IdentityStore } from './identity.store.ts';
import { hashPassword } from './passwords.ts';

/** How long a reset link works: long enough to reach someone on another shift, short enough not to linger. */
export const PASSWORD_RESET_HOURS = 24;

export interface PasswordResetsDeps {
  identityStore: IdentityStore;
  auditLog: AuditLog;
  mailer: Mailer;
  clock: Clock;
  publicUrl: string;
  log: { warn(obj: object, msg: string): void };
}

/**
 * A forgotten password: a platform admin issues a one-time link (mailed when a mail server
 * is set up, else shown to the admin to pass on), and its holder sets a new password.
 * There is no self-service "forgot password": an email alone would then let anyone who
 * reads the mailbox in, and the platform's identity proof stays with a person who knows
 * the account (SR 1.5). Using the link ends every session, lifts a lockout and keeps MFA.
 */
export function createPasswordResets({ identityStore, auditLog, mailer, clock, publicUrl, log }: PasswordResetsDeps) {
  const iso = (offsetMs = 0) => new Date(clock.now().getTime() + offsetMs).toISOString();

  /** The reset a token opens, with its person: unknown, used, expired, or of a disabled account all answer 404. */
  async function open(token: string): Promise<{ reset: PasswordResetsTable; user: UsersTable } | null> {
    const reset = await identityStore.passwordResetByTokenHash(sha256Hex(token));
    if (!reset || reset.used_at || reset.expires_at <= iso()) return null;
    const user = await identityStore.userById(reset.user_id);
    if (!user || user.status !== 'active') return null;
    return { reset, user };
  }

  return {
    /** Returns the link when it was not mailed (no mail server, or the mail failed): the admin passes it on. */
    async issue(userId: string, ctx: RequestContext): Promise<{ link: string | null; mailed: boolean; expiresAt: string }> {
      const user = await identityStore.userById(userId);
      if (!user) throw new NotFoundError('User');
      if (user.status !== 'active') throw new ConflictError(`${user.email} is disabled: enable the account first.`);
      if (!user.password_hash) throw new ConflictError(`${user.email} signs in through an identity provider, which keeps their password.`);
      const token = randomToken();
      const reset: PasswordResetsTable = {
        id: randomUUID(),
        user_id: user.id,
        token_hash: sha256Hex(token),
        issued_by: ctx.actor.userId,
        created_at: iso(),
        expires_at: iso(PASSWORD_RESET_HOURS * 3_600_000),
        used_at: null,
      };
      await auditLog.transaction(ctx, async (tx) => {
        await identityStore.insertPasswordReset(reset, tx.trx);
        await tx.record({ event: 'user.password.reset.issued', target: { type: 'user', id: user.id }, details: { email: user.email, expiresAt: reset.expires_at } });
      });
      const link = `${publicUrl}/reset-password/${token}`;
      const mailed = await mailLink(
        mailer,
        {
          to: user.email,
          subject: 'Set a new Flowgate password',
          text: `A platform admin issued you a link to set a new password. It works once, within ${PASSWORD_RESET_HOURS} hours: ${link}\n\nIf you did not ask for it, tell your platform admin.\n`,
        },
        link,
        log,
      );
      return { link: mailed ? null : link, mailed, expiresAt: reset.expires_at };
    },

    /** What the reset page shows before the new password is typed. */
    async describe(token: string): Promise<{ email: string; expiresAt: string }> {
      const found = await open(token);
      if (!found) throw new NotFoundError('Password reset link');
      return { email: found.user.email, expiresAt: found.reset.expires_at };
    },

    async complete(token: string, password: string, ctx: RequestContext): Promise<void> {
      const found = await open(token);
      if (!found) {
        throw new NotFoundError('Password reset link').audited({ event: 'user.password.reset', details: { reason: 'unknown, used or expired link' } });
      }
      const { reset, user } = found;
      assertPasswordPolicy(password, user);
      const hash = await hashPassword(password);
      await auditLog.transaction(actingAs(user, ctx), async (tx) => {
        if (!(await identityStore.spendPasswordReset(reset.id, iso(), tx.trx))) throw new NotFoundError('Password reset link');
        await identityStore.updateUser(user.id, { password_hash: hash, failed_logins: 0, locked_until: null, updated_at: iso() }, tx.trx);
        // Whoever was signed in with the old password is out.
        await identityStore.deleteSessionsOfUser(user.id, tx.trx);
        await tx.record({ event: 'user.password.reset', target: { type: 'user', id: user.id }, details: { resetId: reset.id } });
      });
    },
  };
}

export type PasswordResets = ReturnType<typeof createPasswordResets>;
