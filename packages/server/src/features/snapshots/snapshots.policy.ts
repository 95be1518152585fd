import type { Holds } from '../../http/holds.ts';

/**
 * What the caller may do with a snapshot of an instance: the one statement of these rules.
 * The service enforces it, and the snapshot's answers carry it as `allowed`, which is what
 * the web UI shows its buttons from: it never derives them again.
 */
export function snapshotActions(holds: Holds, snapshot: { ranHere: boolean }) {
  return {
    /**
     * Make it the instance's target. An operator rolls back: to a snapshot that has run on
     * this instance before; one that never ran there (made from a file, imported, never
     * started) changes the flows, and that needs applications:write (owner, member).
     */
    deploy: holds('instances:operate') && (snapshot.ranHere || holds('applications:write')),
    /** Take it out of the platform as a file sealed with a secret. */
    export: holds('snapshots:write'),
  };
}

export type SnapshotActions = ReturnType<typeof snapshotActions>;
