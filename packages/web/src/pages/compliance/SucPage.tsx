import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { apiUrl } from '../../api/client.ts';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { Field } from '../../components/Field.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { formatDateTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { can } from '../../policy.ts';
import { useSession } from '../../session.tsx';
import type { Conduit, ScopeEntry, SucDetail, SucMember, Zone } from '../../types.ts';
import { ScopeTable } from './CompliancePage.tsx';
import { FOUNDATIONAL_REQUIREMENTS, KIND_LABELS } from './scope-kinds.ts';

type MemberRef = { kind: SucMember['kind']; id: string };
const refOf = (m: { kind: SucMember['kind']; id: string }): MemberRef => ({ kind: m.kind, id: m.id });
const DIRECTIONS: Record<Conduit['direction'], string> = { 'from-to': 'from → to', 'to-from': 'to → from', both: 'both ways' };
const INITIATORS: Record<Conduit['initiator'], string> = { from: 'the "from" end', to: 'the "to" end', either: 'either end' };

/** One System under Consideration: what is in it, its zones and conduits (typed and derived), the drawn diagram and its history. */
export function SucPage() {
  const { sucId = '' } = useParams();
  const { api, session } = useSession();
  const mayWrite = can(session?.user?.platformRole, null, 'compliance:write');
  const [revision, setRevision] = useState(0);
  const reload = () => setRevision((r) => r + 1);
  const suc = useResource(() => api.get('/api/compliance/sucs/{sucId}', { path: { sucId } }), `${sucId}:${revision}`);
  usePageTitle(suc.data ? `${suc.data.name} · Compliance` : 'Compliance');

  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/compliance">Compliance</Link> <span aria-hidden="true">/</span> <span aria-current="page">{suc.data?.name ?? 'System under Consideration'}</span>
      </nav>
      {suc.loading && !suc.data && <Loading what="the System under Consideration" />}
      <ProblemNotice problem={suc.error} />
      {suc.data && (
        <>
          <h1>{suc.data.name}</h1>
          <DetailsSection suc={suc.data} mayWrite={mayWrite} onChanged={reload} />
          <MembersSection suc={suc.data} mayWrite={mayWrite} revision={revision} onChanged={reload} />
          <ZonesSection suc={suc.data} mayWrite={mayWrite} onChanged={reload} />
          <ConduitsSection suc={suc.data} mayWrite={mayWrite} onChanged={reload} />
          <section aria-labelledby="diagram-title">
            <h2 id="diagram-title">Diagram</h2>
            <p className="muted">Drawn by the platform from the records above; derived conduits are dashed. Open it alone to print it.</p>
            <p>
              <a href={apiUrl('/api/compliance/sucs/{sucId}/diagram.svg', { path: { sucId } })} target="_blank" rel="noreferrer">
                Open the diagram (SVG)
              </a>
            </p>
            <img
              className="suc-diagram"
              src={`${apiUrl('/api/compliance/sucs/{sucId}/diagram.svg', { path: { sucId } })}?r=${revision}`}
              alt={`Zones and conduits of ${suc.data.name}: ${suc.data.zones.length} zones, ${suc.data.conduits.length + suc.data.derivedConduits.length} conduits, listed in the tables above`}
            />
          </section>
          <HistorySection sucId={sucId} revision={revision} />
        </>
      )}
    </>
  );
}

