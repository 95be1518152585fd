import type { InstanceCgroups } from './cgroups.ts';
import type { InstanceDriverKind } from './instance-driver.ts';
import type { Sandbox } from './sandbox.ts';

/**
 * What holds hosted instances apart on this platform, said plainly (SR 5.4 application
 * partitioning, SR 7.2 resource management): read from what the platform actually made at
 * start, never assumed. The platform settings page shows it, every instance page shows its
 * summary, and the compliance evaluator for SR 5.4 quotes it, `notProvided` included.
 */
export interface IsolationReport {
  driver: InstanceDriverKind;
  sandbox: { kind: Sandbox['kind']; unavailable: string | null };
  /** Each instance an OS user of its own (the platform runs as root and sandboxes). */
  userPerInstance: boolean;
  /** What the kernel holds each instance to, through a control group. */
  controlGroups: { layout: 'v1' | 'v2' | null; memory: boolean; processes: boolean; cpu: boolean; unavailable: string | null };
  limits: { openFilesPerProcess: number; processes: number };
  /** Sentences: what this isolation does not give, for an assessor to weigh. */
  notProvided: string[];
}

export function isolationReport(input: {
  driver: InstanceDriverKind;
  sandbox: Sandbox;
  cgroups: InstanceCgroups;
  limits: { openFiles: number; processes: number };
  runsAsRoot: boolean;
}): IsolationReport {
  const { sandbox, cgroups } = input;
  if (input.driver === 'kubernetes') {
    // A Pod per instance: what holds it apart is the cluster's, which the platform asks for but cannot see enforced.
    return {
      driver: 'kubernetes',
      sandbox: { kind: sandbox.kind, unavailable: null },
      userPerInstance: false,
      controlGroups: { layout: null, memory: true, processes: false, cpu: true, unavailable: null },
      limits: { openFilesPerProcess: input.limits.openFiles, processes: input.limits.processes },
      notProvided: [
        'Each instance runs in a Pod of its own (non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp, memory and CPU limits, a volume of its own; docs/kubernetes.md). The platform cannot see whether the cluster enforces them.',
        "A NetworkPolicy keeps each Pod to the platform; it holds only where the cluster's network plugin enforces NetworkPolicy.",
        "Processes per Pod are limited only by the cluster's kubelet setting (podPidsLimit), which the platform does not set.",
        "Disk is the size of the volume claim; what the storage class enforces is the cluster's.",
      ],
    };
  }
  const controlGroups = { layout: cgroups.layout?.kind ?? null, ...cgroups.holds, unavailable: cgroups.unavailable };
  const sandboxed = sandbox.kind !== 'none' && sandbox.unavailable === null;
  const notProvided: string[] = [];
  if (sandbox.unavailable) notProvided.push(`Hosted instances cannot start: ${sandbox.unavailable}.`);
  if (sandbox.kind === 'none')
    notProvided.push(
      "No sandbox (FLOWGATE_INSTANCE_SANDBOX=none, an admin's choice): a flow runs as the platform's own user and reads the platform's data directory, its master key and every team's secrets.",
    );
  if (sandboxed && !input.runsAsRoot)
    notProvided.push("The platform does not run as root, so every instance runs as the platform's OS user inside its sandbox (no user of its own).");
  notProvided.push(
    "Hosted instances share the machine's network: a flow reaches what this machine reaches, services on its loopback included (the platform's agent API only with the instance's own token). Keep other services on this machine behind authentication, or run instances on Kubernetes with its NetworkPolicy.",
  );
  notProvided.push("All instances share the machine's kernel: a kernel flaw could cross the sandbox.");
  if (!controlGroups.memory)
    notProvided.push("Memory is not held by the kernel: only each Node.js process's heap is limited, so native memory can grow until the machine's runs out.");
  if (!controlGroups.processes)
    notProvided.push(
      input.runsAsRoot && sandboxed
        ? 'Processes are limited per OS user (rlimit), not by a control group.'
        : 'The number of processes an instance starts is not limited: a fork bomb in a flow reaches the machine.',
    );
  if (!controlGroups.cpu) notProvided.push('CPU is not shared out: an endless loop in one instance takes a whole core from the others.');
  notProvided.push('Disk is measured every 15 s, not held by the kernel: a flow writing fast can pass its limit by what it writes before the platform stops it.');
  return {
    driver: input.driver,
    sandbox: { kind: sandbox.kind, unavailable: sandbox.unavailable },
    userPerInstance: sandboxed && input.runsAsRoot,
    controlGroups,
    limits: { openFilesPerProcess: input.limits.openFiles, processes: input.limits.processes },
    notProvided,
  };
}
