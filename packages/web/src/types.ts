/**
 * Names for the server's replies the UI works with. Each is the reply type of a route, taken
 * from the OpenAPI document the server serves (api/openapi.gen.ts, generated): none is written
 * by hand, so a field the UI reads that the server does not send fails the type check.
 */
import type { Reply } from './api/client.ts';

export type { ChangedNode, CodeChange, FlowDiff, FlowNodeRef, LineHunk, PropertyChange, WiringChange } from '@flowgate/core';

type Item<T> = T extends ReadonlyArray<infer I> ? I : never;

/* Sign-in and your account. */
export type SessionState = Reply<'/api/auth/session'>;
export type User = NonNullable<SessionState['user']>;
export type SessionTeam = NonNullable<SessionState['teams']>[number];
export type AuthConfig = Reply<'/api/auth/config'>;
export type LoginReply = Reply<'/api/auth/login', 'post'>;
export type LoginStatus = LoginReply['status'];
export type Account = Reply<'/api/account'>;
export type MfaSetup = Reply<'/api/account/mfa/setup', 'post'>;
export type MfaConfirm = Reply<'/api/account/mfa/confirm', 'post'>;
export type AccountSession = Item<Reply<'/api/account/sessions'>>;
export type ApiToken = Item<Reply<'/api/account/tokens'>>;

/* Teams and the platform. */
export type Team = Reply<'/api/teams/{teamId}'>;
export type Member = Item<Reply<'/api/teams/{teamId}/members'>>;
export type Invitation = Item<Reply<'/api/teams/{teamId}/invitations'>>;
export type InvitationCreated = Reply<'/api/teams/{teamId}/invitations', 'post'>;
export type InvitationInfo = Reply<'/api/invitations/{token}'>;
/** A person's account on the platform's Users page, with what the caller may do to it (the server's policy). */
export type PlatformUser = Item<Reply<'/api/platform/users'>>;
export type PlatformSettings = Reply<'/api/platform/settings'>;
export type PlatformAlert = Item<Reply<'/api/platform/alerts'>>;

/* The audit trail. */
export type AuditPage = Reply<'/api/audit'>;
export type AuditEvent = Item<AuditPage['events']>;
export type AuditVerification = Reply<'/api/audit/verify'>;

/* Applications, instances and snapshots. */
export type Application = Item<Reply<'/api/teams/{teamId}/applications'>>;
export type ApplicationDetail = Reply<'/api/applications/{applicationId}'>;
export type Instance = Reply<'/api/instances/{instanceId}'>;
export type InstanceResources = Reply<'/api/instances/{instanceId}/resources'>;
export type Isolation = Reply<'/api/platform/isolation'>;
export type InstanceStatus = Instance['status'];
export type EnvVar = Item<Reply<'/api/instances/{instanceId}/env'>>;
export type LogLine = Item<Reply<'/api/instances/{instanceId}/logs'>>;
export type Snapshot = Item<Reply<'/api/instances/{instanceId}/snapshots'>>;
export type SnapshotDetail = Reply<'/api/snapshots/{snapshotId}'>;
export type SnapshotModule = Item<SnapshotDetail['modules']>;
export type SnapshotSettings = SnapshotDetail['settings'];
export type SnapshotDiff = Reply<'/api/instances/{instanceId}/diff'>;
export type DiffSide = SnapshotDiff['from'];
export type ModulesDiff = SnapshotDiff['modules'];
export type SettingChange = Item<SnapshotDiff['settings']>;
export type EnvDiff = SnapshotDiff['env'];
export type ApplicationSettings = Reply<'/api/teams/{teamId}/application-settings'>;

/** A Node-RED node as stored in a snapshot's flows: Node-RED's own data, which the server passes through. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  label?: string;
  wires?: string[][];
  [key: string]: unknown;
}

/* The fleet. */
export type Site = Item<Reply<'/api/teams/{teamId}/sites'>>;
export type DeviceGroup = Item<Reply<'/api/teams/{teamId}/device-groups'>>;
export type ProvisioningToken = Item<Reply<'/api/teams/{teamId}/provisioning-tokens'>>;
export type Device = Reply<'/api/devices/{deviceId}'>;
export type Rollout = Item<Reply<'/api/teams/{teamId}/rollouts'>>;
export type RolloutState = Rollout['state'];
export type RolloutDetail = Reply<'/api/rollouts/{rolloutId}'>;
export type RolloutDevice = Item<Reply<'/api/rollouts/{rolloutId}/devices'>>;
export type RolloutDeviceState = RolloutDevice['state'];
export type FleetSettings = Reply<'/api/teams/{teamId}/fleet-settings'>;
export type OfflineAlert = Item<Reply<'/api/teams/{teamId}/offline-alerts'>>;

/* Sign-in providers. */
export type IdentityProvider = Item<Reply<'/api/platform/identity-providers'>>;
export type ProviderKind = IdentityProvider['kind'];
export type ProviderTest = Reply<'/api/platform/identity-providers/{providerId}/test', 'post'>;
export type ProviderCertificate = NonNullable<ProviderTest['certificates']>[number];
/** A directory (LDAP) test sign-in's answer: what the sign-in found, or why the directory refused. */
export type DirectoryTestReply = Reply<'/api/platform/identity-providers/{providerId}/test-sign-in', 'post'>;
/** What an admin's test sign-in found; an OIDC or SAML callback puts it, with the provider's id, in /platform?ssoTest=. */
export type TestSignInReport = Exclude<DirectoryTestReply, { problem: string }> & { providerId: string };
export type DiscoveredProvider = NonNullable<Reply<'/api/auth/sso/discover'>['provider']>;

/* Compliance: Systems under Consideration, zones and conduits. */
export type SucListItem = Item<Reply<'/api/compliance/sucs'>>;
export type ScopeEntry = Item<Reply<'/api/compliance/scope'>>;
export type SucDetail = Reply<'/api/compliance/sucs/{sucId}'>;
export type SucMember = Item<SucDetail['members']>;
export type Zone = Item<SucDetail['zones']>;
export type Conduit = Item<SucDetail['conduits']>;
export type DerivedConduit = Item<SucDetail['derivedConduits']>;
export type SucHistoryEvent = Item<Reply<'/api/compliance/sucs/{sucId}/history'>['events']>;
