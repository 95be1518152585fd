import { useId, useState, type FormEvent } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { CopyField } from '../../components/CopyField.tsx';
import { Field } from '../../components/Field.tsx';
import { ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { ProvisioningToken } from '../../types.ts';
import { nameOf, type FleetData } from './fleet-data.ts';
import { NamedOptions } from '../../components/NamedOptions.tsx';

const EXPIRY_CHOICES: Array<[hours: number, label: string]> = [
  [1, '1 hour'],
  [8, '8 hours (a shift)'],
  [24, '24 hours'],
  [72, '3 days'],
  [168, '7 days'],
  [720, '30 days'],
];

const STATE_BADGE: Record<ProvisioningToken['state'], string> = { active: 'badge-ok', revoked: 'badge-bad', expired: '', used: '' };

/** The tokens that let a device join the team: listed for every role, made and revoked by owners (fleet:provision). */
export function ProvisioningSection({ teamId, fleet, mayProvision, onChanged }: { teamId: string; fleet: FleetData; mayProvision: boolean; onChanged: () => void }) {
  const { api } = useSession();
  const [made, setMade] = useState<string | null>(null);
  const revoke = useAction(async (token: ProvisioningToken) => {
    await api.post('/api/provisioning-tokens/{provisioningTokenId}/revoke', { path: { provisioningTokenId: token.id } });
    onChanged();
  });

  return (
    <section aria-labelledby="provisioning-title">
      <h2 id="provisioning-title">Provisioning tokens</h2>
      <p className="muted">A device presents a token once, to register into this team at a site. Tokens expire; a one-time code is spent by the first device.</p>
      <DataTable
        label="Provisioning tokens"
        rows={fleet.tokens}
        rowKey={(token) => token.id}
        rowProps={(token) => ({ 'data-token-id': token.id })}
        empty="No provisioning tokens yet."
        columns={[
          {
            key: 'token',
            header: 'Token',
            rowHeader: true,
            cell: (token) => (
              <>
                {token.description || <span className="muted">No description</span>}
                <span className="muted small block">
                  {token.singleUse ? 'one-time code' : `used ${token.uses} time${token.uses === 1 ? '' : 's'}`}, made <When at={token.createdAt} />
                </span>
              </>
            ),
          },
          { key: 'site', header: 'Site', cell: (token) => nameOf(fleet.sites, token.siteId) },
          { key: 'group', header: 'Group', cell: (token) => nameOf(fleet.groups, token.groupId) ?? <span className="muted">—</span> },
          { key: 'application', header: 'Application', cell: (token) => nameOf(fleet.applications, token.applicationId) ?? <span className="muted">—</span> },
          { key: 'state', header: 'State', cell: (token) => <span className={`badge ${STATE_BADGE[token.state]}`}>{token.state}</span> },
          { key: 'expires', header: 'Expires', nowrap: true, cell: (token) => <When at={token.expiresAt} /> },
          mayProvision && {
            key: 'actions',
            header: 'Actions',
            actions: true,
            cell: (token) =>
              token.allowed.revoke && (
                <ConfirmButton
                  label="Revoke"
                  accessibleName={`Revoke token ${token.description || token.id}`}
                  question="No device can register with it again. Revoke?"
                  confirmLabel="Yes, revoke"
                  pending={revoke.pending}
                  onConfirm={() => revoke.run(token)}
                />
              ),
          },
        ]}
      />
      <ProblemNotice problem={revoke.error} onDismiss={revoke.clearError} />
      {made && (
        <div className="card stack notice-success" role="status">
          <h3>Give this token to the device</h3>
          <p>It is shown this once. Whoever holds it can register a device into this team until it expires or you revoke it.</p>
          <CopyField label="Token" value={made} />
          <CopyField
            label="Command"
            value={`printf %s '${made}' | npx flowgate-agent --platform ${window.location.origin} --token-file -`}
            hint="Run it on the device, in the folder where the agent should keep its credential (device.json, owner-only)."
          />
          <div>
            <button type="button" onClick={() => setMade(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      {mayProvision && (
        <TokenForm
          teamId={teamId}
          fleet={fleet}
          onMade={(token) => {
            setMade(token);
            onChanged();
          }}
        />
      )}
    </section>
  );
}

function TokenForm({ teamId, fleet, onMade }: { teamId: string; fleet: FleetData; onMade: (token: string) => void }) {
  const { api } = useSession();
  const ids = { site: useId(), group: useId(), application: useId(), expiry: useId(), once: useId() };
  const [siteId, setSiteId] = useState('');
  const [groupId, setGroupId] = useState('');
  const [applicationId, setApplicationId] = useState('');
  const [description, setDescription] = useState('');
  const [hours, setHours] = useState(24);
  const [singleUse, setSingleUse] = useState(true);
  const create = useAction(async () => {
    const body = {
      siteId,
      ...(groupId ? { groupId } : {}),
      ...(applicationId ? { applicationId } : {}),
      description,
      expiresInHours: hours,
      singleUse,
    };
    const answer = await api.post('/api/teams/{teamId}/provisioning-tokens', { path: { teamId }, body });
    onMade(answer.token);
    setDescription('');
  });

  if (fleet.sites.length === 0) return <p className="notice">Add a site first: every device belongs to one.</p>;
  return (
    <form
      className="card stack"
      aria-labelledby="create-token-title"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void create.run();
      }}
    >
      <h3 id="create-token-title">Make a provisioning token</h3>
      <div className="form-row">
        <div className="field">
          <label htmlFor={ids.site}>Site for the device</label>
          <select id={ids.site} required value={siteId} onChange={(e) => setSiteId(e.target.value)}>
            <option value="">Choose a site…</option>
            <NamedOptions items={fleet.sites} />
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.group}>Device group</label>
          <select id={ids.group} value={groupId} onChange={(e) => setGroupId(e.target.value)}>
            <option value="">None</option>
            <NamedOptions items={fleet.groups} />
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.application}>Application to run</label>
          <select id={ids.application} value={applicationId} onChange={(e) => setApplicationId(e.target.value)}>
            <option value="">None yet</option>
            <NamedOptions items={fleet.applications} />
          </select>
        </div>
      </div>
      <div className="form-row">
        <Field
          label="Token description"
          maxLength={2000}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          hint="Who or what it is for, e.g. Commissioning line 3."
        />
        <div className="field">
          <label htmlFor={ids.expiry}>Expires after</label>
          <select id={ids.expiry} value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {EXPIRY_CHOICES.map(([h, label]) => (
              <option key={h} value={h}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="checkbox">
        <input id={ids.once} type="checkbox" checked={singleUse} onChange={(e) => setSingleUse(e.target.checked)} />
        <label htmlFor={ids.once}>One-time code: spent by the first device that registers</label>
      </div>
      <ProblemNotice problem={create.error} />
      <div>
        <button type="submit" className="primary" disabled={create.pending || !siteId}>
          Make token
        </button>
      </div>
    </form>
  );
}
