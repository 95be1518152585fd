import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import helmet from 'helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AGENT_API_ROOT } from '@flowgate/protocol';
import { createAlerts } from './alerts.ts';
import type { AppContext, TypedApp } from './app-context.ts';
import type { Config } from './config.ts';
import { SYSTEM_CONTEXT, systemClock, type Clock } from './context.ts';
import type { Database } from './db/database.ts';
import { createCheckpointer } from './features/audit/audit.checkpoints.ts';
import { auditRoutes } from './features/audit/audit.routes.ts';
import { agentRoutes } from './features/applications/agent.routes.ts';
import { applicationsRoutes } from './features/applications/applications.routes.ts';
import { resourcesRoutes } from './features/applications/resources.routes.ts';
import { createApplicationsService } from './features/applications/applications.service.ts';
import { createApplicationsStore } from './features/applications/applications.store.ts';
import { instanceProxyRoutes } from './features/applications/instance-proxy.ts';
import { createInstanceCgroups, detectCgroups } from './features/applications/cgroups.ts';
import { createResourceMonitor, RESOURCE_CHECK_MS } from './features/applications/instance-resources.ts';
import { createInstanceRuntime, type InstanceRuntime } from './features/applications/instance-runtime.ts';
import { createKubernetesDriver, kubernetesDriverOptions } from './features/applications/kubernetes-driver.ts';
import { createProcessDriver, registryAndProxyEnv } from './features/applications/process-driver.ts';
import { createInstanceOrigins, type InstanceOrigins } from './features/applications/instance-origins.ts';
import { createInstanceOriginsStore } from './features/applications/instance-origins.store.ts';
import { createSandbox } from './features/applications/sandbox.ts';
import { createTeamSettingsService } from './features/applications/team-settings.service.ts';
import { deploymentsRoutes } from './features/fleet/deployments.routes.ts';
import { createDeploymentsService } from './features/fleet/deployments.service.ts';
import { createDeploymentsStore } from './features/fleet/deployments.store.ts';
import { createDeviceAudit } from './features/fleet/device-audit.ts';
import { createDeviceBroker, type DeviceBroker } from './features/fleet/device-broker.ts';
import { connectExternalBroker } from './features/fleet/external-broker.ts';
import { scimRoutes } from './features/sso/scim.routes.ts';
import { createScimService } from './features/sso/scim.service.ts';
import { createScimStore } from './features/sso/scim.store.ts';
import { ssoRoutes } from './features/sso/sso.routes.ts';
import { createSsoService, localPasswordsOffFor } from './features/sso/sso.service.ts';
import { createSsoStore } from './features/sso/sso.store.ts';
import { deviceEditorRoutes } from './features/fleet/device-editor.routes.ts';
import { createDeviceTunnels } from './features/fleet/device-tunnels.ts';
import { createLiveSockets, endsAccess } from './features/applications/live-sockets.ts';
import { logRequest, loggerOptions } from './http/request-log.ts';
import { createOfflineAlerts } from './features/fleet/offline-alerts.service.ts';
import { deviceProtocolRoutes } from './features/fleet/device-protocol.routes.ts';
import { fleetRoutes } from './features/fleet/fleet.routes.ts';
import { complianceRoutes } from './features/compliance/compliance.routes.ts';
import { createComplianceService } from './features/compliance/compliance.service.ts';
import { createComplianceStore } from './features/compliance/compliance.store.ts';
import { createFleetService, PRESENCE_FLUSH_MS } from './features/fleet/fleet.service.ts';
import { createFleetStore } from './features/fleet/fleet.store.ts';
import { snapshotsRoutes } from './features/snapshots/snapshots.routes.ts';
import { createSnapshotsService } from './features/snapshots/snapshots.service.ts';
import { createSbomService } from './features/sbom/sbom.service.ts';
import { sbomRoutes } from './features/sbom/sbom.routes.ts';
import { FLOWGATE_VERSION } from './version.ts';
import { createSnapshotsStore } from './features/snapshots/snapshots.store.ts';
import { inventoryRoutes } from './features/inventory/inventory.routes.ts';
import { createInventoryService } from './features/inventory/inventory.service.ts';
import { createInventoryStore } from './features/inventory/inventory.store.ts';
import { createSyslogForwarder, type SyslogForwarder } from './features/audit/audit.forwarder.ts';
import { createAuditLog } from './features/audit/audit.service.ts';
import { createAuditStore } from './features/audit/audit.store.ts';
import { identityRoutes } from './features/identity/identity.routes.ts';
import { createIdentityService } from './features/identity/identity.service.ts';
import { createIdentityStore } from './features/identity/identity.store.ts';
import { platformRoutes } from './features/platform/platform.routes.ts';
import { createPlatformService } from './features/platform/platform.service.ts';
import { createSettingsStore } from './features/platform/settings.store.ts';
import { teamsRoutes } from './features/teams/teams.routes.ts';
import { createTeamsService } from './features/teams/teams.service.ts';
import { createTeamsStore } from './features/teams/teams.store.ts';
import { registerAuth } from './http/auth.ts';
import { accessLabel, type FlowgateRouteConfig } from './http/route-config.ts';
import { registerProblemHandler, sendFrameworkProblem } from './http/problem.ts';
import { StoppingError } from './http/errors.ts';
import { createSerializerCompiler, createValidatorCompiler } from './http/validation.ts';
import { createPasswordResets } from './features/identity/password-resets.ts';
import { createMailer, type Mailer } from './mailer.ts';
import { createMetrics } from './metrics.ts';
import { loadMasterKey, SecretBox, sha256Hex } from './security/crypto.ts';
import { createJobs } from './jobs.ts';
import { createSetupGate } from './setup-gate.ts';

