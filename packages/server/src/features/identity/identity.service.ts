import { randomUUID } from 'node:crypto';
import QRCode from 'qrcode';
import { checkPassword, PERMISSIONS, readOnlyPlatformRole, SESSION_ONLY_PERMISSIONS, type Permission } from '@flowgate/core';
import type { Config } from '../../config.ts';
import { actingAs, type Clock, type RequestContext } from '../../context.ts';
import type { ApiTokensTable, SessionStage, SessionsTable, UsersTable } from '../../db/schema.ts';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../http/errors.ts';
import { randomToken, sha256Hex, type SecretBox } from '../../security/crypto.ts';
import { generateRecoveryCodes, generateTotpSecret, normalizeRecoveryCode, otpauthUrl, verifyTotp } from '../../security/totp.ts';
import type { AuditLog, AuditedTransaction } from '../audit/audit.service.ts';
import type { SettingsStore } from '../platform/settings.store.ts';
import type { IdentityStore } from './identity.store.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.ts';

export interface IdentityDeps {
  store: IdentityStore;
  settings: SettingsStore;
  auditLog: AuditLog;
  secrets: SecretBox;
  clock: Clock;
  config: Pick<Config, 'session' | 'lockout'>;
  /**
   * The enabled identity provider that turns local passwords off for an email's domain, if
   * any (sso.service.ts); none when not given (the CLI).
   */
  ssoRequiredFor?: (email: string) => Promise<{ name: string } | null>;
}

export type LoginResult =
  | { status: 'signed-in'; sessionToken: string; user: UsersTable }
  | { status: 'mfa-required'; sessionToken: string; user: UsersTable }
  | { status: 'mfa-enrolment-required'; sessionToken: string; user: UsersTable };

const MFA_CHALLENGE_MINUTES = 5;
const TOKEN_PREFIX = 'fgt_';

export function assertPasswordPolicy(password: string, who: { email: string; name: string }): void {
  const verdict = checkPassword(password, who);
  if (!verdict.ok) {
    throw new ValidationError(
      `The password is not allowed. ${verdict.reasons.join(' ')}`,
      verdict.reasons.map((message) => ({ field: 'password', message })),
    );
  }
}

