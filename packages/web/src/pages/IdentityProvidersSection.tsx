import { useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { CopyField } from '../components/CopyField.tsx';
import { Field } from '../components/Field.tsx';
import { NamedOptions } from '../components/NamedOptions.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { useAction, useResource } from '../hooks.ts';
import { can, TEAM_ROLES, type TeamRole } from '../policy.ts';
import { useSession } from '../session.tsx';
import type { IdentityProvider, ProviderTest, TestSignInReport } from '../types.ts';

type Mapping = { group: string; teamId: string; role: TeamRole };
type Draft = {
  name: string;
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  groupsClaim: string;
  emailDomains: string;
  adminGroup: string;
  mfaAcrValues: string;
  mappings: Mapping[];
  disableLocalPasswords: boolean;
  enabled: boolean;
};

const EMPTY: Draft = {
  name: '', issuerUrl: 'https://', clientId: '', clientSecret: '', scopes: 'openid email profile', groupsClaim: 'groups',
  emailDomains: '', adminGroup: '', mfaAcrValues: '', mappings: [], disableLocalPasswords: false, enabled: true,
};

const list = (text: string) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

function draftOf(p: IdentityProvider): Draft {
  return {
    name: p.name, issuerUrl: p.issuerUrl, clientId: p.clientId, clientSecret: '', scopes: p.scopes, groupsClaim: p.groupsClaim,
    emailDomains: p.emailDomains.join(', '), adminGroup: p.adminGroup ?? '', mfaAcrValues: p.mfaAcrValues.join(', '),
    mappings: p.mappings.map((m) => ({ ...m, role: m.role as TeamRole })), disableLocalPasswords: p.disableLocalPasswords, enabled: p.enabled,
  };
}

/**
 * The company's identity providers (OIDC): who signs in which email domains, and which of
 * their groups give which team role. docs/sso.md has the setup for each provider.
 */
export function IdentityProvidersSection() {
  const { api, session } = useSession();
  const providers = useResource(() => api.get<IdentityProvider[]>('/api/platform/identity-providers'), 'identity-providers');
  const teams = useResource(() => api.get<Array<{ id: string; name: string }>>('/api/platform/teams'), 'platform-teams');
  const mayWrite = can(session?.user?.platformRole, null, 'platform:settings:write');
  const [editing, setEditing] = useState<IdentityProvider | 'new' | null>(null);
  const [tests, setTests] = useState<Record<string, ProviderTest>>({});
  const [params] = useSearchParams();
  const report = useMemo(() => decodeReport(params.get('ssoTest')), [params]);
  const test = useAction(async (provider: IdentityProvider) => {
    const result = await api.post<ProviderTest>(`/api/platform/identity-providers/${encodeURIComponent(provider.id)}/test`);
    setTests((all) => ({ ...all, [provider.id]: result }));
  });
  const [scimTokens, setScimTokens] = useState<Record<string, { token: string; baseUrl: string }>>({});
  const scimToken = useAction(async (provider: IdentityProvider, issue: boolean) => {
    if (issue) {
      const issued = await api.post<{ token: string; baseUrl: string }>(`/api/platform/identity-providers/${encodeURIComponent(provider.id)}/scim-token`);
      setScimTokens((all) => ({ ...all, [provider.id]: issued }));
    } else {
      await api.delete(`/api/platform/identity-providers/${encodeURIComponent(provider.id)}/scim-token`);
      setScimTokens((all) => Object.fromEntries(Object.entries(all).filter(([id]) => id !== provider.id)));
    }
    providers.setData((all) => all?.map((p) => (p.id === provider.id ? { ...p, scimEnabled: issue } : p)) ?? null);
  });
  const remove = useAction(async (provider: IdentityProvider) => {
    await api.delete(`/api/platform/identity-providers/${encodeURIComponent(provider.id)}`);
    providers.setData((all) => all?.filter((p) => p.id !== provider.id) ?? null);
  });

  return (
    <section aria-labelledby="idp-title">
      <h2 id="idp-title">Sign-in providers</h2>
      <p className="muted">People of these email domains sign in through their company's identity provider (OpenID Connect); their groups give their team roles at every sign-in.</p>
      {providers.loading && !providers.data && <Loading what="sign-in providers" />}
      <ProblemNotice problem={providers.error} />
      <ProblemNotice problem={test.error ?? remove.error ?? scimToken.error} onDismiss={() => (test.clearError(), remove.clearError(), scimToken.clearError())} />
      {report && <TestSignInResult report={report} provider={providers.data?.find((p) => p.id === report.providerId) ?? null} teams={teams.data ?? []} />}
      {providers.data && providers.data.length === 0 && <p className="muted">None yet: everyone signs in with a password.</p>}
      {providers.data && providers.data.length > 0 && (
        <ul className="stack">
          {providers.data.map((p) => (
            <li key={p.id} className="card stack" aria-label={`Provider ${p.name}`}>
              <p>
                <strong>{p.name}</strong> {!p.enabled && <span className="badge badge-warn">off</span>}{' '}
                <span className="muted small mono">{p.issuerUrl}</span>
              </p>
              <p className="small">
                Domains: {p.emailDomains.join(', ') || 'any'} · {p.mappings.length} group mapping{p.mappings.length === 1 ? '' : 's'}
                {p.adminGroup && ` · platform admins: ${p.adminGroup}`}
                {p.disableLocalPasswords && ' · local passwords off for these domains'}
                {p.scimEnabled && ' · provisions people over SCIM'}
              </p>
              <CopyField label={`Redirect URI of ${p.name}`} value={p.redirectUri} hint="Register this at the identity provider." />
              {tests[p.id] && (
                <p className={`notice ${tests[p.id]!.ok ? 'notice-success' : 'notice-error'}`} role="status">
                  {tests[p.id]!.ok ? `It answers: issuer ${tests[p.id]!.issuer}, sign-in at ${tests[p.id]!.authorizationEndpoint}.` : tests[p.id]!.problem}
                  {tests[p.id]!.certificates?.map((c) => (
                    <span key={c.kid ?? c.subject} className={`block${c.daysLeft < 30 ? ' text-warn' : ''}`}>
                      {' '}Signing certificate {c.kid ?? c.subject} {c.daysLeft < 0 ? 'expired' : 'expires'} on {c.expiresAt.slice(0, 10)}
                      {c.daysLeft >= 0 && ` (in ${c.daysLeft} days)`}.
                    </span>
                  ))}
                </p>
              )}
              {scimTokens[p.id] && (
                <div className="notice stack" role="status">
                  <p>The SCIM token is shown this once: put it and the base URL into the provider's provisioning settings.</p>
                  <CopyField label={`SCIM base URL of ${p.name}`} value={scimTokens[p.id]!.baseUrl} />
                  <CopyField label={`SCIM token of ${p.name}`} value={scimTokens[p.id]!.token} />
                </div>
              )}
              {mayWrite && (
                <div className="button-group">
                  <button type="button" disabled={test.pending} onClick={() => void test.run(p)}>
                    Test sign-in
                  </button>
                  <a className="button" href={`/api/auth/sso/${encodeURIComponent(p.id)}/start?test=1`}>
                    Try a sign-in
                  </a>
                  <button type="button" disabled={scimToken.pending} onClick={() => void scimToken.run(p, true)}>
                    {p.scimEnabled ? 'New SCIM token' : 'Turn on SCIM'}
                  </button>
                  {p.scimEnabled && (
                    <ConfirmButton label="Turn off SCIM" accessibleName={`Turn off SCIM for ${p.name}`} question="Its SCIM token stops working; the people it provisioned stay." onConfirm={() => scimToken.run(p, false)} pending={scimToken.pending} />
                  )}
                  <button type="button" onClick={() => setEditing(p)}>
                    Edit
                  </button>
                  <ConfirmButton label="Remove" accessibleName={`Remove ${p.name}`} question={`Remove ${p.name}? Its people can no longer sign in through it.`} onConfirm={() => remove.run(p)} pending={remove.pending} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {mayWrite && editing === null && (
        <button type="button" onClick={() => setEditing('new')}>
          Add a provider
        </button>
      )}
      {editing !== null && teams.data && (
        <ProviderForm
          existing={editing === 'new' ? null : editing}
          teams={teams.data}
          onDone={(saved) => {
            if (saved) providers.setData((all) => (all?.some((p) => p.id === saved.id) ? all.map((p) => (p.id === saved.id ? saved : p)) : [...(all ?? []), saved]));
            setEditing(null);
          }}
        />
      )}
    </section>
  );
}

/** The report of a test sign-in comes back in the URL (base64url JSON). */
function decodeReport(text: string | null): TestSignInReport | null {
  if (!text) return null;
  try {
    const bytes = Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as TestSignInReport;
  } catch {
    return null;
  }
}

/** What the provider sent for the admin who tried it, and what a real sign-in would make of it. */
function TestSignInResult({ report, provider, teams }: { report: TestSignInReport; provider: IdentityProvider | null; teams: Array<{ id: string; name: string }> }) {
  const teamName = (id: string) => teams.find((t) => t.id === id)?.name ?? id;
  return (
    <div className={`notice stack ${report.problems.length ? 'notice-error' : 'notice-success'}`} role="status" aria-label="Test sign-in result">
      <p className="notice-title">
        Test sign-in {provider ? `through ${provider.name}` : ''}: {report.problems.length ? 'a sign-in would be refused' : 'a sign-in would pass'}
      </p>
      {report.problems.length > 0 && (
        <ul>
          {report.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <dl className="facts">
        <dt>Email</dt>
        <dd>{report.email ?? <span className="muted">none sent</span>}</dd>
        <dt>Subject</dt>
        <dd className="mono small">{report.subject}</dd>
        <dt>Groups ({report.groupsClaim})</dt>
        <dd>{report.groupCount ? `${report.groups.join(', ')}${report.groupCount > report.groups.length ? ` … ${report.groupCount} in all` : ''}` : <span className="muted">none</span>}</dd>
        <dt>Team roles</dt>
        <dd>{report.roles.length ? report.roles.map((r) => `${teamName(r.teamId)}: ${r.role}`).join(', ') : <span className="muted">none by mapping</span>}</dd>
        <dt>Platform admin</dt>
        <dd>{report.platformAdmin ? 'yes, by the admin group' : 'no'}</dd>
        <dt>MFA</dt>
        <dd>{report.mfaByProvider ? `done by the provider (amr ${report.amr.join(', ')}${report.acr ? `, acr ${report.acr}` : ''})` : 'not asserted: Flowgate asks for its own TOTP where the policy requires MFA'}</dd>
      </dl>
    </div>
  );
}

function ProviderForm({ existing, teams, onDone }: { existing: IdentityProvider | null; teams: Array<{ id: string; name: string }>; onDone: (saved: IdentityProvider | null) => void }) {
  const { api } = useSession();
  const [draft, setDraft] = useState<Draft>(existing ? draftOf(existing) : EMPTY);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const setMapping = (i: number, patch: Partial<Mapping>) => set('mappings', draft.mappings.map((m, j) => (j === i ? { ...m, ...patch } : m)));
  const save = useAction(async () => {
    const body = {
      name: draft.name, issuerUrl: draft.issuerUrl.trim(), clientId: draft.clientId.trim(), scopes: draft.scopes.trim(), groupsClaim: draft.groupsClaim.trim(),
      emailDomains: list(draft.emailDomains), adminGroup: draft.adminGroup.trim() || null, mfaAcrValues: list(draft.mfaAcrValues),
      mappings: draft.mappings.filter((m) => m.group.trim()), disableLocalPasswords: draft.disableLocalPasswords, enabled: draft.enabled,
      ...(draft.clientSecret ? { clientSecret: draft.clientSecret } : {}),
    };
    const saved = existing
      ? await api.put<IdentityProvider>(`/api/platform/identity-providers/${encodeURIComponent(existing.id)}`, body)
      : await api.post<IdentityProvider>('/api/platform/identity-providers', body);
    onDone(saved);
  });
  return (
    <form
      className="card stack"
      aria-label={existing ? `Edit ${existing.name}` : 'Add a sign-in provider'}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h3>{existing ? `Edit ${existing.name}` : 'Add a sign-in provider'}</h3>
      <Field label="Provider name" required maxLength={120} value={draft.name} onChange={(e) => set('name', e.target.value)} hint="Shown on the sign-in page: Continue with …" />
      <Field label="Issuer URL" required value={draft.issuerUrl} onChange={(e) => set('issuerUrl', e.target.value)} hint="Its metadata is at <issuer>/.well-known/openid-configuration." />
      <Field label="Client ID" required value={draft.clientId} onChange={(e) => set('clientId', e.target.value)} />
      <Field
        label="Client secret"
        type="password"
        autoComplete="off"
        required={!existing}
        value={draft.clientSecret}
        onChange={(e) => set('clientSecret', e.target.value)}
        hint={existing ? 'Kept encrypted and never shown. Leave empty to keep it.' : 'Kept encrypted and never shown again.'}
      />
      <Field label="Scopes" required value={draft.scopes} onChange={(e) => set('scopes', e.target.value)} />
      <Field label="Email domains" value={draft.emailDomains} onChange={(e) => set('emailDomains', e.target.value)} hint="Comma-separated, e.g. contoso.example. The sign-in page sends these to the provider." />
      <Field label="Groups claim" required value={draft.groupsClaim} onChange={(e) => set('groupsClaim', e.target.value)} hint="The ID token claim that lists the person's groups." />
      <Field label="Platform admin group" value={draft.adminGroup} onChange={(e) => set('adminGroup', e.target.value)} hint="Members of this group are platform admins. Empty: none by group." />
      <Field label="ACR values that mean MFA" value={draft.mfaAcrValues} onChange={(e) => set('mfaAcrValues', e.target.value)} hint="Besides an amr of mfa, otp, hwk…: the provider then did MFA and Flowgate does not ask again." />
      <fieldset className="stack">
        <legend>Group mappings</legend>
        {draft.mappings.length === 0 && <p className="muted small">No mappings: people sign in with the teams they were invited to.</p>}
        {draft.mappings.map((m, i) => (
          <div key={i} className="inline-fields">
            <Field label={`Group ${i + 1}`} value={m.group} onChange={(e) => setMapping(i, { group: e.target.value })} />
            <div className="field">
              <label htmlFor={`mapping-team-${i}`}>Team</label>
              <select id={`mapping-team-${i}`} value={m.teamId} onChange={(e) => setMapping(i, { teamId: e.target.value })}>
                <NamedOptions items={teams} />
              </select>
            </div>
            <div className="field">
              <label htmlFor={`mapping-role-${i}`}>Role</label>
              <select id={`mapping-role-${i}`} value={m.role} onChange={(e) => setMapping(i, { role: e.target.value as TeamRole })}>
                {TEAM_ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            </div>
            <button type="button" aria-label={`Remove mapping ${i + 1}`} onClick={() => set('mappings', draft.mappings.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        ))}
        <div>
          <button type="button" disabled={teams.length === 0} onClick={() => set('mappings', [...draft.mappings, { group: '', teamId: teams[0]?.id ?? '', role: 'viewer' }])}>
            Add a mapping
          </button>
        </div>
      </fieldset>
      <div className="checkbox">
        <input id="idp-disable-local" type="checkbox" checked={draft.disableLocalPasswords} onChange={(e) => set('disableLocalPasswords', e.target.checked)} />
        <label htmlFor="idp-disable-local">Local passwords off for these domains (platform admins keep theirs: break-glass)</label>
      </div>
      <div className="checkbox">
        <input id="idp-enabled" type="checkbox" checked={draft.enabled} onChange={(e) => set('enabled', e.target.checked)} />
        <label htmlFor="idp-enabled">Enabled</label>
      </div>
      <ProblemNotice problem={save.error} />
      <div className="button-group">
        <button type="submit" className="primary" disabled={save.pending}>
          {existing ? 'Save provider' : 'Add provider'}
        </button>
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
