import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ENV_NAME_PATTERN, NODE_RED_VERSION_PATTERN } from '@flowgate/core';
import { AGENT_STATES } from './agent-states.ts';

/**
 * What the platform and its agents send each other, as TypeBox schemas: the platform
 * declares them as its routes' schemas (bodies it validates, answers it serialises), and
 * the agent checks the platform's answers against the same ones (check.ts).
 *
 * Objects stay open (additionalProperties allowed) where the agent reads them, so a newer
 * platform may add a field an older agent does not know. A field a newer agent needs and
 * an older platform does not send carries a `default`: what its absence means.
 */

const Nullable = <T extends TSchema>(schema: T, options: { default?: null; description?: string } = {}) => Type.Union([schema, Type.Null()], options);

/** A platform id (instance, device, snapshot). */
export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** A count, sequence number or generation: an integer both databases and JavaScript hold exactly. */
export const Counter = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A moment as Date.now() gives it, in milliseconds since 1970; up to the year 9999. */
export const EpochMillis = Type.Number({ minimum: 0, maximum: 253_402_300_799_999 });
/** An agent's or Node-RED's version as it reports it. */
export const Version = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._+-]+$' });
const HexKey = Type.String({ pattern: '^(?:[0-9a-fA-F]{2})+$' });
// The roots end up in Node-RED's routes and in URLs the agent builds: a plain path only.
const RootPath = Type.String({ pattern: '^/[A-Za-z0-9._~\\-/]*$' });

export const AgentStateSchema = Type.Union(AGENT_STATES.map((state) => Type.Literal(state)));

export const SnapshotRef = Type.Object({ id: Type.String({ minLength: 1 }), hash: Type.String({ minLength: 1 }) });
export type SnapshotRef = Static<typeof SnapshotRef>;

export const PaletteSettings = Type.Object({ allow: Type.Array(Type.String()), deny: Type.Array(Type.String()) });
export type PaletteSettings = Static<typeof PaletteSettings>;

export const DesiredSettings = Type.Object({
  credentialSecret: Type.String({ minLength: 1 }),
  editorTokenKey: Type.String({ ...HexKey, description: 'Hex HMAC-SHA256 key for editor tokens (@flowgate/core editor-token.ts)' }),
  httpAdminRoot: Type.String({ ...RootPath, description: "A path the platform proxies verbatim to Node-RED, e.g. '/instances/<id>/editor/'" }),
  httpNodeRoot: RootPath,
  endpointKey: Nullable(HexKey, {
    default: null,
    description:
      "Hex key a hosted instance's HTTP-in endpoints require (header x-flowgate-endpoint-key), which only the platform's proxy sends: its sign-in choice cannot be gone round on the loopback port. Null on a device, whose endpoints are for the people beside it",
  }),
  palette: PaletteSettings,
  nodeRedVersion: Nullable(Type.String({ pattern: NODE_RED_VERSION_PATTERN }), { default: null, description: "The Node-RED version to run; null: the agent's own" }),
});
export type DesiredSettings = Static<typeof DesiredSettings>;

export const EnvVar = Type.Object({ name: Type.String({ maxLength: 128, pattern: ENV_NAME_PATTERN }), value: Type.String() });

/** GET <root>/desired: what the agent should run, and how. */
export const DesiredState = Type.Object({
  generation: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Changes whenever the desired state does' }),
  instanceId: Type.String({ minLength: 1 }),
  snapshot: Nullable(SnapshotRef, { description: 'The snapshot to run; null: the empty flow' }),
  settings: DesiredSettings,
  env: Type.Array(EnvVar),
  editorTunnel: Type.Boolean({
    default: false,
    description: 'A device only: someone opens its editor, so it should open its editor tunnel (tunnel.ts). Always false for a hosted instance',
  }),
});
export type DesiredState = Static<typeof DesiredState>;

/**
 * What the agent reads of its machine and its Node-RED: the automatic inventory's facts
 * (IEC 62443-3-3 SR 7.8). Modules are those installed in Node-RED's user directory, read
 * from each one's own package.json, so what is there, not what was asked for. Sent in the
 * status report and the check-in, optional: an older agent sends none, and the platform
 * keeps the last facts it had.
 */
