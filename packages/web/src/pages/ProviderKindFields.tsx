import { useId, type ReactNode, type TextareaHTMLAttributes } from 'react';
import { Field } from '../components/Field.tsx';
import type { IdentityProvider, ProviderKind } from '../types.ts';

/**
 * The settings of each kind of sign-in provider in the provider form: what the admin types
 * for OpenID Connect, SAML 2.0 and LDAP, and the section of the request body each becomes.
 */

export const KIND_NAMES: Record<ProviderKind, string> = { oidc: 'OpenID Connect', saml: 'SAML 2.0', ldap: 'LDAP or Active Directory' };
export const KIND_BADGES: Record<ProviderKind, string> = { oidc: 'OIDC', saml: 'SAML', ldap: 'LDAP' };

type OidcDraft = { issuerUrl: string; clientId: string; clientSecret: string; scopes: string; groupsClaim: string };
type SamlDraft = {
  metadataUrl: string;
  metadataXml: string;
  idpEntityId: string;
  ssoUrl: string;
  certificates: string;
  emailAttribute: string;
  nameAttribute: string;
  groupsAttribute: string;
};
type LdapDraft = {
  url: string;
  startTls: boolean;
  caCertificate: string;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  userFilter: string;
  groupBase: string;
  groupFilter: string;
  groupNameAttribute: string;
  emailAttribute: string;
  nameAttribute: string;
  nestedGroups: boolean;
};
/** One draft per kind, so that switching the kind of a new provider back and forth loses nothing typed. */
export type KindDrafts = { oidc: OidcDraft; saml: SamlDraft; ldap: LdapDraft };

export const EMPTY_KIND_DRAFTS: KindDrafts = {
  oidc: { issuerUrl: 'https://', clientId: '', clientSecret: '', scopes: 'openid email profile', groupsClaim: 'groups' },
  saml: { metadataUrl: '', metadataXml: '', idpEntityId: '', ssoUrl: '', certificates: '', emailAttribute: 'email', nameAttribute: 'name', groupsAttribute: 'groups' },
  ldap: {
    url: '',
    startTls: true,
    caCertificate: '',
    bindDn: '',
    bindPassword: '',
    userBase: '',
    userFilter: '(|(mail={username})(userPrincipalName={username}))',
    groupBase: '',
    groupFilter: '(|(member={dn})(uniqueMember={dn}))',
    groupNameAttribute: 'cn',
    emailAttribute: 'mail',
    nameAttribute: 'displayName',
    nestedGroups: true,
  },
};

/** A provider's settings as drafts; its secret is never shown, so its field starts empty ("leave empty to keep"). */
export function kindDraftsOf(p: IdentityProvider): KindDrafts {
  // Field by field: the view has more (redirect URI, SP URLs, certificate summaries) than a request may send.
  if (p.kind === 'oidc') {
    const { issuerUrl, clientId, scopes, groupsClaim } = p.oidc;
    return { ...EMPTY_KIND_DRAFTS, oidc: { issuerUrl, clientId, clientSecret: '', scopes, groupsClaim } };
  }
  if (p.kind === 'saml') {
    const { idpEntityId, ssoUrl, emailAttribute, nameAttribute, groupsAttribute, idpMetadataUrl } = p.saml;
    return {
      ...EMPTY_KIND_DRAFTS,
      saml: { metadataUrl: idpMetadataUrl ?? '', metadataXml: '', idpEntityId, ssoUrl, certificates: '', emailAttribute, nameAttribute, groupsAttribute },
    };
  }
  const l = p.ldap;
  return {
    ...EMPTY_KIND_DRAFTS,
    ldap: {
      url: l.url,
      startTls: l.startTls,
      caCertificate: l.caCertificate ?? '',
      bindDn: l.bindDn,
      bindPassword: '',
      userBase: l.userBase,
      userFilter: l.userFilter,
      groupBase: l.groupBase,
      groupFilter: l.groupFilter,
      groupNameAttribute: l.groupNameAttribute,
      emailAttribute: l.emailAttribute,
      nameAttribute: l.nameAttribute,
      nestedGroups: l.nestedGroups,
    },
  };
}

/** The fields of a draft that are filled, trimmed: the empty ones are left to the server's default. */
function filled<K extends string>(fields: Record<K, string>): Partial<Record<K, string>> {
  return Object.fromEntries(
    Object.entries<string>(fields)
      .map(([k, v]) => [k, v.trim()])
      .filter(([, v]) => v),
  ) as Partial<Record<K, string>>;
}

/** The PEM certificates pasted into one text area (a bare base64 body counts as one). */
function certificatesIn(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? (text.trim() ? [text.trim()] : []);
}

