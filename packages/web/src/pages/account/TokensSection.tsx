import { useState, type FormEvent } from 'react';
import { ConfirmButton } from '../../components/ConfirmButton.tsx';
import { CopyField } from '../../components/CopyField.tsx';
import { Field } from '../../components/Field.tsx';
import { Loading, ProblemNotice } from '../../components/ProblemNotice.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { When } from '../../components/When.tsx';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.tsx';
import type { ApiToken } from '../../types.ts';

interface TokenForm {
  name: string;
  access: 'read' | 'write';
  expiresInDays: number;
  allTeams: boolean;
  teamIds: string[];
}

const EMPTY: TokenForm = { name: '', access: 'read', expiresInDays: 30, allTeams: true, teamIds: [] };

export function TokensSection() {
  const { api, session } = useSession();
  const tokens = useResource(() => api.get('/api/account/tokens'), 'tokens');
  const [form, setForm] = useState<TokenForm>(EMPTY);
  const [shown, setShown] = useState<{ name: string; token: string } | null>(null);
  const teams = session?.teams ?? [];
  const teamName = (id: string) => teams.find((t) => t.id === id)?.name ?? id;

  const create = useAction(async () => {
    const reply = await api.post('/api/account/tokens', {
      body: {
        name: form.name,
        access: form.access,
        expiresInDays: form.expiresInDays,
        teamIds: form.allTeams ? null : form.teamIds,
      },
    });
    setShown({ name: reply.record.name, token: reply.token });
    setForm(EMPTY);
    tokens.setData((list) => [reply.record, ...(list ?? [])]);
  });
  const revoke = useAction(async (token: ApiToken) => {
    await api.delete('/api/account/tokens/{tokenId}', { path: { tokenId: token.id } });
    tokens.reload();
  });

  const active = tokens.data?.filter((t) => !t.revokedAt) ?? [];
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="muted">For scripts and integrations. A token acts as you, limited to read or read-write, and to the teams you pick.</p>
      {tokens.loading && !tokens.data && <Loading what="tokens" />}
      <ProblemNotice problem={tokens.error} />
      <ProblemNotice problem={revoke.error} onDismiss={revoke.clearError} />
      {tokens.data && (
        <DataTable
          label="Active API tokens"
          rows={active}
          rowKey={(token) => token.id}
          empty="No active tokens."
          columns={[
            { key: 'name', header: 'Name', rowHeader: true, cell: (token) => token.name },
            { key: 'prefix', header: 'Starts with', className: 'mono', cell: (token) => `${token.prefix}…` },
            { key: 'access', header: 'Access', nowrap: true, cell: (token) => (token.access === 'write' ? 'read-write' : 'read-only') },
            { key: 'teams', header: 'Teams', cell: (token) => (token.teamIds === null ? 'all your teams' : token.teamIds.map(teamName).join(', ') || 'none') },
            { key: 'expires', header: 'Expires', nowrap: true, cell: (token) => <When at={token.expiresAt} never="never" /> },
            { key: 'used', header: 'Last used', nowrap: true, cell: (token) => <When at={token.lastUsedAt} relative never="never" /> },
            {
              key: 'actions',
              header: '',
              actions: true,
              cell: (token) => (
                <ConfirmButton
                  label="Revoke"
                  accessibleName={`Revoke token ${token.name}`}
                  question="Revoke it now?"
                  pending={revoke.pending}
                  onConfirm={() => revoke.run(token)}
                />
              ),
            },
          ]}
        />
      )}

      {shown && (
        <div className="notice notice-success">
          <p>
            Token <strong>{shown.name}</strong> created. <strong>Copy it now: it is shown only once.</strong>
          </p>
          <CopyField label="Token" value={shown.token} />
          <button type="button" className="link-button" onClick={() => setShown(null)}>
            I have stored it, hide it
          </button>
        </div>
      )}

      <form
        className="card stack"
        aria-labelledby="new-token-title"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void create.run();
        }}
      >
        <h3 id="new-token-title">New token</h3>
        <div className="form-row">
          <Field label="Token name" required maxLength={120} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          <Field
            label="Expires in (days)"
            type="number"
            min={1}
            max={365}
            required
            value={form.expiresInDays}
            onChange={(e) => setForm({ ...form, expiresInDays: Number(e.target.value) })}
          />
        </div>
        <fieldset>
          <legend>Access</legend>
          <div className="checkbox">
            <input id="token-read" type="radio" name="token-access" checked={form.access === 'read'} onChange={() => setForm({ ...form, access: 'read' })} />
            <label htmlFor="token-read">Read-only</label>
          </div>
          <div className="checkbox">
            <input id="token-write" type="radio" name="token-access" checked={form.access === 'write'} onChange={() => setForm({ ...form, access: 'write' })} />
            <label htmlFor="token-write">Read-write (what your roles allow)</label>
          </div>
        </fieldset>
        <fieldset>
          <legend>Teams</legend>
          <div className="checkbox">
            <input id="token-all-teams" type="checkbox" checked={form.allTeams} onChange={(e) => setForm({ ...form, allTeams: e.target.checked })} />
            <label htmlFor="token-all-teams">All my teams</label>
          </div>
          {!form.allTeams &&
            teams.map((team) => (
              <div className="checkbox" key={team.id}>
                <input
                  id={`token-team-${team.id}`}
                  type="checkbox"
                  checked={form.teamIds.includes(team.id)}
                  onChange={(e) => setForm({ ...form, teamIds: e.target.checked ? [...form.teamIds, team.id] : form.teamIds.filter((id) => id !== team.id) })}
                />
                <label htmlFor={`token-team-${team.id}`}>{team.name}</label>
              </div>
            ))}
        </fieldset>
        <ProblemNotice problem={create.error} />
        <div>
          <button type="submit" className="primary" disabled={create.pending}>
            Create token
          </button>
        </div>
      </form>
    </section>
  );
}