export function createIdentityService(deps: IdentityDeps) {
  const { store, settings, auditLog, secrets, clock, config } = deps;
  const iso = (offsetMs = 0) => new Date(clock.now().getTime() + offsetMs).toISOString();

  /** A session found by its token or id, enforcing the idle and absolute timeouts. */
  async function checkSession(session: SessionsTable | undefined, options: { touch?: boolean }): Promise<{ user: UsersTable; session: SessionsTable } | null> {
    if (!session) return null;
    const now = clock.now().getTime();
    const idleLimit = session.stage === 'full' ? config.session.idleTimeoutMinutes * 60_000 : MFA_CHALLENGE_MINUTES * 60_000;
    if (Date.parse(session.expires_at) <= now || now - Date.parse(session.last_seen_at) > idleLimit) {
      await store.deleteSession(session.id);
      return null;
    }
    const user = await store.userById(session.user_id);
    if (!user || user.status !== 'active') return null;
    // Touch at most once a minute: an idle timeout needs no write per request.
    if (options.touch !== false && now - Date.parse(session.last_seen_at) > 60_000) await store.updateSession(session.id, { last_seen_at: iso() });
    return { user, session };
  }

  async function mfaRequiredFor(user: UsersTable): Promise<boolean> {
    return (await settings.get()).requireMfa || (await store.teamMfaRequiredFor(user.id));
  }

  async function openSession(tx: AuditedTransaction, user: UsersTable, stage: SessionStage, mfaVerified: boolean, ctx: RequestContext) {
    const token = randomToken();
    const lifetimeMs = stage === 'full' ? config.session.absoluteTimeoutHours * 3_600_000 : MFA_CHALLENGE_MINUTES * 60_000;
    const session: SessionsTable = {
      id: randomUUID(),
      token_hash: sha256Hex(token),
      user_id: user.id,
      stage,
      mfa_verified: mfaVerified ? 1 : 0,
      created_at: iso(),
      last_seen_at: iso(),
      expires_at: iso(lifetimeMs),
      ip: ctx.ip,
      user_agent: ctx.userAgent?.slice(0, 512) ?? null,
    };
    await store.insertSession(session, tx.trx);
    return token;
  }

  /** A wrong password (local, or a directory's) counts towards the lockout (SR 1.11); the lock is audited. */
  async function countWrongPassword(tx: AuditedTransaction, who: UsersTable): Promise<void> {
    const failures = who.failed_logins + 1;
    const lock = failures >= config.lockout.maxFailures;
    await store.updateUser(who.id, { failed_logins: failures, locked_until: lock ? iso(config.lockout.lockMinutes * 60_000) : who.locked_until }, tx.trx);
    if (lock)
      await tx.record({ event: 'auth.login.locked', outcome: 'denied', target: { type: 'user', id: who.id }, details: { failures, lockMinutes: config.lockout.lockMinutes } });
  }

  const isLocked = (user: UsersTable) => user.locked_until !== null && user.locked_until > iso();

  /**
   * After the first factor (a password, or an identity provider's sign-in): the session the
   * MFA state allows. `mfaByIdp`: the identity provider says it checked a second factor.
   */
  async function sessionAfterFirstFactor(tx: AuditedTransaction, user: UsersTable, mfaRequired: boolean, mfaByIdp: boolean, ctx: RequestContext): Promise<LoginResult> {
    if (mfaByIdp) return { status: 'signed-in', sessionToken: await openSession(tx, user, 'full', true, ctx), user };
    if (user.mfa_enrolled_at) return { status: 'mfa-required', sessionToken: await openSession(tx, user, 'mfa', false, ctx), user };
    if (mfaRequired) return { status: 'mfa-enrolment-required', sessionToken: await openSession(tx, user, 'enrol', false, ctx), user };
    return { status: 'signed-in', sessionToken: await openSession(tx, user, 'full', false, ctx), user };
  }

  async function createUserIn(tx: AuditedTransaction, input: { email: string; name: string; password: string; platformRole: UsersTable['platform_role'] }): Promise<UsersTable> {
    const email = input.email.trim().toLowerCase();
    assertPasswordPolicy(input.password, { email, name: input.name });
    if (await store.userByEmail(email, tx.trx)) throw new ConflictError(`An account with the email ${email} exists already.`);
    const user: UsersTable = {
      id: randomUUID(),
      email,
      name: input.name.trim(),
      password_hash: await hashPassword(input.password),
      platform_role: input.platformRole,
      status: 'active',
      failed_logins: 0,
      locked_until: null,
      mfa_secret_enc: null,
      mfa_enrolled_at: null,
      mfa_last_step: null,
      created_at: iso(),
      updated_at: iso(),
    };
    await store.insertUser(user, tx.trx);
    // Someone signing up through an invitation is anonymous until this row exists: name them.
    const as = tx.ctx.actor.type === 'anonymous' ? actingAs(user, tx.ctx) : tx.ctx;
    await tx.record({ event: 'user.created', target: { type: 'user', id: user.id }, details: { email, platformRole: user.platform_role } }, as);
    return user;
  }

  /** Checks a TOTP code or a recovery code and records the step used; false when wrong. */
  async function checkSecondFactor(tx: AuditedTransaction, user: UsersTable, code: string): Promise<'totp' | 'recovery' | null> {
    if (!user.mfa_secret_enc) return null;
    const digits = code.replace(/\s+/g, '');
    if (/^\d{6}$/.test(digits)) {
      const secret = secrets.open(user.mfa_secret_enc).toString('utf8');
      const step = verifyTotp(secret, digits, clock.now().getTime(), { window: 1 });
      if (step === null || (user.mfa_last_step !== null && step <= user.mfa_last_step)) return null;
      await store.updateUser(user.id, { mfa_last_step: step }, tx.trx);
      return 'totp';
    }
    const normalized = normalizeRecoveryCode(code);
    if (normalized === null) return null;
    const used = await store.useRecoveryCode(user.id, sha256Hex(normalized), iso(), tx.trx);
    return used ? 'recovery' : null;
  }

  return {
    mfaRequiredFor,
    platformRequiresMfa: async () => (await settings.get()).requireMfa,

    async setupRequired(): Promise<boolean> {
      return (await store.countUsers()) === 0;
    },

    /** The first platform admin, from the setup page or `flowgate admin create`. */
    async createFirstAdmin(input: { email: string; name: string; password: string }, ctx: RequestContext): Promise<UsersTable> {
      return auditLog.transaction(ctx, async (tx) => {
        if ((await store.countUsers(tx.trx)) > 0) throw new ConflictError('The platform is set up already: sign in instead.');
        const user = await createUserIn(tx, { ...input, platformRole: 'admin' });
        await tx.record({ event: 'platform.setup.completed', target: { type: 'user', id: user.id } }, actingAs(user, ctx));
        return user;
      });
    },

    /** An account made inside another audited change (an accepted invitation). */
    createUserIn,

    async login(input: { email: string; password: string }, ctx: RequestContext): Promise<LoginResult> {
      const email = input.email.trim().toLowerCase();
      const user = await store.userByEmail(email);
      const refuse = async (reason: string, who: UsersTable | undefined, extraEvent?: 'auth.login.locked', message?: string) => {
        await auditLog.transaction(ctx, async (tx) => {
          if (who && reason === 'wrong-password') await countWrongPassword(tx, who);
          await tx.record({ event: 'auth.login.failed', outcome: 'denied', target: who ? { type: 'user', id: who.id } : null, details: { email, reason } });
          if (extraEvent) await tx.record({ event: extraEvent, outcome: 'denied', target: who ? { type: 'user', id: who.id } : null });
        });
        // One answer for every reason, so it does not reveal which accounts exist (SR 1.10); an
        // SSO domain is said by the domain alone, whoever asks.
        throw new UnauthenticatedError(message ?? 'The email or password is wrong, or the account is locked or disabled.');
      };
      // Decided by the domain before any password is checked. Local platform admins keep their
      // password: the break-glass way in while the identity provider is away.
      const sso = user?.platform_role === 'admin' ? null : await deps.ssoRequiredFor?.(email);
      if (sso) {
        await burnPasswordCheck(input.password);
        return refuse('sso-required', user, undefined, `Sign in with ${sso.name}: local passwords are off for your email domain.`);
      }
      if (!user || !user.password_hash) {
        await burnPasswordCheck(input.password);
        return refuse('unknown-account', user);
      }
      if (isLocked(user)) {
        await burnPasswordCheck(input.password);
        return refuse('locked', user);
      }
      if (!(await verifyPassword(input.password, user.password_hash))) return refuse('wrong-password', user);
      if (user.status !== 'active') return refuse('disabled', user);

      const userCtx = actingAs(user, ctx);
      // Read before the transaction: on SQLite a query outside it would wait for it forever.
      const mfaRequired = await mfaRequiredFor(user);
      return auditLog.transaction(userCtx, async (tx) => {
        const result = await sessionAfterFirstFactor(tx, user, mfaRequired, false, ctx);
        // The count of failures ends with a whole sign-in, or a lock served in full: with a
        // second factor still to come, the password alone must not wipe the codes guessed so far.
        if (result.status !== 'mfa-required' || user.locked_until) await store.updateUser(user.id, { failed_logins: 0, locked_until: null }, tx.trx);
        if (result.status !== 'mfa-required') {
          await tx.record({ event: 'auth.login.succeeded', target: { type: 'user', id: user.id }, details: { mfa: result.status === 'signed-in' ? false : 'enrolment-required' } });
        }
        return result;
      });
    },

    sessionAfterFirstFactor,
    countWrongPassword,
    isLocked,

    /** Second step of sign-in: a TOTP or recovery code turns the MFA challenge into a session. */
    async completeMfa(session: SessionsTable, user: UsersTable, code: string, ctx: RequestContext): Promise<string> {
      if (session.stage !== 'mfa') throw new ConflictError('This session is not waiting for an MFA code.');
      const userCtx = actingAs(user, ctx);
      // Locked by wrong codes in another challenge: not even the right code gets in now.
      if (isLocked(user)) {
        await store.deleteSession(session.id);
        throw new UnauthenticatedError('The account is locked after repeated failed sign-ins: try again later, or ask a platform admin to unlock it.').audited(
          { event: 'auth.mfa.failed', target: { type: 'user', id: user.id }, details: { reason: 'locked' } },
          userCtx,
        );
      }
      const result = await auditLog.transaction(userCtx, async (tx) => {
        const method = await checkSecondFactor(tx, user, code);
        if (!method) return null;
        await store.deleteSession(session.id, tx.trx);
        await store.updateUser(user.id, { failed_logins: 0 }, tx.trx);
        const token = await openSession(tx, user, 'full', true, ctx);
        if (method === 'recovery') await tx.record({ event: 'user.mfa.recovery-used', target: { type: 'user', id: user.id } });
        await tx.record({ event: 'auth.login.succeeded', target: { type: 'user', id: user.id }, details: { mfa: method } });
        return token;
      });
      if (result === null) {
        // Wrong codes count towards the same lockout as wrong passwords: six digits are guessable.
        await auditLog.transaction(userCtx, async (tx) => {
          const failures = user.failed_logins + 1;
          const lock = failures >= config.lockout.maxFailures;
          await store.updateUser(user.id, { failed_logins: failures, ...(lock ? { locked_until: iso(config.lockout.lockMinutes * 60_000) } : {}) }, tx.trx);
          await tx.record({ event: 'auth.mfa.failed', outcome: 'denied', target: { type: 'user', id: user.id }, details: { failures } });
          if (lock) {
            // Every challenge waiting for a code ends, not only this one.
            await store.deleteMfaSessionsOfUser(user.id, tx.trx);
            await tx.record({
              event: 'auth.login.locked',
              outcome: 'denied',
              target: { type: 'user', id: user.id },
              details: { failures, lockMinutes: config.lockout.lockMinutes },
            });
          }
        });
        throw new UnauthenticatedError('The code is wrong or was used already.');
      }
      return result;
    },

    /** Resolves a session cookie, enforcing the idle and absolute timeouts. */
    /** `touch: false`: a check that is not the person's activity (an open WebSocket asked again), so it does not hold off the idle timeout. */
    async authenticateSession(token: string, options: { touch?: boolean } = {}): Promise<{ user: UsersTable; session: SessionsTable } | null> {
      return checkSession(await store.sessionByTokenHash(sha256Hex(token)), options);
    },

    /** The same, for a session known by its id: the one an instance origin's sign-in came from (instance-origins.ts). */
    async authenticateSessionById(id: string, options: { touch?: boolean } = {}): Promise<{ user: UsersTable; session: SessionsTable } | null> {
      return checkSession(await store.sessionById(id), options);
    },

    async authenticateToken(raw: string): Promise<{ user: UsersTable; token: ApiTokensTable } | null> {
      if (!raw.startsWith(TOKEN_PREFIX)) return null;
      const token = await store.tokenByHash(sha256Hex(raw));
      if (!token || token.revoked_at || token.expires_at <= iso()) return null;
      const user = await store.userById(token.user_id);
      if (!user || user.status !== 'active') return null;
      const lastUsed = token.last_used_at ? Date.parse(token.last_used_at) : 0;
      if (clock.now().getTime() - lastUsed > 60_000) await store.updateToken(token.id, { last_used_at: iso() });
      return { user, token };
    },

    async logout(session: SessionsTable, ctx: RequestContext): Promise<void> {
      await auditLog.transaction(ctx, async (tx) => {
        await store.deleteSession(session.id, tx.trx);
        await tx.record({ event: 'auth.logout', target: { type: 'session', id: session.id } });
      });
    },

    async revokeAllSessions(user: UsersTable, ctx: RequestContext): Promise<number> {
      return auditLog.transaction(ctx, async (tx) => {
        const count = await store.deleteSessionsOfUser(user.id, tx.trx);
        await tx.record({ event: 'auth.sessions.revoked', target: { type: 'user', id: user.id }, details: { sessions: count } });
        return count;
      });
    },

    listSessions: (user: UsersTable) => store.sessionsOfUser(user.id),

    async revokeSession(user: UsersTable, sessionId: string, ctx: RequestContext): Promise<void> {
      const sessions = await store.sessionsOfUser(user.id);
      if (!sessions.some((s) => s.id === sessionId)) throw new NotFoundError('Session');
      await auditLog.transaction(ctx, async (tx) => {
        await store.deleteSession(sessionId, tx.trx);
        await tx.record({ event: 'auth.sessions.revoked', target: { type: 'session', id: sessionId }, details: { sessions: 1 } });
      });
    },

    async changePassword(user: UsersTable, session: SessionsTable | null, current: string, next: string, ctx: RequestContext): Promise<void> {
      if (!user.password_hash || !(await verifyPassword(current, user.password_hash))) {
        throw new ForbiddenError('The current password is wrong.').audited({
          event: 'user.password.changed',
          target: { type: 'user', id: user.id },
          details: { reason: 'wrong current password' },
        });
      }
      assertPasswordPolicy(next, user);
      const hash = await hashPassword(next);
      const others = (await store.sessionsOfUser(user.id)).filter((s) => s.id !== session?.id);
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateUser(user.id, { password_hash: hash, updated_at: iso() }, tx.trx);
        // Every other session ends: whoever knew the old password is out.
        for (const s of others) await store.deleteSession(s.id, tx.trx);
        await tx.record({ event: 'user.password.changed', target: { type: 'user', id: user.id } });
      });
    },

    /** Starts enrolment: a new secret, held sealed until a first code proves the app has it. */
    async beginMfaEnrolment(user: UsersTable, ctx: RequestContext): Promise<{ secret: string; otpauthUrl: string; qrSvg: string }> {
      if (user.mfa_enrolled_at) throw new ConflictError('MFA is enrolled already; remove it first to enrol a new device.');
      const secret = generateTotpSecret();
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateUser(user.id, { mfa_secret_enc: secrets.seal(secret), mfa_last_step: null }, tx.trx);
        // Never the secret: that a new one was issued (and whether it replaced an unconfirmed one).
        await tx.record({ event: 'user.mfa.enrolment.started', target: { type: 'user', id: user.id }, details: { method: 'totp', replacedPending: user.mfa_secret_enc !== null } });
      });
      const url = otpauthUrl({ issuer: 'Flowgate', account: user.email, secret });
      return { secret, otpauthUrl: url, qrSvg: await QRCode.toString(url, { type: 'svg', margin: 1 }) };
    },

    async confirmMfaEnrolment(
      user: UsersTable,
      session: SessionsTable | null,
      code: string,
      ctx: RequestContext,
    ): Promise<{ recoveryCodes: string[]; sessionToken: string | null }> {
      if (user.mfa_enrolled_at) throw new ConflictError('MFA is enrolled already.');
      if (!user.mfa_secret_enc) throw new ConflictError('Start enrolment first.');
      const recoveryCodes = generateRecoveryCodes(10);
      const result = await auditLog.transaction(ctx, async (tx) => {
        if ((await checkSecondFactor(tx, user, code)) !== 'totp') return null;
        await store.updateUser(user.id, { mfa_enrolled_at: iso(), updated_at: iso() }, tx.trx);
        await store.replaceRecoveryCodes(
          user.id,
          recoveryCodes.map((c) => sha256Hex(normalizeRecoveryCode(c)!)),
          tx.trx,
        );
        await tx.record({ event: 'user.mfa.enrolled', target: { type: 'user', id: user.id }, details: { method: 'totp' } });
        // A session that was held back for enrolment becomes a full one, with a fresh token.
        if (session && session.stage === 'enrol') {
          await store.deleteSession(session.id, tx.trx);
          return openSession(tx, user, 'full', true, ctx);
        }
        if (session) await store.updateSession(session.id, { mfa_verified: 1 }, tx.trx);
        return '';
      });
      if (result === null) throw new ValidationError('The code is wrong: check the time on your phone and try the next code.', [{ field: 'code', message: 'is wrong' }]);
      return { recoveryCodes, sessionToken: result === '' ? null : result };
    },

    async removeMfa(user: UsersTable, password: string, ctx: RequestContext): Promise<void> {
      if (!user.mfa_enrolled_at) throw new ConflictError('MFA is not enrolled.');
      // A refused removal is on record, as a refused password change is.
      const refuse = (reason: string, message: string): never => {
        throw new ForbiddenError(message).audited({ event: 'user.mfa.removed', target: { type: 'user', id: user.id }, details: { reason } });
      };
      if (await mfaRequiredFor(user)) return refuse('required by policy', 'MFA is required for you by policy and cannot be removed.');
      if (!user.password_hash || !(await verifyPassword(password, user.password_hash))) return refuse('wrong password', 'The password is wrong.');
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateUser(user.id, { mfa_secret_enc: null, mfa_enrolled_at: null, mfa_last_step: null, updated_at: iso() }, tx.trx);
        await store.replaceRecoveryCodes(user.id, [], tx.trx);
        await tx.record({ event: 'user.mfa.removed', target: { type: 'user', id: user.id } });
      });
    },

    unusedRecoveryCodes: (user: UsersTable) => store.unusedRecoveryCodes(user.id),

    async createToken(
      user: UsersTable,
      input: { name: string; access: 'read' | 'write'; teamIds: string[] | null; expiresInDays: number },
      memberOf: (teamId: string) => Promise<boolean>,
      ctx: RequestContext,
    ): Promise<{ token: string; record: ApiTokensTable }> {
      for (const teamId of input.teamIds ?? []) {
        if (!(await memberOf(teamId))) throw new NotFoundError(`Team ${teamId}`);
      }
      // An auditor writes nothing, through a token neither (the auth hook also reads an older one as read-only).
      if (input.access === 'write' && readOnlyPlatformRole(user.platform_role)) {
        throw new ValidationError(`A ${user.platform_role}'s API tokens are read-only: ask for access "read".`, [{ field: 'access', message: 'read only for this role' }]);
      }
      const raw = TOKEN_PREFIX + randomToken(32);
      const record: ApiTokensTable = {
        id: randomUUID(),
        user_id: user.id,
        name: input.name.trim(),
        token_hash: sha256Hex(raw),
        prefix: raw.slice(0, 10),
        access: input.access,
        team_ids: input.teamIds ? JSON.stringify(input.teamIds) : null,
        expires_at: iso(input.expiresInDays * 86_400_000),
        created_at: iso(),
        last_used_at: null,
        revoked_at: null,
      };
      await auditLog.transaction(ctx, async (tx) => {
        await store.insertToken(record, tx.trx);
        await tx.record({
          event: 'token.created',
          target: { type: 'token', id: record.id },
          details: { name: record.name, access: record.access, teamIds: input.teamIds, expiresAt: record.expires_at },
        });
      });
      return { token: raw, record };
    },

    listTokens: (user: UsersTable) => store.tokensOfUser(user.id),

    async revokeToken(user: UsersTable, tokenId: string, ctx: RequestContext): Promise<void> {
      await auditLog.transaction(ctx, async (tx) => {
        const token = await store.tokenOfUser(user.id, tokenId, tx.trx);
        if (!token || token.revoked_at) throw new NotFoundError('Token');
        await store.updateToken(token.id, { revoked_at: iso() }, tx.trx);
        await tx.record({ event: 'token.revoked', target: { type: 'token', id: token.id }, details: { name: token.name } });
      });
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;

/** The permissions a token may use: its owner's, narrowed to reads for a read-only token. */
export function tokenAllows(token: ApiTokensTable | null, permission: Permission): boolean {
  if (!token) return true;
  if (SESSION_ONLY_PERMISSIONS.includes(permission)) return false;
  return token.access === 'write' || PERMISSIONS[permission].access === 'read';
}

/** Whether a bearer credential has the form of an API token (not an editor's, agent's or device's). */
export const looksLikeApiToken = (raw: string) => raw.startsWith(TOKEN_PREFIX);

/** The teams a token is scoped to; null: not scoped (no token, or one for all its owner's teams). */
export function tokenTeamIds(token: ApiTokensTable | null | undefined): string[] | null {
  return token?.team_ids ? (JSON.parse(token.team_ids) as string[]) : null;
}
