import { MEMBERS_ONLY_PERMISSIONS, PERMISSIONS, PERMISSION_NAMES, type Permission } from './permissions.ts';

/** Roles a person holds inside one team. */
export const TEAM_ROLES = ['owner', 'member', 'operator', 'viewer', 'auditor'] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];

/** Roles a person holds on the platform as a whole. */
export const PLATFORM_ROLES = ['admin', 'compliance', 'auditor', 'user'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

export const PLATFORM_ROLE_DESCRIPTIONS: Record<PlatformRole, string> = {
  admin: 'Runs the platform: settings, users, identity providers, every team',
  compliance: "Compliance lead: scopes Systems under Consideration, zones and conduits; reads every team's sites, devices, members and audit trail, never flows or their secrets",
  auditor: "Reads the compliance records, every team's sites, devices, members and audit trail, and the whole audit log; changes nothing, with its API tokens too",
  user: 'Everyone else: what they may do is decided by their roles in teams',
};

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

/**
 * What compliance leads and auditors read in every team without being one of it: the records a
 * System under Consideration is scoped from (the team, its people, sites, devices) and its audit
 * trail. Not applications:read: it opens an instance's own endpoints (dashboards, whose buttons act
 * on the plant) and shows the flows; the compliance routes show applications, instances and
 * snapshots by name and hash.
 */
const EVERY_TEAM_RECORDS: Permission[] = ['team:read', 'members:read', 'fleet:read', 'audit:read'];

export const PLATFORM_ROLE_PERMISSIONS: Record<PlatformRole, readonly Permission[]> = {
  // The platform admin may do everything, in every team: the role exists to run the platform.
  // Not open a team's Node-RED editors, though, unless a member (membersOnly).
  admin: PERMISSION_NAMES.filter((p) => !MEMBERS_ONLY_PERMISSIONS.includes(p)),
  compliance: [...SELF_PERMISSIONS, 'platform:teams:read', 'compliance:read', 'compliance:write', ...EVERY_TEAM_RECORDS],
  // Read only, everywhere: no team of their own to create either. Their own account (password,
  // MFA, read-only tokens) stays theirs to keep.
  auditor: [...SELF_PERMISSIONS.filter((p) => p !== 'teams:create'), 'platform:teams:read', 'platform:audit:read', 'compliance:read', ...EVERY_TEAM_RECORDS],
  user: SELF_PERMISSIONS,
};

/**
 * Whether a platform role reaches into teams it is not a member of (holds a team permission of
 * its own): such a caller is told a team does not exist rather than hidden from it, and the
 * permission then decides. Every other caller outside a team gets 404, so teams do not leak.
 */
export function seesEveryTeam(platformRole: PlatformRole): boolean {
  return PLATFORM_ROLE_PERMISSIONS[platformRole].some((p) => PERMISSIONS[p].scope === 'team');
}

/**
 * Platform roles that change nothing anywhere: not through a role in a team they also belong to,
 * and not through an API token (read-only whatever it was made as). Their own account (password,
 * MFA, tokens) stays theirs to keep.
 */
const READ_ONLY_PLATFORM_ROLES: readonly PlatformRole[] = ['auditor'];

export function readOnlyPlatformRole(platformRole: PlatformRole): boolean {
  return READ_ONLY_PLATFORM_ROLES.includes(platformRole);
}

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
  // An auditor who is also in a team reads there; separation of duties: no write through the team role.
  if (readOnlyPlatformRole(grant.platformRole) && PERMISSIONS[permission].access === 'write') return false;
  if (PERMISSIONS[permission].scope !== 'team' || grant.teamRole === null) return false;
  return TEAM_ROLE_PERMISSIONS[grant.teamRole].includes(permission);
}

export { PLATFORM_PERMISSIONS };
