import { useResource } from '../hooks.ts';
import { useSession } from '../session.tsx';

/** A snapshot by id, as a person reads it: its name and the start of its hash; null is the empty flow. */
export function SnapshotName({ id }: { id: string | null }) {
  const { api } = useSession();
  const snapshot = useResource(async () => (id ? (await api.get('/api/snapshots/{snapshotId}', { path: { snapshotId: id } })).snapshot : null), id ?? '');
  if (!id) return <span className="muted">the empty flow</span>;
  if (!snapshot.data) return <span className="mono small">{id.slice(0, 8)}</span>;
  return (
    <span>
      {snapshot.data.name} <span className="mono small muted">{snapshot.data.hash.slice(0, 12)}</span>
    </span>
  );
}