/** The request body's section of the chosen kind, and only it; an empty secret is left out (kept, when editing). */
export function kindSection(kind: ProviderKind, drafts: KindDrafts): Record<string, unknown> {
  if (kind === 'oidc') {
    const { clientSecret, ...o } = drafts.oidc;
    return { oidc: { ...filled(o), ...(clientSecret ? { clientSecret } : {}) } };
  }
  if (kind === 'saml') {
    const { metadataUrl, metadataXml, idpEntityId, ssoUrl, certificates, ...attributes } = drafts.saml;
    const certs = certificatesIn(certificates);
    // The metadata's URL first (it is read again at every certificate check), then a pasted copy, then by hand.
    const idp = metadataUrl.trim()
      ? { idpMetadataUrl: metadataUrl.trim() }
      : metadataXml.trim()
        ? { metadataXml: metadataXml.trim() }
        : { ...filled({ idpEntityId, ssoUrl }), ...(certs.length ? { certificates: certs } : {}) };
    return { saml: { ...idp, ...filled(attributes) } };
  }
  const { startTls, nestedGroups, bindPassword, caCertificate, ...l } = drafts.ldap;
  return { ldap: { ...filled(l), startTls, nestedGroups, caCertificate: caCertificate.trim() || null, ...(bindPassword ? { bindPassword } : {}) } };
}

export function KindFields({ kind, drafts, onChange, editing }: { kind: ProviderKind; drafts: KindDrafts; onChange: (drafts: KindDrafts) => void; editing: boolean }) {
  if (kind === 'oidc') return <OidcFields draft={drafts.oidc} set={(patch) => onChange({ ...drafts, oidc: { ...drafts.oidc, ...patch } })} editing={editing} />;
  if (kind === 'saml') return <SamlFields draft={drafts.saml} set={(patch) => onChange({ ...drafts, saml: { ...drafts.saml, ...patch } })} editing={editing} />;
  return <LdapFields draft={drafts.ldap} set={(patch) => onChange({ ...drafts, ldap: { ...drafts.ldap, ...patch } })} editing={editing} />;
}

const secretHint = (editing: boolean) => (editing ? 'Kept encrypted and never shown. Leave empty to keep it.' : 'Kept encrypted and never shown again.');

function OidcFields({ draft, set, editing }: { draft: OidcDraft; set: (patch: Partial<OidcDraft>) => void; editing: boolean }) {
  return (
    <fieldset className="stack">
      <legend>OpenID Connect</legend>
      <Field
        label="Issuer URL"
        required
        value={draft.issuerUrl}
        onChange={(e) => set({ issuerUrl: e.target.value })}
        hint="Its metadata is at <issuer>/.well-known/openid-configuration."
      />
      <Field label="Client ID" required value={draft.clientId} onChange={(e) => set({ clientId: e.target.value })} />
      <Field
        label="Client secret"
        type="password"
        autoComplete="off"
        required={!editing}
        value={draft.clientSecret}
        onChange={(e) => set({ clientSecret: e.target.value })}
        hint={secretHint(editing)}
      />
      <Field label="Scopes" required value={draft.scopes} onChange={(e) => set({ scopes: e.target.value })} />
      <Field
        label="Groups claim"
        required
        value={draft.groupsClaim}
        onChange={(e) => set({ groupsClaim: e.target.value })}
        hint="The ID token claim that lists the person's groups."
      />
    </fieldset>
  );
}

function SamlFields({ draft, set, editing }: { draft: SamlDraft; set: (patch: Partial<SamlDraft>) => void; editing: boolean }) {
  const fromUrl = Boolean(draft.metadataUrl.trim());
  const byHand = !fromUrl && !draft.metadataXml.trim();
  return (
    <fieldset className="stack">
      <legend>SAML 2.0</legend>
      <Field
        label="IdP metadata URL"
        value={draft.metadataUrl}
        onChange={(e) => set({ metadataUrl: e.target.value })}
        hint="Where the identity provider publishes its metadata (AD FS: /FederationMetadata/2007-06/FederationMetadata.xml). Read now and every 6 hours, so a new signing certificate is taken when the IdP rolls its key."
      />
      <TextAreaField
        disabled={fromUrl}
        label="IdP metadata XML"
        rows={5}
        value={draft.metadataXml}
        onChange={(e) => set({ metadataXml: e.target.value })}
        hint={`The identity provider's federation metadata (its EntityDescriptor): the entity ID, sign-in URL and certificates are read from it. Or leave it empty and give them by hand below.${editing ? ' Paste it again to take a new certificate.' : ''}`}
      />
      <Field
        label="IdP entity ID"
        required={byHand}
        disabled={!byHand}
        value={draft.idpEntityId}
        onChange={(e) => set({ idpEntityId: e.target.value })}
        hint="The Issuer of its assertions."
      />
      <Field
        label="IdP sign-in URL"
        required={byHand}
        disabled={!byHand}
        value={draft.ssoUrl}
        onChange={(e) => set({ ssoUrl: e.target.value })}
        hint="Its SingleSignOnService for the HTTP-Redirect binding."
      />
      <TextAreaField
        label="IdP signing certificate"
        rows={4}
        required={byHand && !editing}
        disabled={!byHand}
        value={draft.certificates}
        onChange={(e) => set({ certificates: e.target.value })}
        hint={`PEM; several one after the other while it rolls its key over.${editing ? ' Leave empty to keep the stored ones.' : ''}`}
      />
      <Field
        label="Email attribute"
        value={draft.emailAttribute}
        onChange={(e) => set({ emailAttribute: e.target.value })}
        hint="When an assertion lacks it, its emailAddress NameID is the email."
      />
      <Field label="Name attribute" value={draft.nameAttribute} onChange={(e) => set({ nameAttribute: e.target.value })} />
      <Field
        label="Groups attribute"
        value={draft.groupsAttribute}
        onChange={(e) => set({ groupsAttribute: e.target.value })}
        hint="The attribute that lists the person's groups."
      />
    </fieldset>
  );
}