function DetailsSection({ suc, mayWrite, onChanged }: { suc: SucDetail; mayWrite: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [form, setForm] = useState({ name: suc.name, description: suc.description, owner: suc.owner, boundary: suc.boundary });
  const save = useAction(async () => {
    await api.patch('/api/compliance/sucs/{sucId}', { path: { sucId: suc.id }, body: form });
    onChanged();
  });
  if (!mayWrite) {
    return (
      <section aria-labelledby="details-title">
        <h2 id="details-title">Details</h2>
        <dl className="facts">
          <dt>Description</dt>
          <dd>{suc.description || <span className="muted">—</span>}</dd>
          <dt>Owner</dt>
          <dd>{suc.owner || <span className="muted">—</span>}</dd>
          <dt>Boundary</dt>
          <dd className="prewrap">{suc.boundary || <span className="muted">—</span>}</dd>
        </dl>
      </section>
    );
  }
  return (
    <FormCard title="Details" onSubmit={() => void save.run()} submitLabel="Save details" pending={save.pending} error={save.error} onDismissError={save.clearError}>
      <div className="form-row">
        <Field label="Name" required maxLength={120} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <Field label="Owner" maxLength={200} value={form.owner} onChange={(e) => setForm({ ...form, owner: e.target.value })} hint="Who answers for it." />
      </div>
      <Field label="Description" maxLength={4000} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />
      <div className="field">
        <label htmlFor="suc-boundary">Boundary</label>
        <textarea
          id="suc-boundary"
          maxLength={4000}
          rows={3}
          value={form.boundary}
          onChange={(e) => setForm({ ...form, boundary: e.target.value })}
          aria-describedby="suc-boundary-hint"
        />
        <p className="hint" id="suc-boundary-hint">
          Where the SuC ends, in words: networks, firewalls, the connections that cross it.
        </p>
      </div>
    </FormCard>
  );
}

function MembersSection({ suc, mayWrite, revision, onChanged }: { suc: SucDetail; mayWrite: boolean; revision: number; onChanged: () => void }) {
  const { api } = useSession();
  const scope = useResource(() => (mayWrite ? api.get('/api/compliance/scope') : Promise.resolve([] as ScopeEntry[])), `scope:${revision}`);
  const setMembers = useAction(async (members: MemberRef[]) => {
    await api.put('/api/compliance/sucs/{sucId}/members', { path: { sucId: suc.id }, body: { members } });
    onChanged();
  });
  // An asset moves between zones in two steps: out of the zone it is in, then into the other.
  const moveToZone = useAction(async (member: SucMember, zoneId: string) => {
    const from = suc.zones.find((z) => z.id === member.zoneId);
    if (from) {
      await api.patch('/api/compliance/zones/{zoneId}', {
        path: { zoneId: from.id },
        body: { members: from.members.filter((m) => m.id !== member.id || m.kind !== member.kind).map(refOf) },
      });
    }
    const to = suc.zones.find((z) => z.id === zoneId);
    if (to) await api.patch('/api/compliance/zones/{zoneId}', { path: { zoneId: to.id }, body: { members: [...to.members.map(refOf), refOf(member)] } });
    onChanged();
  });
  const current = suc.members.map(refOf);
  const inSuc = new Set(suc.members.map((m) => `${m.kind}:${m.id}`));
  const addable = (scope.data ?? []).filter((thing) => !inSuc.has(`${thing.kind}:${thing.id}`));

  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">In scope</h2>
      <ProblemNotice problem={setMembers.error} onDismiss={setMembers.clearError} />
      <ProblemNotice problem={moveToZone.error} onDismiss={moveToZone.clearError} />
      <DataTable
        label="In scope"
        rows={suc.members}
        rowKey={(m) => `${m.kind}:${m.id}`}
        empty="Nothing in scope yet."
        columns={[
          { key: 'kind', header: 'Kind', nowrap: true, cell: (m) => KIND_LABELS[m.kind] },
          { key: 'name', header: 'Name', rowHeader: true, cell: (m) => m.name },
          { key: 'team', header: 'Team', cell: (m) => m.teamName ?? <span className="muted">—</span> },
          {
            key: 'zone',
            header: 'Zone',
            cell: (m) =>
              mayWrite ? (
                <select aria-label={`Zone of ${m.name}`} value={m.zoneId ?? ''} disabled={moveToZone.pending} onChange={(e) => void moveToZone.run(m, e.target.value)}>
                  <option value="">(no zone)</option>
                  {suc.zones.map((z) => (
                    <option key={z.id} value={z.id}>
                      {z.name}
                    </option>
                  ))}
                </select>
              ) : (
                (suc.zones.find((z) => z.id === m.zoneId)?.name ?? <span className="muted">no zone</span>)
              ),
          },
          mayWrite && {
            key: 'actions',
            header: 'Actions',
            actions: true,
            cell: (m) => (
              <button
                type="button"
                aria-label={`Take ${m.name} out of scope`}
                disabled={setMembers.pending}
                onClick={() => void setMembers.run(current.filter((r) => r.id !== m.id || r.kind !== m.kind))}
              >
                Take out
              </button>
            ),
          },
        ]}
      />
      {mayWrite && (
        <details className="card">
          <summary>Add to the scope ({addable.length} available)</summary>
          <ProblemNotice problem={scope.error} />
          <ScopeTable
            label="Available to add"
            rows={addable}
            empty="Everything the platform manages is in this SuC."
            action={(thing) => (
              <button type="button" aria-label={`Add ${thing.name} to the scope`} disabled={setMembers.pending} onClick={() => void setMembers.run([...current, refOf(thing)])}>
                Add
              </button>
            )}
          />
        </details>
      )}
    </section>
  );
}

