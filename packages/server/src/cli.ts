import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import type { RequestContext } from './context.ts';
import { openDatabase } from './db/database.ts';
import { LISTEN_BACKLOG } from './features/fleet/device-broker.ts';
import { createAlerts } from './alerts.ts';
import { systemClock } from './context.ts';
import type { CheckpointTrust } from './features/audit/audit.checkpoints.ts';
import { createAuditLog } from './features/audit/audit.service.ts';
import { createAuditStore } from './features/audit/audit.store.ts';
import { verifyAuditLog } from './features/audit/audit.verify.ts';
import { createIdentityService } from './features/identity/identity.service.ts';
import { createIdentityStore } from './features/identity/identity.store.ts';
import { createSettingsStore } from './features/platform/settings.store.ts';
import { loadMasterKey, masterKeyFile, SecretBox } from './security/crypto.ts';
import { looseEntries } from './security/data-dir.ts';

const USAGE = `Usage: flowgate <command>

  start                                         start the platform (FLOWGATE_* variables configure it)
  admin create --email E --password-file F [--name N]
                                                create the first platform admin (or another admin)
  audit verify [--expect-head SEQ:HASH]         check the audit log's hash chain and signed checkpoints;
                                                exits 0 when intact, 1 naming the first bad event.
                                                Checkpoints count when signed by the platform's own key
                                                (the master key is at hand) or a key pinned by
                                                FLOWGATE_AUDIT_KEY_FINGERPRINT; --expect-head: a head
                                                printed by an earlier run, which the log must still hold
`;

/** How long a stop may take before the process exits anyway (docs/ARCHITECTURE.md, "Stopping"). */
const STOP_LIMIT_MS = 15_000;

const CLI_CONTEXT: RequestContext = {
  actor: { type: 'system', userId: null, label: `cli:${os.userInfo().username}@${os.hostname()}` },
  ip: null,
  userAgent: 'flowgate-cli',
};

async function start(): Promise<void> {
  // Everything the platform and its agents write (the database, instances' flows and
  // credentials, logs) is for its own OS user only, whatever umask it was started with.
  process.umask(0o077);
  const config = loadConfig();
  const database = await openDatabase(config.databaseUrl);
  const { app, context } = await buildApp({ config, database });
  for (const entry of looseEntries(config.dataDir)) {
    app.log.warn(
      { path: entry.path, mode: entry.mode.toString(8), wanted: entry.wanted.toString(8) },
      `others may read ${entry.path} (mode ${entry.mode.toString(8)}): the data directory holds the master key and the teams' secrets; chmod ${entry.wanted.toString(8)} it`,
    );
  }
  const close = async (signal: string) => {
    const started = performance.now();
    app.log.info({ signal }, 'shutting down');
    // Bounded whatever hangs: the agents get 10 s to stop their Node-RED, then SIGKILL (instance-runtime.ts).
    setTimeout(() => {
      app.log.error({ signal }, `not stopped within ${STOP_LIMIT_MS / 1000} s: exiting anyway`);
      process.exit(1);
    }, STOP_LIMIT_MS).unref();
    await app.close();
    await database.close();
    app.log.info({ ms: Math.round(performance.now() - started) }, 'stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));
  // A fleet reconnects at once after a restart: room for thousands of connections waiting to be accepted.
  await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
  const token = context.setup.token;
  if (token) {
    process.stdout.write(
      `\nFlowgate has no users yet. Create the first platform admin here (the link works once):\n\n  ${config.publicUrl}/setup?token=${token}\n\n` +
        `or, for automation: npx flowgate admin create --email you@example.com --password-file ./password.txt\n\n`,
    );
  }
}

async function adminCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, 'password-file': { type: 'string' }, name: { type: 'string' } } });
  if (!values.email || !values['password-file']) {
    process.stderr.write('admin create needs --email and --password-file\n');
    return 2;
  }
  const password = fs.readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '');
  const config = loadConfig();
  const database = await openDatabase(config.databaseUrl);
  try {
    const store = createAuditStore(database);
    const auditLog = createAuditLog({ database, store, clock: systemClock, alerts: createAlerts() });
    const identity = createIdentityService({
      store: createIdentityStore(database.db, database.dialect),
      settings: createSettingsStore(database.db),
      auditLog,
      secrets: new SecretBox(loadMasterKey(config.masterKey, config.dataDir)),
      clock: systemClock,
      config,
    });
    const input = { email: values.email, name: values.name ?? values.email.split('@')[0]!, password };
    const user = (await identity.setupRequired())
      ? await identity.createFirstAdmin(input, CLI_CONTEXT)
      : await auditLog.transaction(CLI_CONTEXT, (tx) => identity.createUserIn(tx, { ...input, platformRole: 'admin' }));
    process.stdout.write(`created platform admin ${user.email} (${user.id})\n`);
    return 0;
  } finally {
    await database.close();
  }
}

/**
 * Whom verify believes: the master key, read but never made here (an auditor's copy of
 * the database comes without one, and a new one would trust nothing), and pinned keys.
 */
function verifierTrust(config: Config): CheckpointTrust {
  const present = config.masterKey !== null || fs.existsSync(masterKeyFile(config.dataDir));
  return { secrets: present ? new SecretBox(loadMasterKey(config.masterKey, config.dataDir)) : null, fingerprints: config.audit.keyFingerprints };
}

function parseHead(raw: string | undefined): { seq: number; hash: string } | undefined {
  if (raw === undefined) return undefined;
  const match = /^(\d+):([0-9a-f]{64})$/.exec(raw.trim());
  if (!match) throw new ConfigError(`--expect-head must be SEQ:HASH as verify prints it, got "${raw}"`);
  return { seq: Number(match[1]), hash: match[2]! };
}

async function auditVerify(args: string[]): Promise<number> {
  let expectHead: { seq: number; hash: string } | undefined;
  try {
    expectHead = parseHead(parseArgs({ args, options: { 'expect-head': { type: 'string' } } }).values['expect-head']);
  } catch (error) {
    // Exit 1 means a tampered log: a mistyped command line is a usage error (2).
    throw error instanceof ConfigError ? error : new ConfigError((error as Error).message);
  }
  const config = loadConfig();
  const trust = verifierTrust(config);
  const database = await openDatabase(config.databaseUrl);
  try {
    const started = performance.now();
    const result = await verifyAuditLog(
      database,
      createAuditStore(database),
      (n) => {
        if (process.stderr.isTTY) process.stderr.write(`\rchecked ${n} events`);
      },
      { trust, ...(expectHead ? { expectHead } : {}) },
    );
    if (process.stderr.isTTY) process.stderr.write('\n');
    const seconds = (performance.now() - started) / 1000;
    if (result.ok) {
      process.stdout.write(`audit log intact: ${result.events} events, ${result.checkpoints} signed checkpoints, head at ${result.headSeq} (${seconds.toFixed(2)} s)\n`);
      for (const key of result.signingKeys) process.stdout.write(`signed by ${key.fingerprint} (trusted by ${key.trustedBy})\n`);
      // Kept outside the database (a ticket, the auditor's notes), it catches a log emptied or cut back later.
      process.stdout.write(`head: ${result.headSeq}:${result.headHash}\n`);
      return 0;
    }
    process.stdout.write(`audit log TAMPERED: first bad event ${result.problem!.seq}: ${result.problem!.reason}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === 'start') {
    await start();
    return -1; // keeps running
  }
  if (command === 'admin' && sub === 'create') return adminCreate(rest);
  if (command === 'audit' && sub === 'verify') return auditVerify(rest);
  process.stderr.write(USAGE);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`flowgate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
