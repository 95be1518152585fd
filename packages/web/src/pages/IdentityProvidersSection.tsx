import { useId, useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { apiUrl } from '../api/client.ts';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { CopyField } from '../components/CopyField.tsx';
import { Field } from '../components/Field.tsx';
import { NamedOptions } from '../components/NamedOptions.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { useAction, useResource } from '../hooks.ts';
import { can, TEAM_ROLES, type TeamRole } from '../policy.ts';
import { useSession } from '../session.tsx';
import type { DirectoryTestReply, IdentityProvider, ProviderCertificate, ProviderKind, ProviderTest, TestSignInReport } from '../types.ts';
import { EMPTY_KIND_DRAFTS, KIND_BADGES, KIND_NAMES, KindFields, kindDraftsOf, kindSection, type KindDrafts } from './ProviderKindFields.tsx';

type Mapping = { group: string; teamId: string; role: TeamRole };
type Team = { id: string; name: string };
type Draft = {
  kind: ProviderKind;
  name: string;
  settings: KindDrafts;
  emailDomains: string;
  adminGroup: string;
  mfaAcrValues: string;
  mappings: Mapping[];
  disableLocalPasswords: boolean;
  enabled: boolean;
};

const EMPTY: Draft = {
  kind: 'oidc',
  name: '',
  settings: EMPTY_KIND_DRAFTS,
  emailDomains: '',
  adminGroup: '',
  mfaAcrValues: '',
  mappings: [],
  disableLocalPasswords: false,
  enabled: true,
};

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function draftOf(p: IdentityProvider): Draft {
  return {
    kind: p.kind,
    name: p.name,
    settings: kindDraftsOf(p),
    emailDomains: p.emailDomains.join(', '),
    adminGroup: p.adminGroup ?? '',
    mfaAcrValues: p.mfaAcrValues.join(', '),
    mappings: p.mappings.map((m) => ({ ...m, role: m.role as TeamRole })),
    disableLocalPasswords: p.disableLocalPasswords,
    enabled: p.enabled,
  };
}

/** A certificate expiring within this many days is shown as a warning (the platform alert's threshold). */
const CERTIFICATE_WARNING_DAYS = 30;

/**
 * The company's identity providers (OpenID Connect, SAML 2.0, LDAP): who signs in which email
 * domains, and which of their groups give which team role. docs/sso.md has the setup for each provider.
 */
export function IdentityProvidersSection() {
  const { api, session } = useSession();
  const providers = useResource(() => api.get('/api/platform/identity-providers'), 'identity-providers');
  const teams = useResource(() => api.get('/api/platform/teams'), 'platform-teams');
  const mayWrite = can(session?.user?.platformRole, null, 'platform:settings:write');
  const [editing, setEditing] = useState<IdentityProvider | 'new' | null>(null);
  const [tests, setTests] = useState<Record<string, ProviderTest>>({});
  const [tryingDirectory, setTryingDirectory] = useState<string | null>(null);
  const [params] = useSearchParams();
  const report = useMemo(() => decodeReport(params.get('ssoTest')), [params]);
  const test = useAction(async (provider: IdentityProvider) => {
    const result = await api.post('/api/platform/identity-providers/{providerId}/test', { path: { providerId: provider.id } });
    setTests((all) => ({ ...all, [provider.id]: result }));
  });
  const [scimTokens, setScimTokens] = useState<Record<string, { token: string; baseUrl: string }>>({});
  const scimToken = useAction(async (provider: IdentityProvider, issue: boolean) => {
    if (issue) {
      const issued = await api.post('/api/platform/identity-providers/{providerId}/scim-token', { path: { providerId: provider.id } });
      setScimTokens((all) => ({ ...all, [provider.id]: issued }));
    } else {
      await api.delete('/api/platform/identity-providers/{providerId}/scim-token', { path: { providerId: provider.id } });
      setScimTokens((all) => Object.fromEntries(Object.entries(all).filter(([id]) => id !== provider.id)));
    }
    providers.setData((all) => all?.map((p) => (p.id === provider.id ? { ...p, scimEnabled: issue } : p)) ?? null);
  });
  const remove = useAction(async (provider: IdentityProvider) => {
    await api.delete('/api/platform/identity-providers/{providerId}', { path: { providerId: provider.id } });
    providers.setData((all) => all?.filter((p) => p.id !== provider.id) ?? null);
  });

  return (
    <section aria-labelledby="idp-title">
      <h2 id="idp-title">Sign-in providers</h2>
      <p className="muted">
        People of these email domains sign in through their company's identity provider (OpenID Connect or SAML 2.0) or with their directory password (LDAP, Active Directory);
        their groups give their team roles at every sign-in.
      </p>
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
                <strong>{p.name}</strong> <span className="badge">{KIND_BADGES[p.kind]}</span> {!p.enabled && <span className="badge badge-warn">off</span>}{' '}
                <span className="muted small mono">{p.kind === 'oidc' ? p.oidc.issuerUrl : p.kind === 'saml' ? p.saml.idpEntityId : p.ldap.url}</span>
              </p>
              <p className="small">
                Domains: {p.emailDomains.join(', ') || 'any'} · {p.mappings.length} group mapping{p.mappings.length === 1 ? '' : 's'}
                {p.adminGroup && ` · platform admins: ${p.adminGroup}`}
                {p.disableLocalPasswords && ' · local passwords off for these domains'}
                {p.scimEnabled && ' · provisions people over SCIM'}
              </p>
              <ProviderSetup provider={p} />
              {tests[p.id] && (
                <div className={`notice ${tests[p.id]!.ok ? 'notice-success' : 'notice-error'}`} role="status" aria-label={`Connection test of ${p.name}`}>
                  <p>{tests[p.id]!.ok ? `It answers${tests[p.id]!.details?.length ? `: ${tests[p.id]!.details!.join(', ')}` : ''}.` : tests[p.id]!.problem}</p>
                  <Certificates certificates={tests[p.id]!.certificates ?? []} what={p.kind === 'ldap' ? 'TLS certificate' : 'Signing certificate'} />
                </div>
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
                    Test connection
                  </button>
                  {p.kind === 'ldap' ? (
                    <button type="button" aria-expanded={tryingDirectory === p.id} onClick={() => setTryingDirectory(tryingDirectory === p.id ? null : p.id)}>
                      Try a sign-in
                    </button>
                  ) : (
                    <a className="button" href={apiUrl('/api/auth/sso/{providerId}/start', { path: { providerId: p.id }, query: { test: 1 } })}>
                      Try a sign-in
                    </a>
                  )}
                  <button type="button" disabled={scimToken.pending} onClick={() => void scimToken.run(p, true)}>
                    {p.scimEnabled ? 'New SCIM token' : 'Turn on SCIM'}
                  </button>
                  {p.scimEnabled && (
                    <ConfirmButton
                      label="Turn off SCIM"
                      accessibleName={`Turn off SCIM for ${p.name}`}
                      question="Its SCIM token stops working; the people it provisioned stay."
                      onConfirm={() => scimToken.run(p, false)}
                      pending={scimToken.pending}
                    />
                  )}
                  <button type="button" onClick={() => setEditing(p)}>
                    Edit
                  </button>
                  <ConfirmButton
                    label="Remove"
                    accessibleName={`Remove ${p.name}`}
                    question={`Remove ${p.name}? Its people can no longer sign in through it.`}
                    onConfirm={() => remove.run(p)}
                    pending={remove.pending}
                  />
                </div>
              )}
              {mayWrite && p.kind === 'ldap' && tryingDirectory === p.id && <DirectoryTrySignIn provider={p} teams={teams.data ?? []} onClose={() => setTryingDirectory(null)} />}
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

/** What the identity provider needs of this platform, per kind: the addresses to register there, and the certificates it signs with. */
function ProviderSetup({ provider: p }: { provider: IdentityProvider }) {
  if (p.kind === 'oidc') return <CopyField label={`Redirect URI of ${p.name}`} value={p.oidc.redirectUri} hint="Register this at the identity provider." />;
  if (p.kind === 'ldap') {
    return (
      <p className="small">
        {p.ldap.url.toLowerCase().startsWith('ldaps:') ? 'TLS' : p.ldap.startTls ? 'StartTLS' : 'no TLS (loopback)'} · searches <span className="mono">{p.ldap.userBase}</span> as{' '}
        <span className="mono">{p.ldap.bindDn}</span>
        {p.ldap.nestedGroups && ' · follows nested groups'}
      </p>
    );
  }
  return (
    <div className="stack">
      <p className="small">The IdP needs these (or imports them from the metadata URL):</p>
      <CopyField label={`SP entity ID of ${p.name}`} value={p.saml.spEntityId} hint="The audience of its assertions." />
      <CopyField label={`ACS URL of ${p.name}`} value={p.saml.acsUrl} hint="Assertion Consumer Service, HTTP-POST binding." />
      <CopyField label={`SP metadata URL of ${p.name}`} value={p.saml.metadataUrl} />
      <Certificates certificates={p.saml.certificates} what="IdP signing certificate" />
    </div>
  );
}

function Certificates({ certificates, what }: { certificates: ProviderCertificate[]; what: string }) {
  if (!certificates.length) return null;
  return (
    <ul className="small">
      {certificates.map((c) => (
        <li key={c.kid ?? c.subject} className={c.daysLeft < CERTIFICATE_WARNING_DAYS ? 'text-warn' : undefined}>
          {what} {c.kid ?? c.subject} {c.daysLeft < 0 ? 'expired' : 'expires'} on {c.expiresAt.slice(0, 10)}
          {c.daysLeft >= 0 && ` (in ${c.daysLeft} days)`}.
        </li>
      ))}
    </ul>
  );
}

/** A directory has no page of its own to try a sign-in on: the admin types someone's name and password here. */
function DirectoryTrySignIn({ provider, teams, onClose }: { provider: IdentityProvider; teams: Team[]; onClose: () => void }) {
  const { api } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [reply, setReply] = useState<DirectoryTestReply | null>(null);
  const attempt = useAction(async () => {
    setReply(null);
    const answer = await api.post('/api/platform/identity-providers/{providerId}/test-sign-in', {
      path: { providerId: provider.id },
      body: { username: username.trim(), password },
    });
    setPassword('');
    setReply(answer);
  });
  return (
    <form
      className="stack"
      aria-label={`Try a sign-in through ${provider.name}`}
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        void attempt.run();
      }}
    >
      <p className="small">The directory checks this name and password as a sign-in would; nobody is signed in and the password is not kept.</p>
      <Field
        label="User name"
        autoComplete="off"
        required
        maxLength={320}
        value={username}
        onChange={(e) => setUsername(e.target.value)}
        hint="As they type it at sign-in: their email, or what the user filter matches."
      />
      <Field label="Password" type="password" autoComplete="off" required maxLength={1000} value={password} onChange={(e) => setPassword(e.target.value)} />
      <ProblemNotice problem={attempt.error} />
      {reply && 'problem' in reply && (
        <p className="notice notice-error" role="alert">
          {reply.problem}
        </p>
      )}
      {reply && !('problem' in reply) && <TestSignInResult report={reply} provider={provider} teams={teams} />}
      <div className="button-group">
        <button type="submit" className="primary" disabled={attempt.pending}>
          Check this sign-in
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}

/** What the provider sent for the admin who tried it, and what a real sign-in would make of it. */
function TestSignInResult({ report, provider, teams }: { report: Omit<TestSignInReport, 'providerId'>; provider: IdentityProvider | null; teams: Team[] }) {
  const teamName = (id: string) => teams.find((t) => t.id === id)?.name ?? id;
  const asserted = [report.amr.length ? `amr ${report.amr.join(', ')}` : '', report.acr ? `${provider?.kind === 'saml' ? 'AuthnContextClassRef' : 'acr'} ${report.acr}` : '']
    .filter(Boolean)
    .join('; ');
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
      {/* A refused answer names nobody: only its problem is shown. */}
      {report.subject && (
        <dl className="facts">
          <dt>Email</dt>
          <dd>{report.email ?? <span className="muted">none sent</span>}</dd>
          <dt>Subject</dt>
          <dd className="mono small">{report.subject}</dd>
          <dt>Groups (from {report.groupsFrom})</dt>
          <dd>
            {report.groupCount ? (
              `${report.groups.join(', ')}${report.groupCount > report.groups.length ? ` … ${report.groupCount} in all` : ''}`
            ) : (
              <span className="muted">none</span>
            )}
          </dd>
          <dt>Team roles</dt>
          <dd>{report.roles.length ? report.roles.map((r) => `${teamName(r.teamId)}: ${r.role}`).join(', ') : <span className="muted">none by mapping</span>}</dd>
          <dt>Platform admin</dt>
          <dd>{report.platformAdmin ? 'yes, by the admin group' : 'no'}</dd>
          <dt>MFA</dt>
          <dd>{report.mfaByProvider ? `done by the provider${asserted ? ` (${asserted})` : ''}` : 'not asserted: Flowgate asks for its own TOTP where the policy requires MFA'}</dd>
        </dl>
      )}
    </div>
  );
}

function ProviderForm({ existing, teams, onDone }: { existing: IdentityProvider | null; teams: Team[]; onDone: (saved: IdentityProvider | null) => void }) {
  const { api } = useSession();
  const kindId = useId();
  const [draft, setDraft] = useState<Draft>(existing ? draftOf(existing) : EMPTY);
  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const setMapping = (i: number, patch: Partial<Mapping>) =>
    set(
      'mappings',
      draft.mappings.map((m, j) => (j === i ? { ...m, ...patch } : m)),
    );
  const save = useAction(async () => {
    const body = {
      kind: draft.kind,
      name: draft.name,
      emailDomains: list(draft.emailDomains),
      adminGroup: draft.adminGroup.trim() || null,
      // A directory asserts no MFA: its sign-ins get Flowgate's own second factor where the policy asks for one.
      mfaAcrValues: draft.kind === 'ldap' ? [] : list(draft.mfaAcrValues),
      mappings: draft.mappings.filter((m) => m.group.trim()),
      disableLocalPasswords: draft.disableLocalPasswords,
      enabled: draft.enabled,
      ...kindSection(draft.kind, draft.settings),
    };
    const saved = existing
      ? await api.put('/api/platform/identity-providers/{providerId}', { path: { providerId: existing.id }, body: body })
      : await api.post('/api/platform/identity-providers', { body: body });
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
      <fieldset disabled={existing !== null} aria-describedby={existing ? `${kindId}-hint` : undefined}>
        <legend>Kind</legend>
        {(['oidc', 'saml', 'ldap'] as const).map((kind) => (
          <div key={kind} className="checkbox">
            <input id={`${kindId}-${kind}`} type="radio" name={`${kindId}-kind`} checked={draft.kind === kind} onChange={() => set('kind', kind)} />
            <label htmlFor={`${kindId}-${kind}`}>{KIND_NAMES[kind]}</label>
          </div>
        ))}
        {existing && (
          <p className="hint" id={`${kindId}-hint`}>
            Fixed once added: for another kind, add a new provider.
          </p>
        )}
      </fieldset>
      <Field
        label="Provider name"
        required
        maxLength={120}
        value={draft.name}
        onChange={(e) => set('name', e.target.value)}
        hint={draft.kind === 'ldap' ? 'Shown on the sign-in page: Sign in with your … directory password.' : 'Shown on the sign-in page: Continue with …'}
      />
      <Field
        label="Email domains"
        value={draft.emailDomains}
        onChange={(e) => set('emailDomains', e.target.value)}
        hint={
          draft.kind === 'ldap'
            ? 'Comma-separated, e.g. contoso.example. Their passwords are checked against the directory.'
            : 'Comma-separated, e.g. contoso.example. The sign-in page sends these to the provider.'
        }
      />
      <KindFields kind={draft.kind} drafts={draft.settings} onChange={(settings) => set('settings', settings)} editing={existing !== null} />
      <Field
        label="Platform admin group"
        value={draft.adminGroup}
        onChange={(e) => set('adminGroup', e.target.value)}
        hint="Members of this group are platform admins. Empty: none by group."
      />
      {draft.kind !== 'ldap' && (
        <Field
          label="ACR / AuthnContext values that mean MFA"
          value={draft.mfaAcrValues}
          onChange={(e) => set('mfaAcrValues', e.target.value)}
          hint="OIDC acr or SAML AuthnContextClassRef values, comma-separated. Besides an amr of mfa, otp, hwk…: the provider then did MFA and Flowgate does not ask again."
        />
      )}
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
            <button
              type="button"
              aria-label={`Remove mapping ${i + 1}`}
              onClick={() =>
                set(
                  'mappings',
                  draft.mappings.filter((_, j) => j !== i),
                )
              }
            >
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
