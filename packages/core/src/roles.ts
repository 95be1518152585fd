import { MEMBERS_ONLY_PERMISSIONS, PERMISSIONS, PERMISSION_NAMES, type Permission } from './permissions.ts';

/** Roles a person holds inside one team. */
export const TEAM_ROLES = ['owner', 'member', 'operator', 'viewer', 'auditor'] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];

/** Roles a person holds on the platform as a whole. */
export const PLATFORM_ROLES = ['admin', 'user'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

export const TEAM_ROLE_DESCRIPTIONS: Record<TeamRole, string> = {
  owner: 'Runs the team: members, roles, policy, public endpoints, everything a member can do',
  member: 'Plant engineer: builds and changes applications, snapshots them and deploys them to instances and devices',
  operator: 'Watches instances and devices, restarts and rolls back; does not edit flows',
  viewer: 'Reads everything in the team, changes nothing',
  auditor: "Reads everything in the team a viewer reads, and the team's audit trail; changes nothing",
};

const teamRead: Permission[] = ['team:read', 'members:read', 'applications:read', 'instances:editor', 'fleet:read', 'fleet:editor', 'team:leave'];
const build: Permission[] = ['applications:write', 'snapshots:write', 'instances:operate', 'fleet:write', 'fleet:deploy'];

/** Team permissions by role. Platform and self permissions are not listed here. */
export const TEAM_ROLE_PERMISSIONS: Record<TeamRole, readonly Permission[]> = {
  // A provisioning token lets a machine into the team: the owner's call, like inviting a person.
  owner: [...teamRead, ...build, 'team:update', 'team:delete', 'members:write', 'audit:read', 'fleet:provision', 'instances:endpoints', 'instances:resources'],
  member: [...teamRead, ...build],
  // Operators put approved snapshots on devices and stop a rollout that goes wrong; they build nothing.
  operator: [...teamRead, 'instances:operate', 'fleet:deploy'],
  viewer: [...teamRead],
  // Read-only evidence: the trail, the applications and their change history.
  auditor: [...teamRead, 'audit:read'],
};

/**
 * What a role in the team may do inside the Node-RED editor: edit and deploy, or look. The
 * team role alone decides, a platform admin's too (the editors are membersOnly): an admin who
 * joins as viewer gets a viewer's editor.
 */
export function editorPermissions(role: TeamRole | null): '*' | 'read' {
  return role !== null && TEAM_ROLE_PERMISSIONS[role].includes('applications:write') ? '*' : 'read';
}

const PLATFORM_PERMISSIONS = PERMISSION_NAMES.filter((p) => PERMISSIONS[p].scope === 'platform');
const SELF_PERMISSIONS = PERMISSION_NAMES.filter((p) => PERMISSIONS[p].scope === 'self');

export const PLATFORM_ROLE_PERMISSIONS: Record<PlatformRole, readonly Permission[]> = {
  // The platform admin may do everything, in every team: the role exists to run the platform.
  // Not open a team's Node-RED editors, though, unless a member (membersOnly).
  admin: PERMISSION_NAMES.filter((p) => !MEMBERS_ONLY_PERMISSIONS.includes(p)),
  user: SELF_PERMISSIONS,
};

export function isTeamRole(value: string): value is TeamRole {
  return (TEAM_ROLES as readonly string[]).includes(value);
}

export interface Grant {
  platformRole: PlatformRole;
  /** The caller's role in the team the request is about; null when not a member or no team. */
  teamRole: TeamRole | null;
}

/** The one place that decides whether a role may use a permission. */
export function isAllowed(grant: Grant, permission: Permission): boolean {
  if (PLATFORM_ROLE_PERMISSIONS[grant.platformRole].includes(permission)) return true;
  if (PERMISSIONS[permission].scope !== 'team' || grant.teamRole === null) return false;
  return TEAM_ROLE_PERMISSIONS[grant.teamRole].includes(permission);
}

export { PLATFORM_PERMISSIONS };
