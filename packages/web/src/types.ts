import type { FlowDiff } from '@flowgate/core';
import type { PlatformRole, TeamRole } from './policy.ts';

export type { ChangedNode, CodeChange, FlowDiff, FlowNodeRef, LineHunk, PropertyChange, WiringChange } from '@flowgate/core';

/** Shapes of the server's replies (packages/server/src/features/*.routes.ts). */
export interface User {
  id: string;
  email: string;
  name: string;
  platformRole: PlatformRole;
  status: 'active' | 'disabled';
  mfaEnrolled: boolean;
  locked: boolean;
  createdAt: string;
}

export interface SessionTeam {
  id: string;
  name: string;
  role: TeamRole;
}

export interface SessionState {
  signedIn: boolean;
  stage?: 'full' | 'mfa' | 'enrol' | string;
  csrfToken?: string;
  user?: User;
  teams?: SessionTeam[];
  mfaRequired?: boolean;
}

export interface AuthConfig {
  loginBanner: string;
  setupRequired: boolean;
}

export type LoginStatus = 'signed-in' | 'mfa-required' | 'mfa-enrolment-required';

export interface LoginReply {
  status: LoginStatus;
  user?: User;
  csrfToken: string;
}

export interface Account {
  user: User;
  recoveryCodesLeft: number;
  mfaRequired: boolean;
}

export interface MfaSetup {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}

export interface MfaConfirm {
  recoveryCodes: string[];
  csrfToken?: string;
}