function ZonesSection({ suc, mayWrite, onChanged }: { suc: SucDetail; mayWrite: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [levels, setLevels] = useState<number[]>([2, 2, 2, 2, 2, 2, 2]);
  const create = useAction(async () => {
    await api.post('/api/compliance/sucs/{sucId}/zones', { path: { sucId: suc.id }, body: { name, description, slTarget: levels } });
    setName('');
    setDescription('');
    onChanged();
  });
  const remove = useAction(async (zone: Zone) => {
    await api.delete('/api/compliance/zones/{zoneId}', { path: { zoneId: zone.id } });
    onChanged();
  });
  return (
    <section aria-labelledby="zones-title">
      <h2 id="zones-title">Zones</h2>
      <ProblemNotice problem={remove.error} onDismiss={remove.clearError} />
      <DataTable
        label="Zones"
        rows={suc.zones}
        rowKey={(z) => z.id}
        empty="No zones yet."
        columns={[
          { key: 'name', header: 'Zone', rowHeader: true, cell: (z) => z.name },
          { key: 'slt', header: 'SL-T (FR1..FR7)', nowrap: true, className: 'mono', cell: (z) => z.slTarget.join(',') },
          { key: 'assets', header: 'Assets', cell: (z) => (z.members.length ? z.members.map((m) => m.name).join(', ') : <span className="muted">none</span>) },
          { key: 'description', header: 'Description', hide: 'narrow', cell: (z) => z.description || <span className="muted">—</span> },
          mayWrite && {
            key: 'actions',
            header: 'Actions',
            actions: true,
            cell: (z) => (
              <ConfirmButton
                label="Delete"
                accessibleName={`Delete zone ${z.name}`}
                question={`Delete ${z.name} and its conduits?`}
                pending={remove.pending}
                onConfirm={() => remove.run(z)}
              />
            ),
          },
        ]}
      />
      {mayWrite && (
        <FormCard
          title="Add a zone"
          level={3}
          onSubmit={() => void create.run()}
          submitLabel="Add zone"
          pending={create.pending}
          error={create.error}
          onDismissError={create.clearError}
        >
          <div className="form-row">
            <Field label="Zone name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} hint="For example: Cell, Quality office." />
            <Field label="Zone description" maxLength={4000} value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
          <fieldset className="sl-vector">
            <legend>Target security level per foundational requirement (SL-T)</legend>
            <div className="form-row">
              {FOUNDATIONAL_REQUIREMENTS.map((fr, i) => (
                <div className="field" key={fr}>
                  <label htmlFor={`slt-${i}`} title={fr}>
                    {fr.split(' ')[0]}
                  </label>
                  <select id={`slt-${i}`} aria-label={`SL-T ${fr}`} value={levels[i]} onChange={(e) => setLevels(levels.map((l, k) => (k === i ? Number(e.target.value) : l)))}>
                    {[1, 2, 3, 4].map((level) => (
                      <option key={level} value={level}>
                        {level}
                      </option>
                    ))}
                  </select>
                </div>
              ))}
            </div>
          </fieldset>
        </FormCard>
      )}
    </section>
  );
}

function ConduitsSection({ suc, mayWrite, onChanged }: { suc: SucDetail; mayWrite: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const blank = {
    name: '',
    fromZoneId: '',
    toZoneId: '',
    protocols: '',
    ports: '',
    direction: 'both' as Conduit['direction'],
    initiator: 'from' as Conduit['initiator'],
    crossing: '',
  };
  const [form, setForm] = useState(blank);
  const create = useAction(async () => {
    await api.post('/api/compliance/sucs/{sucId}/conduits', {
      path: { sucId: suc.id },
      body: { ...form, fromZoneId: form.fromZoneId || null, toZoneId: form.toZoneId || null },
    });
    setForm(blank);
    onChanged();
  });
  const remove = useAction(async (conduit: Conduit) => {
    await api.delete('/api/compliance/conduits/{conduitId}', { path: { conduitId: conduit.id } });
    onChanged();
  });
  const zoneName = (id: string | null) => (id === null ? 'Outside the SuC' : (suc.zones.find((z) => z.id === id)?.name ?? id));
  const zoneSelect = (label: string, value: string, onChange: (value: string) => void) => (
    <div className="field">
      <label htmlFor={`conduit-${label}`}>{label}</label>
      <select id={`conduit-${label}`} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Outside the SuC</option>
        {suc.zones.map((z) => (
          <option key={z.id} value={z.id}>
            {z.name}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <section aria-labelledby="conduits-title">
      <h2 id="conduits-title">Conduits</h2>
      <ProblemNotice problem={remove.error} onDismiss={remove.clearError} />
      <DataTable
        label="Conduits"
        rows={suc.conduits}
        rowKey={(c) => c.id}
        empty="No conduits typed yet."
        columns={[
          { key: 'name', header: 'Conduit', rowHeader: true, cell: (c) => c.name },
          {
            key: 'ends',
            header: 'Between',
            cell: (c) => `${zoneName(c.fromZoneId)} ${c.direction === 'from-to' ? '→' : c.direction === 'to-from' ? '←' : '↔'} ${zoneName(c.toZoneId)}`,
          },
          { key: 'protocols', header: 'Protocols', cell: (c) => c.protocols || <span className="muted">—</span> },
          { key: 'ports', header: 'Ports', className: 'mono small', cell: (c) => c.ports || <span className="muted">—</span> },
          {
            key: 'initiator',
            header: 'Initiated by',
            hide: 'narrow',
            cell: (c) => (c.initiator === 'either' ? 'either end' : zoneName(c.initiator === 'from' ? c.fromZoneId : c.toZoneId)),
          },
          { key: 'crossing', header: 'What crosses', hide: 'medium', cell: (c) => c.crossing || <span className="muted">—</span> },
          mayWrite && {
            key: 'actions',
            header: 'Actions',
            actions: true,
            cell: (c) => (
              <ConfirmButton label="Delete" accessibleName={`Delete conduit ${c.name}`} question={`Delete ${c.name}?`} pending={remove.pending} onConfirm={() => remove.run(c)} />
            ),
          },
        ]}
      />
      {mayWrite && (
        <FormCard
          title="Add a conduit"
          level={3}
          onSubmit={() => void create.run()}
          submitLabel="Add conduit"
          pending={create.pending}
          error={create.error}
          onDismissError={create.clearError}
        >
          <div className="form-row">
            <Field label="Conduit name" required maxLength={120} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            {zoneSelect('From', form.fromZoneId, (fromZoneId) => setForm({ ...form, fromZoneId }))}
            {zoneSelect('To', form.toZoneId, (toZoneId) => setForm({ ...form, toZoneId }))}
          </div>
          <div className="form-row">
            <Field
              label="Protocols"
              maxLength={500}
              value={form.protocols}
              onChange={(e) => setForm({ ...form, protocols: e.target.value })}
              hint="For example: OPC UA over TLS."
            />
            <Field label="Ports" maxLength={500} value={form.ports} onChange={(e) => setForm({ ...form, ports: e.target.value })} hint="For example: 4840/tcp." />
            <div className="field">
              <label htmlFor="conduit-direction">Direction</label>
              <select id="conduit-direction" value={form.direction} onChange={(e) => setForm({ ...form, direction: e.target.value as Conduit['direction'] })}>
                {Object.entries(DIRECTIONS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="conduit-initiator">Initiated by</label>
              <select id="conduit-initiator" value={form.initiator} onChange={(e) => setForm({ ...form, initiator: e.target.value as Conduit['initiator'] })}>
                {Object.entries(INITIATORS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <Field label="What crosses it" maxLength={2000} value={form.crossing} onChange={(e) => setForm({ ...form, crossing: e.target.value })} hint="Data, commands, files." />
        </FormCard>
      )}
      <h3 id="derived-title">Flowgate's own conduits</h3>
      <p className="muted">Derived from the platform's configuration and the zones' devices and instances: not typed, always current.</p>
      <DataTable
        label="Flowgate's own conduits"
        rows={suc.derivedConduits}
        rowKey={(d) => d.key}
        columns={[
          { key: 'name', header: 'Conduit', rowHeader: true, cell: (d) => d.name },
          { key: 'protocols', header: 'Protocols', cell: (d) => d.protocols },
          { key: 'ports', header: 'Ports', className: 'mono small', cell: (d) => d.ports },
          { key: 'initiator', header: 'Initiated by', hide: 'narrow', cell: (d) => (d.initiator === 'from' ? d.fromLabel : d.initiator === 'to' ? d.toLabel : 'either end') },
          { key: 'crossing', header: 'What crosses', hide: 'medium', cell: (d) => d.crossing },
        ]}
      />
    </section>
  );
}

function HistorySection({ sucId, revision }: { sucId: string; revision: number }) {
  const { api } = useSession();
  const history = useResource(() => api.get('/api/compliance/sucs/{sucId}/history', { path: { sucId } }), `${sucId}:${revision}`);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ProblemNotice problem={history.error} />
      {history.data && (
        <DataTable
          label="History"
          rows={history.data.events}
          rowKey={(e) => e.seq}
          empty="No changes recorded."
          columns={[
            { key: 'when', header: 'When', nowrap: true, cell: (e) => formatDateTime(e.occurredAt, true) },
            { key: 'who', header: 'Who', cell: (e) => e.actorLabel ?? <span className="muted">system</span> },
            { key: 'event', header: 'Change', rowHeader: true, className: 'mono small', cell: (e) => e.event },
            // One line each: the whole event is in the tooltip and in the audit log.
            { key: 'details', header: 'Details', hide: 'narrow', truncate: true, className: 'mono small', cell: (e) => <span title={e.details}>{e.details}</span> },
          ]}
        />
      )}
    </section>
  );
}