export const MachineFacts = Type.Object({
  os: Type.Object({
    type: Type.String({ maxLength: 64, description: "os.type(): 'Linux', 'Windows_NT', 'Darwin'" }),
    release: Type.String({ maxLength: 128, description: 'os.release(): the kernel or Windows build' }),
    arch: Type.String({ maxLength: 32, description: "os.arch(): 'x64', 'arm64', 'arm'" }),
  }),
  nodeVersion: Type.String({ maxLength: 32, description: "Node.js's version as process.version gives it ('v20.19.1')" }),
  nodeRedVersion: Type.String({ maxLength: 32 }),
  modules: Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 214 }), version: Type.String({ maxLength: 64 }) }), {
    maxItems: 1000,
    description: "The node modules installed in Node-RED's user directory, with the version installed",
  }),
});
export type MachineFacts = Static<typeof MachineFacts>;

/** POST /api/agent/v1/status: a hosted agent's status report. */
export const StatusReport = Type.Object({
  state: AgentStateSchema,
  runningSnapshotId: Nullable(Id),
  runningHash: Nullable(Type.String({ maxLength: 64 })),
  nodeRedPort: Nullable(Type.Integer({ minimum: 1, maximum: 65535 })),
  nodeRedVersion: Type.String({ maxLength: 32 }),
  agentVersion: Type.String({ maxLength: 32 }),
  error: Nullable(Type.String({ maxLength: 4000 })),
  facts: Type.Optional(MachineFacts),
});
export type StatusReport = Static<typeof StatusReport>;

/**
 * POST /api/fleet/v1/check-in: a device's heartbeat, and its status report when it runs
 * Node-RED (its port is its own business; its load rides along).
 */
export const DeviceCheckIn = Type.Object(
  {
    agentVersion: Version,
    nodeRedVersion: Type.Optional(Version),
    state: Type.Optional(AgentStateSchema),
    runningSnapshotId: Type.Optional(Nullable(Id)),
    runningHash: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    error: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
    cpuPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    memoryMb: Type.Optional(Type.Number({ minimum: 0, maximum: 16_777_216 })),
    facts: Type.Optional(MachineFacts),
  },
  { additionalProperties: false },
);
export type DeviceCheckIn = Static<typeof DeviceCheckIn>;

/** One audit event a Node-RED runtime emitted, as its agent forwards it. */
export const AuditEvent = Type.Object({
  event: Type.String({ maxLength: 64 }),
  user: Nullable(Type.String({ maxLength: 254 })),
  ts: EpochMillis,
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type AuditEvent = Static<typeof AuditEvent>;

/** POST <root>/audit */
export const AuditBody = Type.Object({ events: Type.Array(AuditEvent, { maxItems: 1000 }) });

export const LogLine = Type.Object({ ts: EpochMillis, level: Type.String({ maxLength: 16 }), msg: Type.String({ maxLength: 8000 }) });
export type LogLine = Static<typeof LogLine>;

/** POST <root>/logs */
export const LogsBody = Type.Object({ lines: Type.Array(LogLine, { maxItems: 1000 }) });

/** POST /api/agent/v1/snapshots: a deploy made in a hosted instance's editor, to record as a snapshot. */
export const EditorDeploy = Type.Object({
  flows: Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 50_000 }),
  credentials: Nullable(Type.String({ maxLength: 10_000_000 })),
  user: Nullable(Type.String({ maxLength: 254 })),
  // Checked by the snapshot service (npm names), not here: an older agent sends none.
  modules: Type.Optional(Type.Array(Type.Object({ name: Type.String({ maxLength: 300 }), version: Type.String({ maxLength: 300 }) }), { maxItems: 2_000 })),
  basedOn: Type.Optional(Nullable(Type.String({ maxLength: 64 }), { description: 'The snapshot the runtime ran when the editor deployed over it; an older agent sends none' })),
});
export type EditorDeploy = Static<typeof EditorDeploy>;

/** The recorded editor deploy; `becameTarget` false: the platform's target changed meanwhile, and stays. */
export const RecordedDeploy = Type.Object({
  id: Type.String(),
  hash: Type.String(),
  becameTarget: Type.Boolean({ default: true, description: 'An older platform sends none: it always made the deploy the target' }),
});
export type RecordedDeploy = Static<typeof RecordedDeploy>;
