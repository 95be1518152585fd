import { formatDateTime } from '../format.ts';
import type { Snapshot } from '../types.ts';

/** What a snapshot needs to be told apart from another of the same name. */
type Labelled = Pick<Snapshot, 'name' | 'hash' | 'createdBy' | 'createdAt' | 'runsNow'>;

/** Where it runs now, in words: "on dev and 3 devices", or null where it runs nowhere. */
export function whereItRuns(runsNow: Snapshot['runsNow'], instanceName: string): string | null {
  const places = [...(runsNow.instance ? [instanceName] : []), ...(runsNow.devices > 0 ? [`${runsNow.devices} device${runsNow.devices === 1 ? '' : 's'}`] : [])];
  return places.length > 0 ? `on ${places.join(' and ')}` : null;
}

/**
 * A snapshot as one line of a picker (an option holds text only): its name, who made it
 * and when, where it runs now, and the start of its hash. Every editor deploy is named
 * "Deployed from the editor"; the author, the time to the second and where it runs tell
 * two of them apart, and a named copy of what runs says that it runs.
 */
export function snapshotOptionLabel(snapshot: Labelled, instanceName: string): string {
  const where = whereItRuns(snapshot.runsNow, instanceName);
  return [snapshot.name, `by ${snapshot.createdBy ?? 'unknown'}`, formatDateTime(snapshot.createdAt, true), ...(where ? [`runs ${where}`] : []), snapshot.hash.slice(0, 8)].join(
    ' · ',
  );
}
