import type { Instance } from '../types.ts';

const TONE: Record<string, string> = {
  running: 'status-running',
  starting: 'status-starting',
  stopped: 'status-stopped',
  crashed: 'status-bad',
  error: 'status-bad',
  'safe-mode': 'status-warn',
  updating: 'status-starting',
};
const SYMBOL: Record<string, string> = { running: '●', starting: '◌', updating: '◌', stopped: '■', crashed: '✗', error: '✗', 'safe-mode': '⚠', unknown: '?' };

/** An instance's or a device's state as a badge: colour and a symbol, so it reads without colour too. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge status ${TONE[status] ?? ''}`} data-status={status}>
      <span aria-hidden="true">{SYMBOL[status] ?? '?'} </span>
      {status}
    </span>
  );
}

/** Nothing is under way: the runtime is where it was asked to be, at the snapshot it was asked to run. */
export function isSettled(instance: Instance): boolean {
  const atTarget = instance.targetSnapshotId === null || instance.targetSnapshotId === instance.runningSnapshotId;
  if (instance.desiredState === 'stopped') return instance.status === 'stopped';
  return instance.status === 'running' && atTarget;
}
