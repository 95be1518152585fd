import { useState } from 'react';
import { FormCard } from '../../components/FormCard.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useInterval } from '../../interval.ts';
import { useSession } from '../../session.tsx';
import type { Instance, InstanceResources, Isolation } from '../../types.ts';

const MIB = 1024 * 1024;
const WARN_RATIO = 0.8;

/** Used against its limit, drawn: a bar that turns to the warning colour at 80 %. */
function UsageBar({ label, used, limit, unit }: { label: string; used: number | null; limit: number; unit: string }) {
  const ratio = used === null ? 0 : Math.min(1, used / limit);
  const text = used === null ? `not measured · limit ${limit} ${unit}` : `${Math.round(used)} of ${limit} ${unit} (${Math.round((used / limit) * 100)} %)`;
  return (
    <div className="usage-row" data-testid={`usage-${label.toLowerCase()}`}>
      <span>{label}</span>
      <svg className="usage-bar" viewBox="0 0 100 8" preserveAspectRatio="none" height="16" width="100%" role="img" aria-label={`${label}: ${text}`}>
        <rect className="usage-track" x="0" y="0" width="100" height="8" rx="1" />
        <rect className={ratio >= WARN_RATIO ? 'usage-fill-warn' : 'usage-fill'} x="0" y="0" width={ratio * 100} height="8" rx="1" />
      </svg>
      <span className="small">{text}</span>
    </div>
  );
}

/** What holds this instance apart from the platform and from other teams, in plain words. */
export function IsolationSummary({ isolation }: { isolation: Isolation }) {
  const groups = isolation.controlGroups;
  const held = [groups.memory && 'memory', groups.processes && 'processes', groups.cpu && 'CPU'].filter(Boolean).join(', ');
  return (
    <div className="stack" data-testid="isolation">
      <p>
        {isolation.sandbox.kind === 'none' ? <span className="badge badge-warn">no sandbox</span> : <span className="badge">sandbox: {isolation.sandbox.kind}</span>}{' '}
        {isolation.userPerInstance ? 'Runs as an OS user of its own. ' : ''}
        {held ? `The kernel holds its ${held} (control group ${groups.layout}).` : `The kernel holds none of its resources: ${groups.unavailable ?? 'no control group'}.`} At most{' '}
        {isolation.limits.processes} processes and {isolation.limits.openFilesPerProcess} open files per process.
      </p>
      {isolation.sandbox.unavailable && <p className="notice notice-error">{isolation.sandbox.unavailable}</p>}
      <details>
        <summary>What this isolation does not give</summary>
        <ul>
          {isolation.notProvided.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      </details>
    </div>
  );
}

/** A limit field: blank follows the platform's default. */
function LimitField({
  label,
  value,
  onChange,
  range,
  unit,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  range: { default: number; min: number; max: number };
  unit: string;
}) {
  return (
    <label className="stack">
      {label} ({unit})
      <input type="number" min={range.min} max={range.max} placeholder={`default ${range.default}`} value={value} onChange={(event) => onChange(event.target.value)} />
      <span className="muted small">
        {range.min} to {range.max}; blank for the platform default ({range.default})
      </span>
    </label>
  );
}

const asInput = (custom: boolean, value: number) => (custom ? String(value) : '');
const asLimit = (text: string) => (text.trim() === '' ? null : Number(text));

/** Memory, CPU and disk: the limits in force, what the instance uses, and (for its owners) changing them. */
export function ResourcesSection({ instance, mayWrite }: { instance: Instance; mayWrite: boolean }) {
  const { api } = useSession();
  const resources = useResource(() => api.get('/api/instances/{instanceId}/resources', { path: { instanceId: instance.id } }), instance.id);
  useInterval(() => resources.reload(), 15_000);
  const [draft, setDraft] = useState<{ memoryMb: string; cpuPercent: string; diskMb: string } | null>(null);
  const data: InstanceResources | null = resources.data;
  const save = useAction(async () => {
    if (!draft) return;
    const body = { memoryMb: asLimit(draft.memoryMb), cpuPercent: asLimit(draft.cpuPercent), diskMb: asLimit(draft.diskMb) };
    const updated = await api.put('/api/instances/{instanceId}/resources', { path: { instanceId: instance.id }, body });
    resources.setData(() => updated);
    setDraft(null);
  });
  if (!data) return <ProblemNotice problem={resources.error} />;
  const { limits, usage } = data;
  const form = draft ?? {
    memoryMb: asInput(data.custom.memoryMb, limits.memoryMb),
    cpuPercent: asInput(data.custom.cpuPercent, limits.cpuPercent),
    diskMb: asInput(data.custom.diskMb, limits.diskMb),
  };
  const edit = (field: keyof typeof form) => (value: string) => setDraft({ ...form, [field]: value });

  return (
    <section aria-labelledby="resources-title">
      <h2 id="resources-title">Resources and isolation</h2>
      <div className="card stack">
        <UsageBar label="Memory" used={usage?.memoryBytes == null ? null : usage.memoryBytes / MIB} limit={limits.memoryMb} unit="MiB" />
        <UsageBar label="Disk" used={usage?.diskBytes == null ? null : usage.diskBytes / MIB} limit={limits.diskMb} unit="MiB" />
        <p className="small">
          CPU: at most {limits.cpuPercent} % of one core{data.isolation.controlGroups.cpu ? '' : ' (not held: no CPU control group here)'}.
          {usage && <span className="muted"> Measured {new Date(usage.measuredAt).toLocaleTimeString()}.</span>}
        </p>
        {data.warnings.map((warning) => (
          <p key={warning} className="notice notice-warn" role="status">
            {warning}
          </p>
        ))}
        <IsolationSummary isolation={data.isolation} />
      </div>
      {mayWrite && (
        <FormCard
          title="Change limits"
          level={3}
          onSubmit={() => void save.run()}
          submitLabel="Save and restart"
          pending={save.pending}
          error={save.error}
          onDismissError={save.clearError}
        >
          <p className="muted small">A running instance restarts on its new limits.</p>
          <div className="grid-3">
            <LimitField label="Memory" unit="MiB" value={form.memoryMb} onChange={edit('memoryMb')} range={data.ranges.memoryMb} />
            <LimitField label="CPU" unit="% of a core" value={form.cpuPercent} onChange={edit('cpuPercent')} range={data.ranges.cpuPercent} />
            <LimitField label="Disk" unit="MiB" value={form.diskMb} onChange={edit('diskMb')} range={data.ranges.diskMb} />
          </div>
        </FormCard>
      )}
    </section>
  );
}
