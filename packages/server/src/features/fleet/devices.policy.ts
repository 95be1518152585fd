import type { Holds } from '../../http/holds.ts';

/** What is known of a device when deciding what may be done to it. */
export interface DeviceFacts {
  revoked: boolean;
  /** It belongs to a rollout that is running, paused or halted: the rollout decides what it runs. */
  inRollout: boolean;
}

/**
 * What the caller may do to a device: the one statement of these rules. The services enforce
 * them and every device the API answers carries them as `allowed`, from which the fleet pages
 * show their controls.
 */
export function deviceActions(holds: Holds, device: DeviceFacts) {
  const live = !device.revoked;
  return {
    /** Rename it, or move it to another site or group. A revoked device is kept as a record only. */
    edit: holds('fleet:write') && live,
    /** Point it at a snapshot, or clear its target: not while a rollout holds it (abort that, or let it finish). */
    setTarget: holds('fleet:deploy') && live && !device.inRollout,
    /** End its credential. Once is enough: a revoked device stays revoked. */
    revoke: holds('fleet:provision') && live,
    /** Open its Node-RED editor over the tunnel it keeps. */
    openEditor: holds('fleet:editor') && live,
  };
}

export type DeviceActions = ReturnType<typeof deviceActions>;
