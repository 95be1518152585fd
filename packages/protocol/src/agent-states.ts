/**
 * What an agent says its Node-RED is doing, in its status report (a hosted instance's
 * status, a device's check-in). The platform keeps the last one as the instance's status.
 */
export const AGENT_STATES = ['starting', 'running', 'crashed', 'stopped', 'safe-mode', 'error'] as const;

export type AgentState = (typeof AGENT_STATES)[number];

/** States that mean the runtime is not doing its job: the platform audits a change into one. */
export const FAILED_AGENT_STATES: ReadonlySet<AgentState> = new Set(['crashed', 'error', 'safe-mode']);
