import type { UsersTable } from '../../db/schema.ts';
import type { Holds } from '../../http/holds.ts';

/** What is known of an account when deciding what a platform admin may do to it. */
export interface AccountFacts {
  user: Pick<UsersTable, 'status' | 'platform_role' | 'mfa_enrolled_at' | 'password_hash'> & { locked: boolean };
  /** The caller's own account. */
  self: boolean;
  /** The only active platform admin: disabling or demoting them leaves no one to manage the platform. */
  lastActiveAdmin: boolean;
}

/**
 * What the caller may do to a person's account on the platform's Users page: the one statement
 * of these rules. The services enforce it and the user list carries it as `allowed`, from which
 * the web UI shows its buttons.
 */
export function accountActions(holds: Holds, { user, self, lastActiveAdmin }: AccountFacts) {
  // Another admin manages your account: no one disables or resets themselves here (the account
  // page changes your own password and MFA, with your current credentials). Two exceptions:
  // stepping down as an admin while another active admin remains, and unlocking one's own account
  // (locked by someone guessing its password while its owner is signed in).
  const manage = holds('platform:users:write') && !self;
  const active = user.status === 'active';
  const admin = user.platform_role === 'admin';
  return {
    disable: manage && active && !lastActiveAdmin,
    enable: manage && !active,
    unlock: holds('platform:users:write') && user.locked,
    /** A one-time link to set a new password: for an active account that has a password here (an identity provider keeps the others'). */
    resetPassword: manage && active && user.password_hash !== null,
    resetMfa: manage && user.mfa_enrolled_at !== null,
    makeAdmin: manage && !admin,
    /** Between the platform roles that are not admin (user, compliance, auditor): another admin's call, like the rest. */
    changeRole: manage && !admin,
    removeAdmin: holds('platform:users:write') && admin && !lastActiveAdmin,
  };
}

export type AccountActions = ReturnType<typeof accountActions>;
