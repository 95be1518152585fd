/**
 * The permission policy shared with the server, from the browser-safe part of core.
 */
import { isAllowed, type Permission, type PlatformRole, type TeamRole } from '@flowgate/core/policy';

export { TEAM_ROLES, TEAM_ROLE_DESCRIPTIONS, AUDIT_EVENTS, checkPassword, PASSWORD_MIN_LENGTH, PROXIED_PAGE_PATH, type PlatformRole, type TeamRole } from '@flowgate/core/policy';
export type { Permission };

/** Whether the person may use a permission, in a team (teamRole) or on the platform. */
export function can(platformRole: PlatformRole | undefined, teamRole: TeamRole | null, permission: Permission): boolean {
  if (!platformRole) return false;
  return isAllowed({ platformRole, teamRole }, permission);
}