export interface AccountSession {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  access: 'read' | 'write' | string;
  teamIds: string[] | null;
  expiresAt: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Team {
  id: string;
  name: string;
  requireMfa: boolean;
  createdAt: string;
  role: TeamRole | null;
}

export interface Member {
  id: string;
  email: string;
  name: string;
  role: TeamRole;
  mfaEnrolled: boolean;
  since: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: TeamRole;
  createdAt: string;
  expiresAt: string;
}

export interface InvitationCreated {
  invitation: Invitation;
  mailed: boolean;
  link: string | null;
}

export interface InvitationInfo {
  teamName: string;
  email: string;
  role: TeamRole;
  expiresAt: string;
  accountExists: boolean;
}

export interface PlatformSettings {
  loginBanner: string;
  requireMfa: boolean;
}

export interface PlatformAlert {
  kind: string;
  message: string;
  since: string;
  lastSeen: string;
}

export interface AuditEvent {
  seq: number;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  event: string;
  outcome: 'success' | 'denied' | 'failure' | string;
  targetType: string | null;
  targetId: string | null;
  teamId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: string;
  prevHash: string;
  hash: string;
}

export interface AuditPage {
  events: AuditEvent[];
  nextBefore: number | null;
}

export interface AuditVerification {
  ok: boolean;
  events: number;
  checkpoints: number;
  headSeq: number;
  problem: { seq: number; reason: string } | null;
}

/* Applications, instances and snapshots (features/applications, features/snapshots). */
export interface Application {
  id: string;
  teamId: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export type InstanceStatus = 'starting' | 'running' | 'crashed' | 'stopped' | 'safe-mode' | 'error';

export interface Instance {
  id: string;
  applicationId: string;
  teamId: string;
  name: string;
  nodeRedVersion: string;
  desiredState: 'running' | 'stopped' | string;
  status: InstanceStatus | string;
  statusDetail: string | null;
  targetSnapshotId: string | null;
  runningSnapshotId: string | null;
  endpointAccess: 'login' | 'public' | string;
  editorPath: string;
  endpointPath: string;
  createdAt: string;
}

export interface ApplicationDetail {
  application: Application;
  instances: Instance[];
}

export interface EnvVar {
  name: string;
  /** null for a secret: its value is write-only. */
  value: string | null;
  secret: boolean;
}

export interface LogLine {
  ts: number;
  level: string;
  msg: string;
}

export interface Snapshot {
  id: string;
  instanceId: string;
  hash: string;
  name: string;
  description: string;
  kind: 'manual' | 'auto' | 'import' | string;
  nodeCount: number;
  createdBy: string | null;
  createdAt: string;
  /** When it ran on its instance, first and last time: null if it never did. Given by the list and the snapshot's own page. */
  firstRanAt?: string | null;
  lastRanAt?: string | null;
  /** What the signed-in person may do with it, by the server's policy (snapshots.policy.ts). Given with the runs. */
  allowed?: { deploy: boolean; export: boolean };
}

/** A Node-RED node as stored in a snapshot's flows. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  label?: string;
  wires?: string[][];
  [key: string]: unknown;
}

export interface SnapshotModule {
  name: string;
  version: string;
}

/** The runtime settings a snapshot records (an older snapshot may have none). */
export interface SnapshotSettings {
  nodeRedVersion?: string;
}

/** GET /api/snapshots/:id: what a snapshot holds; a secret's value and the credentials never leave the server. */
export interface SnapshotDetail {
  snapshot: Snapshot;
  flows: FlowNode[];
  env: EnvVar[];
  modules: SnapshotModule[];
  settings: SnapshotSettings;
  /** Credentials are held, encrypted; they are never sent. */
  hasCredentials: boolean;
}

export interface ModulesDiff {
  added: SnapshotModule[];
  removed: SnapshotModule[];
  changed: Array<{ name: string; before: string; after: string }>;
}

/** A runtime setting a snapshot records, as it was and is (null: that side has none). */
export interface SettingChange {
  name: string;
  before: unknown;
  after: unknown;
}

/** Environment variables by name; a secret's value is never in a snapshot (null). */
export interface EnvDiff {
  added: EnvVar[];
  removed: EnvVar[];
  changed: Array<{ name: string; before: EnvVar; after: EnvVar }>;
}

/** One side of a change review: the snapshot, and the instance it was taken on (which may be another of the team's), and whether that instance runs it now. */
export type DiffSide = Snapshot & { instanceName: string; runningThere: boolean };

export interface SnapshotDiff {
  from: DiffSide;
  to: DiffSide;
  diff: FlowDiff;
  modules: ModulesDiff;
  settings: SettingChange[];
  env: EnvDiff;
}

export interface ApplicationSettings {
  paletteAllow: string[];
  paletteDeny: string[];
  autoSnapshotRetention: number;
}

export interface Site {
  id: string;
  teamId: string;
  name: string;
  location: string;
  timeZone: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeviceGroup {
  id: string;
  teamId: string;
  name: string;
  description: string;
  /** What its devices run when no rollout holds it; a device joining it gets this. */
  targetSnapshotId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ProvisioningToken {
  id: string;
  teamId: string;
  siteId: string;
  groupId: string | null;
  applicationId: string | null;
  description: string;
  singleUse: boolean;
  uses: number;
  state: 'active' | 'revoked' | 'expired' | 'used';
  expiresAt: string;
  revokedAt: string | null;
  createdAt: string;
}

export interface Device {
  id: string;
  teamId: string;
  siteId: string;
  groupId: string | null;
  applicationId: string | null;
  name: string;
  agentVersion: string;
  nodeRedVersion: string | null;
  lastSeenAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  targetSnapshotId: string | null;
  runningSnapshotId: string | null;
  /** What its agent last reported; 'updating' from a new target until it answers; 'unknown' before its first report. */
  state: string;
  statusDetail: string | null;
  cpuPercent: number | null;
  memoryMb: number | null;
  /** What its MQTT connection says; unknown: it has not connected since the platform started. */
  connection: 'online' | 'offline' | 'unknown';
  connectionSince: string | null;
  /** Its Node-RED editor through the platform, read only, over the tunnel the device opens. */
  editorPath: string;
}

export type RolloutState = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';
export type RolloutDeviceState = 'pending' | 'updating' | 'verifying' | 'healthy' | 'failed' | 'skipped';

export interface Rollout {
  id: string;
  teamId: string;
  groupId: string;
  snapshotId: string;
  snapshotHash: string;
  state: RolloutState;
  waveSize: number;
  maxFailures: number;
  healthSeconds: number;
  waveTimeoutSeconds: number;
  currentWave: number;
  waveCount: number;
  detail: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface RolloutDetail {
  rollout: Rollout;
  progress: Array<{ siteId: string; state: RolloutDeviceState; devices: number }>;
}

export interface RolloutDevice {
  deviceId: string;
  name: string;
  siteId: string;
  wave: number;
  state: RolloutDeviceState;
  detail: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface FleetSettings {
  offlineAlertMinutes: number | null;
  alertWebhookUrl: string | null;
}

export interface OfflineAlert {
  deviceId: string;
  name: string;
  siteId: string;
  offlineSince: string;
  alertedAt: string;
}

export type ProviderKind = 'oidc' | 'saml' | 'ldap';

/** A certificate a provider signs with (or, for a directory, its TLS one), and when it expires. */
export interface ProviderCertificate {
  kid: string | null;
  subject: string;
  expiresAt: string;
  daysLeft: number;
}

export interface OidcProviderSettings {
  issuerUrl: string;
  clientId: string;
  scopes: string;
  groupsClaim: string;
  /** Register this at the identity provider. */
  redirectUri: string;
}

export interface SamlProviderSettings {
  idpEntityId: string;
  /** Where its metadata is published, when it was read from there (and is re-read every 6 hours). */
  idpMetadataUrl: string | null;
  ssoUrl: string;
  certificates: ProviderCertificate[];
  emailAttribute: string;
  nameAttribute: string;
  groupsAttribute: string;
  /** What the IdP needs of this platform: its entity ID (the audience), ACS and metadata URLs. */
  spEntityId: string;
  acsUrl: string;
  metadataUrl: string;
}

export interface LdapProviderSettings {
  url: string;
  startTls: boolean;
  caCertificate: string | null;
  bindDn: string;
  userBase: string;
  userFilter: string;
  groupBase: string;
  groupFilter: string;
  groupNameAttribute: string;
  emailAttribute: string;
  nameAttribute: string;
  nestedGroups: boolean;
}

interface IdentityProviderCommon {
  id: string;
  name: string;
  emailDomains: string[];
  adminGroup: string | null;
  mappings: Array<{ group: string; teamId: string; role: string }>;
  mfaAcrValues: string[];
  disableLocalPasswords: boolean;
  enabled: boolean;
  /** It has a SCIM token: it may provision people. */
  scimEnabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A sign-in provider, with the settings of its kind only. */
export type IdentityProvider = IdentityProviderCommon &
  ({ kind: 'oidc'; oidc: OidcProviderSettings } | { kind: 'saml'; saml: SamlProviderSettings } | { kind: 'ldap'; ldap: LdapProviderSettings });

/** "Test connection": the provider answers as a sign-in would ask it, or what is wrong. */
export interface ProviderTest {
  ok: boolean;
  problem?: string;
  /** What was asked: the sign-in URL, or the directory. */
  endpoint?: string;
  clockSkewSeconds?: number | null;
  /** Its signing certificates (a directory: its TLS one). */
  certificates?: ProviderCertificate[];
  /** What it answered, e.g. "issuer https://…", "sign-in at …". */
  details?: string[];
}

/** What an admin's test sign-in found (OIDC, SAML: the callback puts it in /platform?ssoTest=). */
export interface TestSignInReport {
  providerId: string;
  email: string | null;
  name: string | null;
  subject: string;
  /** Where the groups came from: 'the "groups" claim', 'the "groups" attribute', "the directory's groups". */
  groupsFrom: string;
  groups: string[];
  groupCount: number;
  amr: string[];
  /** OIDC acr, or SAML AuthnContextClassRef. */
  acr: string | null;
  mfaByProvider: boolean;
  platformAdmin: boolean;
  roles: Array<{ teamId: string; role: string }>;
  problems: string[];
}

/** A directory (LDAP) test sign-in's answer: the same report, or why the directory refused. */
export type DirectoryTestReply = Omit<TestSignInReport, 'providerId'> | { problem: string };

/** The provider that signs in an email's domain (the sign-in page asks as the address is typed). */
export interface DiscoveredProvider {
  id: string;
  name: string;
  kind: ProviderKind;
}
