import type { AuditActorType, AuditOutcome, PlatformRole, TeamRole } from '@flowgate/core';
import type { AgentState } from '@flowgate/protocol';

/**
 * Table types for the query layer. Timestamps are ISO 8601 UTC strings with
 * milliseconds in both dialects (fixed width, so they sort as text); booleans are 0/1.
 */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  platform_role: PlatformRole;
  status: 'active' | 'disabled';
  failed_logins: number;
  locked_until: string | null;
  mfa_secret_enc: string | null;
  mfa_enrolled_at: string | null;
  /** The last TOTP time step accepted, so a code cannot be replayed within its window. */
  mfa_last_step: number | null;
  created_at: string;
  updated_at: string;
}

export type SessionStage = 'full' | 'mfa' | 'enrol';

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  stage: SessionStage;
  /** 1 when the person proved a second factor in this session. */
  mfa_verified: number;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

/** A one-time code that signs a person in on an instance's own origin (instance-origins.ts). */
export interface InstanceOriginCodesTable {
  code_hash: string;
  instance_id: string;
  user_id: string;
  /** The platform session it was minted in: the sign-in it leads to ends with it. */
  session_id: string;
  expires_at: string;
}

/** A person signed in on an instance's own origin, for as long as the platform session lasts. */
export interface InstanceOriginSessionsTable {
  token_hash: string;
  instance_id: string;
  user_id: string;
  session_id: string;
  created_at: string;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: string | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  /** The first characters of the token, so a person can tell their tokens apart. */
  prefix: string;
  access: 'read' | 'write';
  /** JSON array of team ids the token may act in; null means every team of its owner. */
  team_ids: string | null;
  expires_at: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface TeamsTable {
  id: string;
  name: string;
  require_mfa: number;
  created_at: string;
  updated_at: string;
}

export interface MembershipsTable {
  team_id: string;
  user_id: string;
  role: TeamRole;
  created_at: string;
  /** The identity provider whose group mapping made it; null: made by hand. */
  mapped_by: string | null;
}

export interface IdentityProvidersTable {
  id: string;
  kind: 'oidc' | 'saml' | 'ldap';
  name: string;
  enabled: number;
  /** JSON: the kind's own settings, nothing secret (OidcSettings, SamlSettings or LdapSettings in sso/provider-settings.ts). */
  settings: string;
  /** Sealed: the OIDC client secret or the LDAP service account's password; null for SAML, which has none. */
  secret_enc: string | null;
  /** JSON string[] */
  email_domains: string;
  /** JSON Array<{ group, teamId, role }> */
  mappings: string;
  /** JSON string[]: the OIDC acr or SAML AuthnContextClassRef values that mean the provider checked MFA. */
  mfa_acr_values: string;
  admin_group: string | null;
  disable_local_passwords: number;
  /** SHA-256 of its SCIM bearer token (fgs_...); null: SCIM off. */
  scim_token_hash: string | null;
  created_at: string;
  updated_at: string;
}

export interface ScimUsersTable {
  provider_id: string;
  user_id: string;
  external_id: string | null;
  created_at: string;
}

export interface ScimGroupsTable {
  id: string;
  provider_id: string;
  display_name: string;
  external_id: string | null;
  created_at: string;
}

export interface ScimGroupMembersTable {
  group_id: string;
  user_id: string;
}

export interface SsoIdentitiesTable {
  provider_id: string;
  subject: string;
  user_id: string;
  created_at: string;
  last_login_at: string;
}

export interface SsoRequestsTable {
  state_hash: string;
  provider_id: string;
  /** OIDC: the PKCE verifier, sealed; null for SAML. */
  verifier_enc: string | null;
  /** OIDC: the nonce; SAML: the AuthnRequest's ID, which the answer's InResponseTo must name. */
  nonce: string;
  return_to: string;
  expires_at: string;
  /** 'test': an admin's test sign-in, reported instead of signed in. */
  purpose: 'sign-in' | 'test';
}

/** A one-time link a platform admin issues so someone who forgot their password can set a new one. */
export interface PasswordResetsTable {
  id: string;
  user_id: string;
  token_hash: string;
  issued_by: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface InvitationsTable {
  id: string;
  team_id: string;
  email: string;
  role: TeamRole;
  token_hash: string;
  invited_by: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  revoked_at: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface AuditEventsTable {
  seq: number;
  occurred_at: string;
  actor_type: AuditActorType;
  actor_id: string | null;
  actor_label: string | null;
  event: string;
  outcome: AuditOutcome;
  target_type: string | null;
  target_id: string | null;
  team_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  signed_at: string;
  key_id: string;
  signature: string;
}

export interface AuditSigningKeysTable {
  id: string;
  public_key: string;
  private_key_enc: string;
  created_at: string;
}

export interface AuditForwardingTable {
  target: string;
  last_seq: number;
  updated_at: string;
}

/** What its agent last reported. */
export type InstanceStatus = AgentState;

export interface ApplicationsTable {
  id: string;
  team_id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface InstancesTable {
  id: string;
  application_id: string;
  team_id: string;
  name: string;
  node_red_version: string;
  /** What the people want: running or stopped. */
  desired_state: 'running' | 'stopped';
  /** What the agent last reported. */
  status: InstanceStatus;
  status_detail: string | null;
  target_snapshot_id: string | null;
  running_snapshot_id: string | null;
  /** Who may reach the flows' own HTTP endpoints: signed-in team members, or anyone. */
  endpoint_access: 'login' | 'public';
  agent_token_hash: string;
  credential_secret_enc: string;
  editor_key_enc: string;
  /** Bumped on every change the agent must act on; its long poll wakes on it. */
  generation: number;
  /** What an owner gave it (SR 7.2); null: the platform's default (config.instanceLimits). */
  memory_mb: number | null;
  cpu_percent: number | null;
  disk_mb: number | null;
  created_at: string;
  updated_at: string;
  /** What its agent last read of its machine (MachineFacts, JSON); null before the first report of an agent that sends them. */
  facts: string | null;
  facts_reported_at: string | null;
  /** Its agent's last report, written at most once a minute. */
  last_seen_at: string | null;
}

export interface InstanceEnvTable {
  instance_id: string;
  name: string;
  /** Sealed with the master key when secret. */
  value: string;
  secret: number;
}

export interface SnapshotsTable {
  id: string;
  instance_id: string;
  team_id: string;
  /** SHA-256 of the canonical content: the snapshot's identity, checked before every apply. */
  hash: string;
  name: string;
  description: string;
  kind: 'manual' | 'auto' | 'import';
  /** Canonical JSON of the SnapshotContent; credentials inside are encrypted. */
  content: string;
  node_count: number;
  created_by: string | null;
  created_by_label: string | null;
  created_at: string;
}

/** A snapshot that has run on its instance (reported running by the agent), first and last time. */
export interface SnapshotRunsTable {
  snapshot_id: string;
  instance_id: string;
  first_ran_at: string;
  last_ran_at: string;
}

export interface TeamSettingsTable {
  team_id: string;
  /** JSON arrays of npm package names or patterns. */
  palette_allow: string;
  palette_deny: string;
  auto_snapshot_retention: number;
  updated_at: string;
}

/** A plant: where devices run. */
export interface SitesTable {
  id: string;
  team_id: string;
  name: string;
  location: string;
  /** IANA name (Europe/Berlin): maintenance windows and reports are in the site's time. */
  time_zone: string;
  created_at: string;
  updated_at: string;
}

export interface DeviceGroupsTable {
  id: string;
  team_id: string;
  name: string;
  description: string;
  /** The snapshot the group's last completed rollout brought: what a device joining it runs. */
  target_snapshot_id: string | null;
  created_at: string;
  updated_at: string;
}

/** What lets a device register into a team: bound to a site, and optionally a group and an application. */
export interface ProvisioningTokensTable {
  id: string;
  team_id: string;
  site_id: string;
  group_id: string | null;
  application_id: string | null;
  description: string;
  /** SHA-256 of the token; the token itself is shown once, when made. */
  token_hash: string;
  /** 1: a one-time code, spent by the first device that registers with it. */
  single_use: number;
  uses: number;
  expires_at: string;
  revoked_at: string | null;
  created_by: string | null;
  created_at: string;
}

/** An edge device registered into a team: it authenticates with its own credential, stored as a hash. */
export interface DevicesTable {
  id: string;
  team_id: string;
  site_id: string;
  group_id: string | null;
  application_id: string | null;
  /** What the device called itself at registration (its host name, usually). */
  name: string;
  credential_hash: string;
  provisioning_token_id: string | null;
  agent_version: string;
  node_red_version: string | null;
  last_seen_at: string | null;
  revoked_at: string | null;
  created_at: string;
  /** What the device should run; its agent learns it from the desired state. */
  target_snapshot_id: string | null;
  /** Bumped on every change the device must act on; its long poll wakes on it. */
  generation: number;
  /** What the device's agent last reported; 'updating' from a new target until it answers. */
  state: DeviceState;
  running_snapshot_id: string | null;
  status_detail: string | null;
  cpu_percent: number | null;
  memory_mb: number | null;
  /** Node-RED's credential secret for a device without a target (a target brings its instance's). */
  credential_secret_enc: string | null;
  /** The key the platform signs this device's editor tokens with. */
  editor_key_enc: string | null;
  /** What its agent last read of its machine (MachineFacts, JSON). */
  facts: string | null;
  facts_reported_at: string | null;
}

/** A compliance lead confirmed or dismissed a suggested conduit of an inventory item. */
export interface InventoryDecisionsTable {
  team_id: string;
  item_kind: 'instance' | 'device';
  item_id: string;
  /** connectionKey() of @flowgate/core: protocol, host and port. */
  connection_key: string;
  decision: 'confirmed' | 'dismissed';
  decided_by: string | null;
  decided_at: string;
}

/** A team's fleet alerting: after how long offline a device raises an alert, and where it is sent besides the UI. */
export interface FleetSettingsTable {
  team_id: string;
  offline_alert_minutes: number | null;
  alert_webhook_url: string | null;
  updated_at: string;
}

/** 'unknown' until it first reports, 'updating' while it fetches a new target, then what its agent reports. */
export type DeviceState = 'unknown' | 'updating' | AgentState;

export type RolloutState = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';

/** A snapshot going out to a device group in waves, each gated on the health of the one before. */
export interface RolloutsTable {
  id: string;
  team_id: string;
  group_id: string;
  snapshot_id: string;
  snapshot_hash: string;
  state: RolloutState;
  /** Devices per wave, resolved from the batch size or percentage asked for. */
  wave_size: number;
  /** The rollout halts when more devices than this have failed. */
  max_failures: number;
  /** How long a device must run the snapshot before it counts as healthy. */
  health_seconds: number;
  /** A device not healthy this long after its wave started has failed. */
  wave_timeout_seconds: number;
  /** 1-based; 0 before the first wave starts. */
  current_wave: number;
  wave_count: number;
  /** Why it halted, or who paused or aborted it. */
  detail: string | null;
  created_by: string | null;
  created_by_label: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

export type RolloutDeviceState = 'pending' | 'updating' | 'verifying' | 'healthy' | 'failed' | 'skipped';

export interface RolloutDevicesTable {
  rollout_id: string;
  device_id: string;
  site_id: string;
  wave: number;
  state: RolloutDeviceState;
  detail: string | null;
  started_at: string | null;
  /** When the device first reported running the snapshot: the health window starts here. */
  reached_at: string | null;
  finished_at: string | null;
}

/** What a SuC may hold. `asset` names a row of the inventory (another table). */
export const SCOPE_KINDS = ['site', 'team', 'application', 'instance', 'device', 'asset'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export interface SucsTable {
  id: string;
  name: string;
  description: string;
  /** Who answers for it: a person or a function, as the compliance lead writes it. */
  owner: string;
  /** Where it ends, in words (62443-3-2 ZCR 1). */
  boundary: string;
  created_at: string;
  updated_at: string;
}

export interface SucMembersTable {
  suc_id: string;
  kind: ScopeKind;
  member_id: string;
  /** The team the thing belongs to (a team's own id for a team); null for what belongs to none. */
  team_id: string | null;
  added_at: string;
}

export interface ZonesTable {
  id: string;
  suc_id: string;
  name: string;
  description: string;
  sl_t_fr1: number;
  sl_t_fr2: number;
  sl_t_fr3: number;
  sl_t_fr4: number;
  sl_t_fr5: number;
  sl_t_fr6: number;
  sl_t_fr7: number;
  created_at: string;
  updated_at: string;
}

export interface ZoneMembersTable {
  zone_id: string;
  suc_id: string;
  kind: ScopeKind;
  member_id: string;
}

export const CONDUIT_DIRECTIONS = ['from-to', 'to-from', 'both'] as const;
export const CONDUIT_INITIATORS = ['from', 'to', 'either'] as const;

export interface ConduitsTable {
  id: string;
  suc_id: string;
  name: string;
  /** Null: the outside of the SuC. */
  from_zone_id: string | null;
  to_zone_id: string | null;
  /** Free text: "MQTT over TLS, HTTPS". */
  protocols: string;
  /** Free text: "8883/tcp, 443/tcp". */
  ports: string;
  direction: (typeof CONDUIT_DIRECTIONS)[number];
  initiator: (typeof CONDUIT_INITIATORS)[number];
  /** What crosses it: data, commands, files. */
  crossing: string;
  created_at: string;
  updated_at: string;
}

export interface Schema {
  sucs: SucsTable;
  suc_members: SucMembersTable;
  zones: ZonesTable;
  zone_members: ZoneMembersTable;
  conduits: ConduitsTable;
  devices: DevicesTable;
  inventory_decisions: InventoryDecisionsTable;
  rollouts: RolloutsTable;
  rollout_devices: RolloutDevicesTable;
  fleet_settings: FleetSettingsTable;
  sites: SitesTable;
  device_groups: DeviceGroupsTable;
  provisioning_tokens: ProvisioningTokensTable;
  applications: ApplicationsTable;
  instances: InstancesTable;
  instance_env: InstanceEnvTable;
  snapshots: SnapshotsTable;
  snapshot_runs: SnapshotRunsTable;
  team_settings: TeamSettingsTable;
  users: UsersTable;
  sessions: SessionsTable;
  instance_origin_codes: InstanceOriginCodesTable;
  instance_origin_sessions: InstanceOriginSessionsTable;
  recovery_codes: RecoveryCodesTable;
  api_tokens: ApiTokensTable;
  teams: TeamsTable;
  memberships: MembershipsTable;
  identity_providers: IdentityProvidersTable;
  sso_identities: SsoIdentitiesTable;
  sso_requests: SsoRequestsTable;
  scim_users: ScimUsersTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  invitations: InvitationsTable;
  password_resets: PasswordResetsTable;
  settings: SettingsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_signing_keys: AuditSigningKeysTable;
  audit_forwarding: AuditForwardingTable;
}
