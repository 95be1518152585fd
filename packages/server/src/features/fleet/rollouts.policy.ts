import type { RolloutsTable } from '../../db/schema.ts';
import type { Holds } from '../../http/holds.ts';

/**
 * What the caller may do to a staged rollout: the one statement of these rules. The service
 * enforces it (under the engine's turn, so no wave starts in between) and every rollout the
 * API answers carries it as `allowed`, from which the rollout page shows its buttons.
 */
export function rolloutActions(holds: Holds, rollout: Pick<RolloutsTable, 'state'>) {
  const deploy = holds('fleet:deploy');
  const { state } = rollout;
  return {
    /** Hold the next wave; devices already updating finish. */
    pause: deploy && state === 'running',
    /** Go on: after a pause, or after a halt (which accepts the failures so far). */
    resume: deploy && (state === 'paused' || state === 'halted'),
    /** Stop for good: devices not yet updated are skipped. A completed or aborted rollout is over. */
    abort: deploy && (state === 'running' || state === 'paused' || state === 'halted'),
  };
}

export type RolloutAction = keyof ReturnType<typeof rolloutActions>;
