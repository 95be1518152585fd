import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { DataTable } from '../../components/DataTable.tsx';
import { Field } from '../../components/Field.tsx';
import { FormCard } from '../../components/FormCard.tsx';
import { usePageTitle } from '../../components/Layout.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { can } from '../../policy.ts';
import { useSession } from '../../session.tsx';
import type { ScopeEntry } from '../../types.ts';
import { KIND_LABELS } from './scope-kinds.ts';

/**
 * The compliance lead's start: every System under Consideration, a form for a new one, and what
 * is in no SuC at all (the unscoped remainder), which a scoping is done when it is empty or
 * every entry is out of scope on purpose.
 */
export function CompliancePage() {
  usePageTitle('Compliance');
  const { api, session } = useSession();
  const navigate = useNavigate();
  const mayWrite = can(session?.user?.platformRole, null, 'compliance:write');
  const sucs = useResource(() => api.get('/api/compliance/sucs'), 'sucs');
  const scope = useResource(() => api.get('/api/compliance/scope'), 'scope');
  const [name, setName] = useState('');
  const [owner, setOwner] = useState('');
  const create = useAction(async () => {
    const created = await api.post('/api/compliance/sucs', { body: { name, owner } });
    void navigate(`/compliance/sucs/${created.id}`);
  });
  const unscoped = (scope.data ?? []).filter((thing) => thing.sucIds.length === 0);

  return (
    <>
      <h1>Compliance</h1>
      <p className="muted">Systems under Consideration (IEC 62443-3-2): what is assessed together, split into zones with a target security level each, joined by conduits.</p>
      <section aria-labelledby="sucs-title">
        <h2 id="sucs-title">Systems under Consideration</h2>
        {sucs.loading && !sucs.data && <Loading what="the Systems under Consideration" />}
        <ProblemNotice problem={sucs.error} />
        {sucs.data && (
          <DataTable
            label="Systems under Consideration"
            rows={sucs.data}
            rowKey={(suc) => suc.id}
            empty="No System under Consideration yet."
            columns={[
              { key: 'name', header: 'Name', rowHeader: true, cell: (suc) => <Link to={`/compliance/sucs/${suc.id}`}>{suc.name}</Link> },
              { key: 'owner', header: 'Owner', cell: (suc) => suc.owner || <span className="muted">—</span> },
              { key: 'members', header: 'In scope', nowrap: true, cell: (suc) => suc.members },
              { key: 'zones', header: 'Zones', nowrap: true, cell: (suc) => suc.zones },
              { key: 'conduits', header: 'Conduits', nowrap: true, cell: (suc) => suc.conduits },
            ]}
          />
        )}
        {mayWrite && (
          <FormCard title="New System under Consideration" level={3} onSubmit={() => void create.run()} submitLabel="Create" pending={create.pending} error={create.error}>
            <div className="form-row">
              <Field label="Name" required maxLength={120} value={name} onChange={(e) => setName(e.target.value)} hint="A plant or a line: Line 3, Hamburg." />
              <Field label="Owner" maxLength={200} value={owner} onChange={(e) => setOwner(e.target.value)} hint="Who answers for it." />
            </div>
          </FormCard>
        )}
      </section>
      <section aria-labelledby="unscoped-title">
        <h2 id="unscoped-title">In no System under Consideration</h2>
        <p className="muted">Everything the platform manages that no SuC holds yet: scope it, or know why it stays out.</p>
        {scope.loading && !scope.data && <Loading what="the scope" />}
        <ProblemNotice problem={scope.error} />
        {scope.data && <ScopeTable label="Unscoped" rows={unscoped} empty="Everything is in at least one System under Consideration." />}
      </section>
    </>
  );
}

export function ScopeTable({ label, rows, empty, action }: { label: string; rows: ScopeEntry[]; empty: string; action?: (thing: ScopeEntry) => React.ReactNode }) {
  return (
    <DataTable
      label={label}
      rows={rows}
      rowKey={(thing) => `${thing.kind}:${thing.id}`}
      empty={empty}
      columns={[
        { key: 'kind', header: 'Kind', nowrap: true, cell: (thing) => KIND_LABELS[thing.kind] },
        { key: 'name', header: 'Name', rowHeader: true, cell: (thing) => thing.name },
        { key: 'team', header: 'Team', cell: (thing) => thing.teamName ?? <span className="muted">—</span> },
        { key: 'detail', header: 'Detail', hide: 'narrow', cell: (thing) => thing.detail || <span className="muted">—</span> },
        action && { key: 'actions', header: 'Actions', actions: true, cell: action },
      ]}
    />
  );
}