function LdapFields({ draft, set, editing }: { draft: LdapDraft; set: (patch: Partial<LdapDraft>) => void; editing: boolean }) {
  // ldaps:// is TLS from the start; ldap:// takes StartTLS: the checkbox follows a change of scheme.
  const setUrl = (url: string) => {
    const scheme = (u: string) => /^(ldaps?):\/\//i.exec(u.trim())?.[1]?.toLowerCase();
    const now = scheme(url);
    set(now && now !== scheme(draft.url) ? { url, startTls: now === 'ldap' } : { url });
  };
  return (
    <fieldset className="stack">
      <legend>LDAP or Active Directory</legend>
      <Field
        label="Directory URL"
        required
        placeholder="ldaps://dc1.corp.example:636"
        value={draft.url}
        onChange={(e) => setUrl(e.target.value)}
        hint="ldaps://host:636, or ldap://host:389 with StartTLS."
      />
      <Check
        label="Use StartTLS"
        checked={draft.startTls}
        onChange={(startTls) => set({ startTls })}
        hint="For ldap:// URLs: the connection turns to TLS before any password is sent. Off for ldaps://."
      />
      <TextAreaField
        label="CA certificate"
        rows={4}
        value={draft.caCertificate}
        onChange={(e) => set({ caCertificate: e.target.value })}
        hint="PEM of the CA that signed the directory's certificate, when it is not a public one. Optional."
      />
      <Field
        label="Service account DN"
        required
        value={draft.bindDn}
        onChange={(e) => set({ bindDn: e.target.value })}
        hint="The account that searches for people and their groups, e.g. CN=flowgate,OU=Service,DC=corp,DC=example."
      />
      <Field
        label="Service account password"
        type="password"
        autoComplete="off"
        required={!editing}
        value={draft.bindPassword}
        onChange={(e) => set({ bindPassword: e.target.value })}
        hint={secretHint(editing)}
      />
      <Field label="User search base" required value={draft.userBase} onChange={(e) => set({ userBase: e.target.value })} hint="e.g. OU=People,DC=corp,DC=example." />
      <Field
        label="User filter"
        className="mono"
        value={draft.userFilter}
        onChange={(e) => set({ userFilter: e.target.value })}
        hint="{username} is what the person typed at sign-in (escaped)."
      />
      <Field label="Group search base" value={draft.groupBase} onChange={(e) => set({ groupBase: e.target.value })} hint="Empty: the user search base." />
      <Field label="Group filter" className="mono" value={draft.groupFilter} onChange={(e) => set({ groupFilter: e.target.value })} hint="{dn} is the person's DN (escaped)." />
      <Field
        label="Group name attribute"
        value={draft.groupNameAttribute}
        onChange={(e) => set({ groupNameAttribute: e.target.value })}
        hint="What the group mappings below name a group by."
      />
      <Field label="Email attribute" value={draft.emailAttribute} onChange={(e) => set({ emailAttribute: e.target.value })} />
      <Field label="Name attribute" value={draft.nameAttribute} onChange={(e) => set({ nameAttribute: e.target.value })} />
      <Check
        label="Follow nested groups"
        checked={draft.nestedGroups}
        onChange={(nestedGroups) => set({ nestedGroups })}
        hint="Groups that are members of groups count too (Active Directory's nesting)."
      />
    </fieldset>
  );
}

function TextAreaField({ label, hint, ...area }: { label: string; hint?: ReactNode } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} className="mono" spellCheck={false} aria-describedby={hint ? `${id}-hint` : undefined} {...area} />
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

function Check({ label, hint, checked, onChange }: { label: string; hint: string; checked: boolean; onChange: (checked: boolean) => void }) {
  const id = useId();
  return (
    <div>
      <div className="checkbox">
        <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-describedby={`${id}-hint`} />
        <label htmlFor={id}>{label}</label>
      </div>
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
    </div>
  );
}
