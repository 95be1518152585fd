/**
 * The permission catalogue: every route of the platform names one of these, and the
 * web UI shows or hides actions from the same table. Roles are data, not code paths.
 *
 * Scope says where a permission is checked:
 *  - platform: the platform role of the caller decides;
 *  - team: the caller's role in the team named by the route's :teamId decides;
 *  - self: any signed-in person, acting on their own account.
 * Access says whether a read-only API token may use it.
 */
export type PermissionScope = 'platform' | 'team' | 'self';
export type PermissionAccess = 'read' | 'write';

export interface PermissionDefinition {
  readonly scope: PermissionScope;
  readonly access: PermissionAccess;
  readonly description: string;
  /**
   * Team scope only: held through a role in the team, never through the platform role. A
   * platform admin joins the team first (audited as member.joined), so that who works
   * inside a team's Node-RED is always one of the team.
   */
  readonly membersOnly?: true;
  /**
   * Only in a person's signed-in browser session, never with an API token of either access:
   * the Node-RED editors, whose own API carries the editor's token in the Authorization
   * header where an API token would go. Scripts change flows through the snapshot API.
   */
  readonly sessionOnly?: true;
}

export const PERMISSIONS = {
  'account:read': { scope: 'self', access: 'read', description: 'Read your own account, sessions and tokens' },
  'account:write': {
    scope: 'self',
    access: 'write',
    description: 'Change your own password, MFA, tokens and sessions',
  },
  'teams:create': { scope: 'self', access: 'write', description: 'Create a team (you become its owner)' },
  'teams:list': { scope: 'self', access: 'read', description: 'List the teams you belong to' },

  'platform:settings:read': { scope: 'platform', access: 'read', description: 'Read platform settings' },
  'platform:settings:write': {
    scope: 'platform',
    access: 'write',
    description: 'Change platform settings: login banner, MFA policy',
  },
  'platform:users:read': { scope: 'platform', access: 'read', description: 'List every user of the platform' },
  'platform:users:write': {
    scope: 'platform',
    access: 'write',
    description: 'Disable, enable and unlock users; grant platform admin',
  },
  'platform:teams:read': { scope: 'platform', access: 'read', description: 'List every team of the platform' },
  'platform:audit:read': {
    scope: 'platform',
    access: 'read',
    description: 'Read and export the whole audit log, verify it, see forwarding state',
  },
  'platform:metrics:read': { scope: 'platform', access: 'read', description: 'Read Prometheus metrics' },
  'compliance:read': {
    scope: 'platform',
    access: 'read',
    description: "Read the compliance records (Systems under Consideration, zones, conduits, inventory, SBOMs) across every team, never flows' secrets",
  },
  'compliance:write': {
    scope: 'platform',
    access: 'write',
    description: 'Scope Systems under Consideration, zones and conduits; keep the inventory',
  },

  'team:read': { scope: 'team', access: 'read', description: 'See the team and its settings' },
  'team:update': { scope: 'team', access: 'write', description: 'Rename the team, set its MFA policy' },
  'team:delete': { scope: 'team', access: 'write', description: 'Delete the team' },
  'team:leave': { scope: 'team', access: 'write', description: 'Leave the team' },
  'members:read': { scope: 'team', access: 'read', description: 'See members, their roles and invitations' },
  'members:write': {
    scope: 'team',
    access: 'write',
    description: 'Invite people, change roles, remove members, revoke invitations',
  },
  'audit:read': { scope: 'team', access: 'read', description: "Read and export the team's audit trail" },
  'applications:read': {
    scope: 'team',
    access: 'read',
    description: 'See applications, instances, their status, logs, snapshots and diffs',
  },
  'applications:write': {
    scope: 'team',
    access: 'write',
    description: 'Create, change and delete applications and instances; set environment variables',
  },
  'snapshots:write': { scope: 'team', access: 'write', description: 'Take, import and export snapshots' },
  'instances:operate': {
    scope: 'team',
    access: 'write',
    description: 'Start, stop and restart instances; deploy a snapshot that has run on the instance before (roll back)',
  },
  'instances:endpoints': {
    scope: 'team',
    access: 'write',
    description: "Choose whether an instance's own endpoints (HTTP-in, dashboards) are public or behind sign-in",
  },
  'instances:resources': {
    scope: 'team',
    access: 'write',
    description: 'Give an instance more or less memory, CPU and disk, within the range the platform allows',
  },
  'instances:editor': {
    scope: 'team',
    access: 'read',
    description: "Open an instance's Node-RED editor (edit and deploy only with applications:write); for the team's people only, in a browser session",
    membersOnly: true,
    sessionOnly: true,
  },
  'fleet:read': { scope: 'team', access: 'read', description: "See the team's sites, device groups, devices and provisioning tokens (never their secrets)" },
  'fleet:write': { scope: 'team', access: 'write', description: 'Create, change and delete sites and device groups; rename devices and move them' },
  'fleet:editor': {
    scope: 'team',
    access: 'read',
    description: "Open a device's Node-RED editor through its tunnel, read only: a device runs only its target snapshot; for the team's people only, in a browser session",
    membersOnly: true,
    sessionOnly: true,
  },
  'fleet:deploy': {
    scope: 'team',
    access: 'write',
    description: "Set a device's target snapshot; start, pause, resume and abort a rollout to a device group",
  },
  'fleet:provision': {
    scope: 'team',
    access: 'write',
    description: 'Make and revoke provisioning tokens that let a device join the team; revoke a device; set offline alerts and their webhook',
  },
} as const satisfies Record<string, PermissionDefinition>;

export type Permission = keyof typeof PERMISSIONS;

export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];
/** The permissions held only through a role in the team (`membersOnly`): a team's Node-RED editors. */
export const MEMBERS_ONLY_PERMISSIONS: readonly Permission[] = PERMISSION_NAMES.filter((p) => (PERMISSIONS[p] as PermissionDefinition).membersOnly);
/** The permissions no API token carries (`sessionOnly`): a team's Node-RED editors. */
export const SESSION_ONLY_PERMISSIONS: readonly Permission[] = PERMISSION_NAMES.filter((p) => (PERMISSIONS[p] as PermissionDefinition).sessionOnly);

export function isPermission(value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value);
}
