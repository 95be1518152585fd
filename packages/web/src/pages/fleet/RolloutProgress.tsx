import type { RolloutDetail, RolloutDeviceState, Site } from '../../types.ts';

/** The order states are drawn in, left to right: done first, then under way, then waiting. */
export const ROLLOUT_DEVICE_STATES: readonly RolloutDeviceState[] = ['healthy', 'verifying', 'updating', 'pending', 'failed', 'skipped'];
const COLOUR: Record<RolloutDeviceState, string> = {
  healthy: '#1a7f37',
  verifying: '#54a96b',
  updating: '#0b5cad',
  pending: '#d0d7de',
  failed: '#b42318',
  skipped: '#8c959f',
};

type Counts = Partial<Record<RolloutDeviceState, number>>;

function describe(counts: Counts): string {
  return (
    ROLLOUT_DEVICE_STATES.filter((s) => counts[s])
      .map((s) => `${counts[s]} ${s}`)
      .join(', ') || 'no devices'
  );
}

/** One stacked bar: each state's share of the devices, drawn in proportion, labelled for a screen reader. */
function Bar({ label, counts }: { label: string; counts: Counts }) {
  const total = ROLLOUT_DEVICE_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0);
  let x = 0;
  return (
    <div className="rollout-bar-row">
      <span className="rollout-bar-label">{label}</span>
      <svg className="rollout-bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={`${label}: ${describe(counts)}`}>
        <rect x="0" y="0" width="100" height="10" fill="#eef1f4" />
        {ROLLOUT_DEVICE_STATES.map((state) => {
          const n = counts[state] ?? 0;
          if (!n || !total) return null;
          const width = (100 * n) / total;
          const rect = <rect key={state} x={x} y="0" width={width} height="10" fill={COLOUR[state]} data-state={state} />;
          x += width;
          return rect;
        })}
      </svg>
      <span className="rollout-bar-count small">{describe(counts)}</span>
    </div>
  );
}

/** A rollout's progress as bars: the whole group, then one per site, so a plant that lags stands out. */
export function RolloutProgress({ detail, sites }: { detail: RolloutDetail; sites: Site[] }) {
  const all: Counts = {};
  const bySite = new Map<string, Counts>();
  for (const p of detail.progress) {
    all[p.state] = (all[p.state] ?? 0) + p.devices;
    const counts = bySite.get(p.siteId) ?? {};
    counts[p.state] = (counts[p.state] ?? 0) + p.devices;
    bySite.set(p.siteId, counts);
  }
  const total = ROLLOUT_DEVICE_STATES.reduce((n, s) => n + (all[s] ?? 0), 0);
  const done = (all.healthy ?? 0) + (all.failed ?? 0) + (all.skipped ?? 0);
  return (
    <figure className="rollout-progress" aria-labelledby="rollout-progress-caption">
      <figcaption id="rollout-progress-caption">
        <strong data-testid="rollout-percent">{total ? Math.round((100 * (all.healthy ?? 0)) / total) : 0} %</strong> healthy · {done} of {total} devices done
      </figcaption>
      <Bar label="All sites" counts={all} />
      {[...bySite].map(([siteId, counts]) => (
        <Bar key={siteId} label={sites.find((s) => s.id === siteId)?.name ?? 'deleted site'} counts={counts} />
      ))}
      <ul className="rollout-legend small" aria-hidden="true">
        {ROLLOUT_DEVICE_STATES.map((s) => (
          <li key={s}>
            <span className="swatch" style={{ background: COLOUR[s] }} /> {s}
          </li>
        ))}
      </ul>
    </figure>
  );
}
