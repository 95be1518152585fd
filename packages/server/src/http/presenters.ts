import type { UsersTable } from '../db/schema.ts';
import type { UserView } from './schemas.ts';

export function presentUser(user: UsersTable, now: Date): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    platformRole: user.platform_role,
    status: user.status,
    mfaEnrolled: user.mfa_enrolled_at !== null,
    locked: user.locked_until !== null && user.locked_until > now.toISOString(),
    createdAt: user.created_at,
  };
}
