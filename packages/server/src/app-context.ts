import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { InstanceOrigins } from './features/applications/instance-origins.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Alerts } from './alerts.ts';
import type { ApplicationsService } from './features/applications/applications.service.ts';
import type { ApplicationsStore } from './features/applications/applications.store.ts';
import type { InstanceCgroups } from './features/applications/cgroups.ts';
import type { ResourceMonitor } from './features/applications/instance-resources.ts';
import type { InstanceRuntime } from './features/applications/instance-runtime.ts';
import type { Sandbox } from './features/applications/sandbox.ts';
import type { DeploymentsService } from './features/fleet/deployments.service.ts';
import type { DeviceBroker } from './features/fleet/device-broker.ts';
import type { DeviceTunnels } from './features/fleet/device-tunnels.ts';
import type { LiveSockets } from './features/applications/live-sockets.ts';
import type { OfflineAlerts } from './features/fleet/offline-alerts.service.ts';
import type { FleetService } from './features/fleet/fleet.service.ts';
import type { ComplianceService } from './features/compliance/compliance.service.ts';
import type { InventoryService } from './features/inventory/inventory.service.ts';
import type { ScimService } from './features/sso/scim.service.ts';
import type { SsoService } from './features/sso/sso.service.ts';
import type { SnapshotsService } from './features/snapshots/snapshots.service.ts';
import type { SbomService } from './features/sbom/sbom.service.ts';
import type { CheckpointTrust } from './features/audit/audit.checkpoints.ts';
import type { PasswordResets } from './features/identity/password-resets.ts';
import type { Config } from './config.ts';
import type { Clock } from './context.ts';
import type { Database } from './db/database.ts';
import type { Checkpointer } from './features/audit/audit.checkpoints.ts';
import type { SyslogForwarder } from './features/audit/audit.forwarder.ts';
import type { AuditLog } from './features/audit/audit.service.ts';
import type { AuditStore } from './features/audit/audit.store.ts';
import type { IdentityService } from './features/identity/identity.service.ts';
import type { SettingsStore } from './features/platform/settings.store.ts';
import type { PlatformService } from './features/platform/platform.service.ts';
import type { TeamSettingsService } from './features/applications/team-settings.service.ts';
import type { IdentityStore } from './features/identity/identity.store.ts';
import type { TeamsService } from './features/teams/teams.service.ts';
import type { TeamsStore } from './features/teams/teams.store.ts';
import type { Metrics } from './metrics.ts';
import type { SetupGate } from './setup-gate.ts';

export type TypedApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Everything a feature's routes may use, built once in the composition root (app.ts). */
export interface AppContext {
  config: Config;
  /** Whom the platform's own verify (the audit page's button) believes a checkpoint from: its master key, and pinned keys. */
  checkpointTrust: CheckpointTrust;
  clock: Clock;
  database: Database;
  alerts: Alerts;
  metrics: Metrics;
  auditStore: AuditStore;
  auditLog: AuditLog;
  checkpointer: Checkpointer;
  identityStore: IdentityStore;
  identity: IdentityService;
  /** One-time links a platform admin issues for a forgotten password. */
  passwordResets: PasswordResets;
  /** Sign-in through identity providers (OIDC). */
  sso: SsoService;
  /** SCIM 2.0 provisioning by identity providers. */
  scim: ScimService;
  settingsStore: SettingsStore;
  platform: PlatformService;
  teamsStore: TeamsStore;
  teams: TeamsService;
  setup: SetupGate;
  /** Null when no SIEM is configured (FLOWGATE_AUDIT_SYSLOG_URL). */
  forwarder: SyslogForwarder | null;
  applicationsStore: ApplicationsStore;
  applications: ApplicationsService;
  snapshots: SnapshotsService;
  /** CycloneDX SBOMs of snapshots, and of what instances and devices run. */
  sbom: SbomService;
  teamSettings: TeamSettingsService;
  runtime: InstanceRuntime;
  /** What each hosted instance may use and uses (SR 7.2). */
  resources: ResourceMonitor;
  /** What holds hosted instances apart: the sandbox, the control groups (the isolation report). */
  sandbox: Sandbox;
  cgroups: InstanceCgroups;
  fleet: FleetService;
  /** Systems under Consideration, zones and conduits (IEC 62443-3-2). */
  compliance: ComplianceService;
  /** The automatic inventory (SR 7.8): instances and devices, their facts, what they run. */
  inventory: InventoryService;
  deployments: DeploymentsService;
  /** The embedded MQTT broker devices connect to. */
  broker: DeviceBroker;
  /** The devices' editor tunnels, open while someone uses a device's editor. */
  tunnels: DeviceTunnels;
  /** WebSockets let through to Node-RED, their permission asked again while they are open. */
  liveSockets: LiveSockets;
  /** Each instance's own origin: which host is whose, and signing in there (instance-origins.ts). */
  instanceOrigins: InstanceOrigins;
  offlineAlerts: OfflineAlerts;
  /** Compares audit storage with its capacity; runs every minute and at start. */
  checkCapacity(): Promise<void>;
}
