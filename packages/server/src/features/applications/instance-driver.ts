/**
 * Where a hosted instance's agent (and the Node-RED it runs) lives: the runtime's driver.
 * instance-runtime.ts keeps what the platform knows of each instance (the port its agent
 * reports, recent log lines, the long polls) and hands the process itself to a driver:
 *
 * - `process`: a child process of the platform on this machine, in its sandbox (sandbox.ts),
 *   with its resource limits (resource-limits.ts). The embedded default.
 * - `kubernetes`: a Pod per instance from the agent image, for installations that outgrow one
 *   machine (kubernetes-driver.ts, docs/kubernetes.md).
 *
 * The agent is the same in both: it reaches the platform's agent API with the instance's own
 * token and reports the port Node-RED listens on; the platform's proxy reaches that port at
 * the address the driver names.
 */
export type InstanceDriverKind = 'process' | 'kubernetes';

/** What an instance may use (SR 7.2). null: no limit of that kind. */
export interface InstanceResources {
  /** Memory of the whole instance (agent, Node-RED and what its flows start), in MiB. */
  memoryMb: number | null;
  /** Share of one CPU core, in percent (100 = one core). */
  cpuPercent: number | null;
  /** Space its directory may take, in MiB: measured and reported, a warning at 80 %. */
  diskMb: number | null;
}

export interface InstanceLaunch {
  instanceId: string;
  /** The instance's own agent token: its only credential toward the platform. */
  agentToken: string;
  resources: InstanceResources;
}

export interface InstanceDriver {
  kind: InstanceDriverKind;
  /** null when instances can run; else why none may start (shown on the instance page, logged at start). */
  unavailable: string | null;
  /** Starts the instance's agent; it is started again should it exit unexpectedly, until stop(). */
  start(launch: InstanceLaunch): void;
  /** Stops it (the agent stops Node-RED first); resolves once it is gone. */
  stop(instanceId: string): Promise<void>;
  /** Whether its agent runs, or is about to be started again. */
  isRunning(instanceId: string): boolean;
  /** Deletes what the instance kept (its directory or volume). Stop it first. */
  removeFiles(instanceId: string): Promise<void>;
  /** The host at which the platform reaches the port the instance's agent reports for Node-RED. */
  nodeRedHost(instanceId: string): string;
  /** The platform stops: every instance is stopped. */
  stopAll(): Promise<void>;
  /** What the instance uses now, where the driver can measure it. */
  usage?(instanceId: string): Promise<InstanceUsage | null>;
}

/** What an instance uses, as its driver measured it. null: not measured here. */
export interface InstanceUsage {
  memoryBytes: number | null;
  /** How many times the kernel killed a process of it for exceeding its memory, since it was first started. */
  oomKills: number | null;
  /** What its directory holds. */
  diskBytes: number | null;
  measuredAt: number;
}
