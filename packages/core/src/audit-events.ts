/**
 * Stable audit event names: a public contract that SIEM rules and auditors rely on.
 * Add names; never rename or reuse one.
 */
export const AUDIT_EVENTS = {
  'platform.setup.completed': 'The first platform admin was created',
  'platform.settings.updated': 'Platform settings changed (login banner, MFA policy, ...)',
  'auth.login.succeeded': 'A person signed in',
  'auth.login.failed': 'A sign-in attempt failed (wrong password, unknown user, locked)',
  'auth.login.locked': 'An account was locked after repeated failed sign-ins',
  'auth.mfa.failed': 'A wrong MFA code was given at sign-in',
  'auth.logout': 'A person signed out',
  'auth.sessions.revoked': 'A person signed out everywhere',
  'auth.access.denied': 'A request was refused for lack of permission',
  'auth.access.hidden': 'A request about a team the caller is not in was answered 404',
  'auth.token.rejected': 'A request came with an unknown, expired or revoked API token',
  'user.created': 'An account was created',
  'user.updated': 'An account was changed by an admin (disabled, enabled, unlocked, role)',
  'user.password.changed': 'A person changed their password',
  'user.mfa.enrolled': 'A person enrolled TOTP MFA',
  'user.mfa.removed': 'A person removed their MFA',
  'user.mfa.recovery-used': 'A recovery code was used to sign in',
  'token.created': 'An API token was created',
  'token.revoked': 'An API token was revoked',
  'team.created': 'A team was created',
  'team.updated': 'A team was renamed or its policy changed',
  'team.deleted': 'A team was deleted',
  'member.invited': 'A person was invited to a team',
  'member.invitation.revoked': 'An invitation was withdrawn',
  'member.joined': 'An invitation was accepted',
  'member.role.changed': "A member's role changed",
  'member.removed': 'A member was removed from a team',
  'member.left': 'A member left a team',
  'audit.exported': 'The audit log was exported',
  'audit.forwarding.failed': 'Audit events could not be forwarded to the SIEM',
  'audit.forwarding.recovered': 'Audit forwarding to the SIEM caught up again',
  'audit.capacity.warning': 'Audit storage passed its warning threshold',
} as const;

export type AuditEventName = keyof typeof AUDIT_EVENTS;