export interface BuildOptions {
  config: Config;
  database: Database;
  clock?: Clock;
  /** A pino logger, or false for silence (tests). */
  logger?: FastifyBaseLogger | boolean;
  /** Where the log goes (default stdout), in config.logFormat: a test reads it here. */
  logDestination?: { write(text: string): unknown; isTTY?: boolean };
  mailer?: Mailer;
}

/**
 * How long requests in hand get to finish once the platform stops, before their connections
 * are cut: long polls are answered at once, so only a slow request is still running then.
 */
export const STOP_DRAIN_MS = 3000;

export interface BuiltApp {
  app: TypedApp;
  context: AppContext;
}

/**
 * The composition root: every dependency is built here, explicitly, and handed to the
 * features that use it. The same function builds the server for `flowgate start` and
 * for every test.
 */
export async function buildApp(options: BuildOptions): Promise<BuiltApp> {
  const { config, database } = options;
  const clock = options.clock ?? systemClock;
  const app = Fastify({
    logger: options.logger === undefined ? loggerOptions(config, options.logDestination) : options.logger,
    // One line per request instead, at a level that keeps health polls and static files out of a terminal (http/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Behind a reverse proxy, who a request came from (audit, rate limits) is what the
    // proxies named in FLOWGATE_TRUST_PROXY say; no one else's X-Forwarded-For is believed.
    trustProxy: config.trustProxy.length ? config.trustProxy : false,
    frameworkErrors: (error, request, reply) => {
      sendFrameworkProblem(error, request, reply);
    },
    // While stopping, the gate below decides what is still served (hosted agents' last
    // reports), in problem+json, rather than Fastify's plain 503 to everything.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(createValidatorCompiler());
  app.setSerializerCompiler(createSerializerCompiler());

  const metrics = createMetrics();
  const alerts = createAlerts((alert) => {
    metrics.alerts.inc({ kind: alert.kind });
    app.log.error({ alert }, 'alert raised');
  }, clock);
  const secrets = new SecretBox(loadMasterKey(config.masterKey, config.dataDir));
  const auditStore = createAuditStore(database);
  const auditLog = createAuditLog({ database, store: auditStore, clock, alerts });
  const checkpointer = createCheckpointer({ database, store: auditStore, secrets, clock, every: config.audit.checkpointEvery });
  const identityStore = createIdentityStore(database.db, database.dialect);
  const settingsStore = createSettingsStore(database.db);
  const ssoStore = createSsoStore(database.db);
  const identity = createIdentityService({
    store: identityStore,
    settings: settingsStore,
    auditLog,
    secrets,
    clock,
    config,
    ssoRequiredFor: (email) => localPasswordsOffFor(ssoStore, email),
  });
  const teamsStore = createTeamsStore(database.db, database.dialect);
  const mailer = options.mailer ?? createMailer(config.smtpUrl, config.mailFrom, app.log);
  const sso = createSsoService({ store: ssoStore, identityStore, identity, teamsStore, auditLog, secrets, clock, publicUrl: config.publicUrl, alerts });
  const scim = createScimService({ store: createScimStore(database.db), identityStore, sso, auditLog, clock, publicUrl: config.publicUrl });
  const teams = createTeamsService({ store: teamsStore, identity, auditLog, mailer, clock, publicUrl: config.publicUrl, log: app.log });
  const passwordResets = createPasswordResets({ identityStore, auditLog, mailer, clock, publicUrl: config.publicUrl, log: app.log });
  const setup = createSetupGate(await identity.setupRequired());
  const platform = createPlatformService({ settingsStore, identityStore, auditLog, clock });
  const forwarder: SyslogForwarder | null = config.audit.syslog
    ? createSyslogForwarder({ database, store: auditStore, auditLog, alerts, clock, target: config.audit.syslog, log: app.log })
    : null;

  const applicationsStore = createApplicationsStore(database.db);
  const cgroups = createInstanceCgroups(detectCgroups(config.instanceLimits.cgroup));
  if (cgroups.unavailable) app.log.warn(`hosted instances' memory, processes and CPU are not held by the kernel: ${cgroups.unavailable}`);
  // Processes are counted per instance by its control group where there is one; else per OS user (rlimit).
  const sandbox = createSandbox(config.instanceSandbox, {
    openFiles: config.instanceLimits.openFiles,
    processes: cgroups.holds.processes ? null : config.instanceLimits.processes,
  });
  if (sandbox.unavailable) app.log.error(`hosted instances cannot start: ${sandbox.unavailable}`);
  else if (sandbox.kind === 'none')
    app.log.warn("hosted instances run without a sandbox (FLOWGATE_INSTANCE_SANDBOX=none): a flow can read the platform's data directory and secrets");
  const platformUrl = (): string => {
    // Agents of hosted instances reach the platform on loopback, at the port it listens on.
    const address = app.server.address();
    return typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : config.publicUrl;
  };
  const runtime: InstanceRuntime = createInstanceRuntime(
    config.kubernetes
      ? createKubernetesDriver({
          ...kubernetesDriverOptions(config.kubernetes, {
            port: config.port,
            env: process.env,
            agentEnv: registryAndProxyEnv(process.env),
            defaultDiskMb: config.instanceLimits.diskMb.default,
            log: app.log,
          }),
          report: (instanceId, msg) => runtime.appendLogs(instanceId, [{ ts: Date.now(), level: 'error', msg: `[platform] ${msg}` }]),
        })
      : createProcessDriver({
          dataDir: config.dataDir,
          nodeRedDir: config.nodeRedDir,
          platformUrl,
          log: app.log,
          sandbox,
          cgroups,
          processes: config.instanceLimits.processes,
          onAgentExit: (instanceId, lines) => runtime.agentExited(instanceId, lines),
        }),
  );
  if (runtime.driver.unavailable && runtime.driver.kind === 'kubernetes') app.log.error(`hosted instances cannot start on Kubernetes: ${runtime.driver.unavailable}`);
  const resourceRanges = { memoryMb: config.instanceLimits.memoryMb, cpuPercent: config.instanceLimits.cpuPercent, diskMb: config.instanceLimits.diskMb };
  const applications = createApplicationsService({ store: applicationsStore, auditLog, runtime, secrets, clock, nodeRedDir: config.nodeRedDir, resourceRanges });
  const resources = createResourceMonitor({
    runtime,
    store: applicationsStore,
    auditLog,
    ranges: resourceRanges,
    clock,
    stopForDisk: (instance, detail) => applications.stopForLimit(instance, detail),
    log: app.log,
  });
  const snapshotsStore = createSnapshotsStore(database.db);
  const snapshots = createSnapshotsService({ store: snapshotsStore, applicationsStore, applications, runtime, auditLog, clock });
  const teamSettings = createTeamSettingsService({ applicationsStore, applications, snapshots, teams, runtime, auditLog, clock });
  const fleetStore = createFleetStore(database.db);
  const deploymentsStore = createDeploymentsStore(database.db);
  const fleet = createFleetService({ store: fleetStore, rollouts: deploymentsStore, applicationsStore, auditLog, secrets, clock });
  const sbom = createSbomService({ snapshots, applications, fleet, clock });
  const deviceByCredential = async (raw: string) => (await fleetStore.deviceByCredentialHash(sha256Hex(raw))) ?? null;
  const deviceAudit = createDeviceAudit(auditLog, app.log);
  const broker: DeviceBroker = config.externalMqtt
    ? await connectExternalBroker({ ...config.externalMqtt, now: () => clock.now(), log: app.log })
    : await createDeviceBroker({
        deviceByCredential,
        onRefusedCredential: (why) => void deviceAudit.refusedMqttCredential(why),
        onTopicRefused: (why) => void deviceAudit.refusedTopic(why),
        now: () => clock.now(),
        log: app.log,
      });
  broker.attach(app.server);
  const offlineAlerts = createOfflineAlerts({
    store: fleetStore,
    devicesOfTeam: (teamId) => fleet.devicesOfTeam(teamId),
    presence: (id) => broker.presence(id),
    auditLog,
    clock,
    log: app.log,
  });
  const deployments = createDeploymentsService({
    store: deploymentsStore,
    fleetStore,
    snapshotsStore,
    applicationsStore,
    applications,
    auditLog,
    secrets,
    clock,
    log: app.log,
    flushDeviceStatus: () => fleet.flushStatus(),
    notifyDevice: (id) => broker.notifyDesired(id),
  });
  const compliance = createComplianceService({ store: createComplianceStore(database.db), auditLog, auditStore, clock, config });
  const inventory = createInventoryService({ store: createInventoryStore(database.db), auditLog, clock });
  const liveSockets = createLiveSockets();
  const instanceOrigins = createInstanceOrigins({ config, store: createInstanceOriginsStore(database.db), identity, clock });
  if (!instanceOrigins.separate) {
    app.log.warn(
      "instances' editors and endpoints share the platform's origin (FLOWGATE_INSTANCE_ORIGINS=shared): a page a member serves can act on the platform as whoever opens it",
    );
  } else if (!config.instanceOrigins.domainConfigured && !/^https?:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/.test(config.publicUrl)) {
    app.log.warn(
      `instances' editors and endpoints are served at <instance>.localhost, which only a browser on this machine reaches: set FLOWGATE_INSTANCE_DOMAIN (docs/applications.md)`,
    );
  }
  const tunnels = createDeviceTunnels({
    deviceByCredential,
    askDevice: (id) => deployments.announce(id),
    onRefusedCredential: (why) => deviceAudit.refusedTunnelCredential(why),
    onOpened: (device, ip) => void deviceAudit.tunnelOpened(device, ip),
    onClosed: (device, openedForMs) => void deviceAudit.tunnelClosed(device, openedForMs),
    now: () => clock.now().getTime(),
  });
  tunnels.attach(app.server);
  const checkCapacity = createCapacityCheck({ config, database, metrics, alerts, auditLog });
  const context: AppContext = {
    checkpointTrust: { secrets, fingerprints: config.audit.keyFingerprints },
    config,
    clock,
    database,
    alerts,
    metrics,
    auditStore,
    auditLog,
    checkpointer,
    identityStore,
    identity,
    passwordResets,
    sso,
    scim,
    settingsStore,
    platform,
    teamsStore,
    teams,
    setup,
    forwarder,
    checkCapacity,
    applicationsStore,
    applications,
    snapshots,
    sbom,
    teamSettings,
    runtime,
    resources,
    cgroups,
    sandbox,
    fleet,
    compliance,
    deployments,
    broker,
    tunnels,
    liveSockets,
    instanceOrigins,
    offlineAlerts,
    inventory,
  };

  auditLog.onAppended((records) => {
    for (const r of records) metrics.auditEvents.inc({ outcome: r.outcome });
    const last = records[records.length - 1]!;
    checkpointer.afterAppend(last.seq).catch((error: unknown) => app.log.error({ err: error }, 'audit checkpoint failed'));
    // Committed: a socket let through before it is asked again now, not at the next interval.
    if (records.some((r) => endsAccess(r.event))) liveSockets.sweepNow().catch((error: unknown) => app.log.error({ err: error }, 'checking open WebSockets failed'));
  });

  await app.register(cookie);
  // Security headers on every answer. Helmet's middleware is made once: @fastify/helmet made
  // it again at every request, parsing the CSP each time (8 % of a device check-in's CPU).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // HSTS means something only over HTTPS; sent over plain HTTP it is ignored at best, and
    // wrong about the platform. Browsers remember it for a year.
    strictTransportSecurity: config.publicUrl.startsWith('https://') ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  app.addHook('onRequest', (request, reply, done) => {
    // The API's answers carry accounts, tokens, audit trails and configuration: no cache,
    // shared or the browser's own, keeps a copy (a route may still say otherwise).
    if (request.url.startsWith('/api/') || request.url.startsWith('/scim/')) void reply.header('cache-control', 'no-store');
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
  // Stopping (preClose below): hosted agents' last reports (status, audit, logs) as they stop
  // their Node-RED are still taken; everything else is told to come back, and every answer
  // closes its connection, so that none is left for the server to wait on.
  let stopping = false;
  app.addHook('onRequest', async (request, reply) => {
    if (!stopping) return;
    void reply.header('connection', 'close');
    if (request.method === 'POST' && request.url.startsWith(`${AGENT_API_ROOT}/`)) return;
    void reply.header('retry-after', '5');
    throw new StoppingError();
  });
  app.addHook('onSend', async (_request, reply) => {
    if (stopping) void reply.header('connection', 'close');
  });
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Flowgate API', version: FLOWGATE_VERSION, description: 'Every route names the permission it needs (x-permission).' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'fg_session' }, token: { type: 'http', scheme: 'bearer' } } },
    },
    transform: ({ schema, url, route }) => {
      const access = (route.config as FlowgateRouteConfig | undefined)?.access;
      return { schema: { ...schema, 'x-permission': access ? accessLabel(access) : undefined } as typeof schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  registerProblemHandler(app, auditLog);
  // SCIM clients send application/scim+json: JSON, under the same body limit, and some send the
  // header on a DELETE with no body at all.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (request, body, done) =>
    body === '' ? done(null, undefined) : parseJson(request, body as string, done),
  );
  registerAuth(app, {
    identity,
    teamsStore,
    config,
    teamResolvers: {
      applicationId: { what: 'Application', resolve: async (id) => (await applicationsStore.applicationById(id))?.team_id ?? null },
      instanceId: { what: 'Instance', resolve: async (id) => (await applicationsStore.instanceById(id))?.team_id ?? null },
      snapshotId: { what: 'Snapshot', resolve: async (id) => (await snapshotsStore.byId(id))?.team_id ?? null },
      siteId: { what: 'Site', resolve: async (id) => (await fleetStore.siteById(id))?.team_id ?? null },
      groupId: { what: 'Device group', resolve: async (id) => (await fleetStore.groupById(id))?.team_id ?? null },
      deviceId: { what: 'Device', resolve: async (id) => (await fleetStore.deviceById(id))?.team_id ?? null },
      rolloutId: { what: 'Rollout', resolve: async (id) => (await deploymentsStore.rolloutById(id))?.team_id ?? null },
      provisioningTokenId: { what: 'Provisioning token', resolve: async (id) => (await fleetStore.tokenById(id))?.team_id ?? null },
    },
    agentByToken: async (raw) => (await applicationsStore.instanceByAgentToken(sha256Hex(raw))) ?? null,
    scimProviderByToken: async (raw) => (await scim.providerByToken(raw)) ?? null,
    origins: instanceOrigins,
    publicUrl: config.publicUrl,
    // A device signed in over HTTPS: an external broker gets its account from this.
    deviceByCredential: async (raw) => {
      const device = await deviceByCredential(raw);
      if (device) broker.admit(device, raw);
      return device;
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    logRequest(request, reply);
    metrics.httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get('/api/health', { config: { access: { kind: 'public' } }, schema: { tags: ['platform'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));
  app.get('/api/openapi.json', { config: { access: { kind: 'public' } }, schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { config: { access: { kind: 'user', permission: 'platform:metrics:read', metricsToken: true } }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  identityRoutes(app, context);
  ssoRoutes(app, context);
  scimRoutes(app, context);
  teamsRoutes(app, context);
  platformRoutes(app, context);
  auditRoutes(app, context);
  applicationsRoutes(app, context);
  resourcesRoutes(app, context);
  snapshotsRoutes(app, context);
  sbomRoutes(app, context);
  fleetRoutes(app, context);
  complianceRoutes(app, context);
  deploymentsRoutes(app, context);
  inventoryRoutes(app, context);
  deviceProtocolRoutes(app, context);
  agentRoutes(app, context);
  const instanceUpgrade = instanceProxyRoutes(app, context);
  deviceEditorRoutes(app, context);
  confineUpgrades(app, instanceOrigins, instanceUpgrade);
  await registerWeb(app, config.webDir);

  // Background work, all of it listed here and started and stopped as one (src/jobs.ts).
  const jobs = createJobs(app.log);
  jobs.every('the audit capacity check', 60_000, checkCapacity);
  // Besides every N events, sign the head every few minutes so a quiet log is covered too.
  jobs.every('the audit checkpoint', 5 * 60_000, () => checkpointer.checkpoint());
  // States come back for a retry when a flush fails; this picks them up.
  jobs.every('writing device states', PRESENCE_FLUSH_MS, () => fleet.flushStatus());
  jobs.every('writing device last-seen', PRESENCE_FLUSH_MS, () => fleet.flushPresence());
  // Identity providers roll their signing certificates: warned a month ahead, looked at every 6 hours.
  jobs.every('checking identity provider certificates', 6 * 3_600_000, () => sso.checkCertificates());
  jobs.add({ name: 'the rollout engine', start: () => deployments.start(), stop: () => deployments.close() });
  jobs.add({ name: 'offline alerts', start: () => offlineAlerts.start(), stop: () => offlineAlerts.close() });
  jobs.every("measuring hosted instances' resources", RESOURCE_CHECK_MS, () => resources.check());
  app.addHook('onReady', async () => checkCapacity().catch((error: unknown) => app.log.error({ err: error }, 'capacity check failed')));
  app.addHook('onReady', async () => forwarder?.start());
  // Instances that should run are started once the server listens: their agents call it.
  app.server.once('listening', () => {
    runtime.activate();
    jobs.start();
    void sso.checkCertificates().catch((error: unknown) => app.log.error({ err: error }, 'checking identity provider certificates failed'));
    if (config.mqttPort !== null) {
      broker.listenTcp(config.host, config.mqttPort).then(
        (port) => app.log.info({ port }, 'MQTT for devices listening'),
        (error: unknown) => app.log.error({ err: error }, 'the MQTT port could not be opened'),
      );
    }
    void applications.resumeAll().catch((error: unknown) => app.log.error({ err: error }, 'could not start instances'));
  });
  // Stopping ends, at once, everything that would hold the server open: the long polls of
  // agents and devices (answered now, and any that come after at once), devices' MQTT
  // connections and editor tunnels, and the editors' WebSockets (upgraded sockets the HTTP
  // server neither answers nor closes, but waits for). The hosted instances stop meanwhile:
  // each agent stops its Node-RED and sends its last reports, which the gate above lets in.
  // A request still running after STOP_DRAIN_MS has its connection cut.
  let drainTimer: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    stopping = true;
    drainTimer = setTimeout(() => app.server.closeAllConnections(), STOP_DRAIN_MS);
    drainTimer.unref();
    jobs.stop();
    tunnels.close();
    liveSockets.close();
    await Promise.all([broker.close(), runtime.stopAll()]);
  });
  app.addHook('onClose', async () => {
    clearTimeout(drainTimer);
    await fleet.flushStatus().catch((error: unknown) => app.log.error({ err: error }, 'writing device states failed'));
    await fleet.flushPresence().catch((error: unknown) => app.log.error({ err: error }, 'writing device last-seen failed'));
    await forwarder?.stop();
    await checkpointer.checkpoint().catch(() => {});
  });
  return { app, context };
}

/**
 * WebSockets coming to an instance's own origin reach that instance's listener only (its
 * editor's comms, its flows' sockets), none of the platform's (MQTT, device tunnels, device
 * editors); the platform's host reaches all of them, the instances' listener included, which
 * there refuses the old paths (or, shared, serves them).
 */
function confineUpgrades(app: TypedApp, origins: InstanceOrigins, instanceUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): void {
  const platformListeners = app.server.listeners('upgrade') as Array<(req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  app.server.removeAllListeners('upgrade');
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (origins.instanceOfHost(req.headers.host) !== null) return instanceUpgrade(req, socket, head);
    instanceUpgrade(req, socket, head);
    for (const listener of platformListeners) listener.call(app.server, req, socket, head);
  });
}

/** The single-page web UI: its files, and index.html for every other non-API path. */
async function registerWeb(app: TypedApp, webDir: string): Promise<void> {
  const index = path.join(webDir, 'index.html');
  if (!fs.existsSync(index)) {
    app.log.warn({ webDir }, 'web UI not built: run npm run build:web');
    return;
  }
  await app.register(fastifyStatic, { root: webDir, serve: false });
  app.get('/*', { config: { access: { kind: 'public' } }, schema: { hide: true } }, async (request, reply) => {
    const wanted = (request.params as { '*': string })['*'];
    if (wanted.startsWith('api/')) return reply.callNotFound();
    const file = path.join(webDir, path.normalize(wanted));
    if (wanted && file.startsWith(webDir + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
      return reply.header('cache-control', wanted.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache').sendFile(wanted);
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}

/** Warns once when audit storage passes its threshold (62443-3-3 SR 2.9). */
function createCapacityCheck(deps: Pick<AppContext, 'config' | 'database' | 'metrics' | 'alerts' | 'auditLog'>): () => Promise<void> {
  const { capacityBytes, capacityWarnRatio } = deps.config.audit;
  let warned = false;
  return async () => {
    const used = await deps.database.auditStorageBytes();
    deps.metrics.auditStorageBytes.set(used);
    if (capacityBytes === null) return;
    if (used < capacityBytes * capacityWarnRatio) {
      warned = false;
      deps.alerts.clear('audit-capacity');
      return;
    }
    const message = `Audit storage uses ${(used / 1048576).toFixed(1)} MiB of ${(capacityBytes / 1048576).toFixed(0)} MiB: export (archive) and extend storage.`;
    deps.alerts.raise('audit-capacity', message);
    if (!warned) {
      warned = true;
      await deps.auditLog.record(SYSTEM_CONTEXT, { event: 'audit.capacity.warning', outcome: 'failure', details: { usedBytes: used, capacityBytes } });
    }
  };
}
