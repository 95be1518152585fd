import { useEffect, useState, type FormEvent } from 'react';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { CopyField } from '../components/CopyField.tsx';
import { usePageTitle } from '../components/Layout.tsx';
import { Loading, ProblemNotice } from '../components/ProblemNotice.tsx';
import { DataTable } from '../components/DataTable.tsx';
import { When } from '../components/When.tsx';
import { formatDateTime } from '../format.ts';
import { useAction, useResource } from '../hooks.ts';
import { can } from '../policy.ts';
import { useSession } from '../session.tsx';
import type { PlatformSettings, PlatformUser, User } from '../types.ts';
import { IdentityProvidersSection } from './IdentityProvidersSection.tsx';
import { IsolationSummary } from './instances/ResourcesSection.tsx';

/**
 * Platform administration. The page asks the server even for non-admins, so a person
 * who lands here sees the server's own refusal rather than a guess of the UI.
 */
export function PlatformPage() {
  usePageTitle('Platform');
  const { session } = useSession();
  return (
    <>
      <h1>Platform</h1>
      {session?.user?.platformRole !== 'admin' && (
        <p className="notice" role="note">
          Platform administration is for platform admins. Below is what the server answered you.
        </p>
      )}
      <AlertsSection />
      <SettingsSection />
      <IsolationSection />
      <IdentityProvidersSection />
      <UsersSection />
    </>
  );
}

/** What holds hosted instances apart on this machine (SR 5.4), as the platform made it at start. */
function IsolationSection() {
  const { api } = useSession();
  const isolation = useResource(() => api.get('/api/platform/isolation'), 'isolation');
  return (
    <section aria-labelledby="isolation-title">
      <h2 id="isolation-title">Hosted instance isolation</h2>
      <div className="card stack">{isolation.data ? <IsolationSummary isolation={isolation.data} /> : <ProblemNotice problem={isolation.error} />}</div>
    </section>
  );
}

function AlertsSection() {
  const { api } = useSession();
  const alerts = useResource(() => api.get('/api/platform/alerts'), 'alerts');
  if (!alerts.data || alerts.data.length === 0) return null;
  return (
    <section aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      <ul className="stack">
        {alerts.data.map((alert) => (
          <li key={alert.kind} className="notice notice-error">
            <p className="notice-title">{alert.kind}</p>
            <p>{alert.message}</p>
            <p className="small muted">
              Since {formatDateTime(alert.since)}, last seen {formatDateTime(alert.lastSeen)}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SettingsSection() {
  const { api, session } = useSession();
  const settings = useResource(() => api.get('/api/platform/settings'), 'settings');
  const [form, setForm] = useState<PlatformSettings>({ loginBanner: '', requireMfa: false });
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (settings.data) setForm(settings.data);
  }, [settings.data]);
  const save = useAction(async () => {
    setSaved(false);
    const next = await api.patch('/api/platform/settings', { body: form });
    settings.setData(() => next);
    setSaved(true);
  });
  const mayWrite = can(session?.user?.platformRole, null, 'platform:settings:write');

  return (
    <section aria-labelledby="platform-settings-title">
      <h2 id="platform-settings-title">Settings</h2>
      {settings.loading && !settings.data && <Loading what="settings" />}
      <ProblemNotice problem={settings.error} />
      {!settings.error && (
        <form
          className="card stack"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void save.run();
          }}
        >
          <div className="field">
            <label htmlFor="login-banner">Login banner</label>
            <textarea
              id="login-banner"
              rows={4}
              maxLength={4000}
              value={form.loginBanner}
              disabled={!mayWrite}
              aria-describedby="login-banner-hint"
              onChange={(e) => setForm({ ...form, loginBanner: e.target.value })}
            />
            <p className="hint" id="login-banner-hint">
              Shown above the sign-in form: the system use notice (IEC 62443-3-3 SR 1.12). Leave empty for none.
            </p>
          </div>
          <div className="checkbox">
            <input id="platform-require-mfa" type="checkbox" checked={form.requireMfa} disabled={!mayWrite} onChange={(e) => setForm({ ...form, requireMfa: e.target.checked })} />
            <label htmlFor="platform-require-mfa">Require MFA for everyone on the platform</label>
          </div>
          <p className="hint">People without MFA are asked to set it up at their next sign-in.</p>
          <ProblemNotice problem={save.error} />
          {saved && (
            <p className="notice notice-success" role="status">
              Settings saved.
            </p>
          )}
          {mayWrite && (
            <div>
              <button type="submit" className="primary" disabled={save.pending}>
                Save settings
              </button>
            </div>
          )}
        </form>
      )}
    </section>
  );
}

function UsersSection() {
  const { api, session } = useSession();
  const users = useResource(() => api.get('/api/platform/users'), 'users');
  const update = useAction(async (user: PlatformUser, patch: { status?: User['status']; platformRole?: User['platformRole']; unlock?: true; resetMfa?: true }) => {
    await api.patch('/api/platform/users/{userId}', { path: { userId: user.id }, body: patch });
    // Reloaded, not patched in place: what may be done to each account (the last admin's) may have changed with it.
    users.reload();
  });
  const mayWrite = can(session?.user?.platformRole, null, 'platform:users:write');
  const me = session?.user?.id;
  // A forgotten password: a one-time link, mailed, or shown here once to pass on.
  const [resetIssued, setResetIssued] = useState<{ user: PlatformUser; link: string | null; expiresAt: string } | null>(null);
  const issueReset = useAction(async (user: PlatformUser) => {
    const issued = await api.post('/api/platform/users/{userId}/password-reset', { path: { userId: user.id }, body: {} });
    setResetIssued({ user, link: issued.link, expiresAt: issued.expiresAt });
  });

  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      {users.loading && !users.data && <Loading what="users" />}
      <ProblemNotice problem={users.error} />
      <ProblemNotice problem={update.error} onDismiss={update.clearError} />
      <ProblemNotice problem={issueReset.error} onDismiss={issueReset.clearError} />
      {resetIssued && (
        <div className="notice notice-success stack" role="status">
          {resetIssued.link ? (
            <>
              <p>
                No mail server is set up: give {resetIssued.user.name} this link yourself. It is shown only now and works once, until {formatDateTime(resetIssued.expiresAt)}.
              </p>
              <CopyField label="Password reset link" value={resetIssued.link} />
            </>
          ) : (
            <p>
              A link to set a new password was mailed to {resetIssued.user.email}. It works once, until {formatDateTime(resetIssued.expiresAt)}.
            </p>
          )}
        </div>
      )}
      {users.data && (
        <DataTable
          label="Users"
          rows={users.data}
          rowKey={(user) => user.id}
          rowProps={(user) => ({ className: user.status === 'disabled' ? 'row-disabled' : undefined })}
          columns={[
            {
              key: 'name',
              header: 'Name',
              rowHeader: true,
              cell: (user) => (
                <>
                  {user.name}
                  {user.id === me && <span className="muted"> (you)</span>}
                </>
              ),
            },
            { key: 'email', header: 'Email', className: 'break', cell: (user) => user.email },
            { key: 'role', header: 'Role', cell: (user) => (user.platformRole === 'user' ? 'user' : <span className="badge badge-admin">{user.platformRole}</span>) },
            {
              key: 'status',
              header: 'Status',
              cell: (user) => (
                <>
                  {user.status === 'disabled' ? <span className="badge badge-bad">disabled</span> : 'active'}
                  {user.locked && <span className="badge badge-warn">locked</span>}
                </>
              ),
            },
            { key: 'mfa', header: 'MFA', cell: (user) => (user.mfaEnrolled ? 'on' : <span className="muted">off</span>) },
            { key: 'created', header: 'Created', nowrap: true, hide: 'narrow', cell: (user) => <When at={user.createdAt} /> },
            mayWrite && {
              key: 'actions',
              header: 'Actions',
              actions: true,
              className: 'user-actions',
              cell: (user) => (
                <>
                  {/* What may be done to each account is the server's word (users.policy.ts): the last active admin stays one, and another admin manages your own. */}
                  {user.id === me && <span className="muted small">Another admin manages your account</span>}
                  <span className="button-group">
                    {(user.allowed.disable || user.allowed.enable) && (
                      <button
                        type="button"
                        disabled={update.pending}
                        aria-label={`${user.allowed.disable ? 'Disable' : 'Enable'} ${user.name}`}
                        className={user.allowed.disable ? 'danger-outline' : ''}
                        onClick={() => void update.run(user, { status: user.allowed.disable ? 'disabled' : 'active' })}
                      >
                        {user.allowed.disable ? 'Disable' : 'Enable'}
                      </button>
                    )}
                    {user.allowed.unlock && (
                      <button type="button" disabled={update.pending} aria-label={`Unlock ${user.name}`} onClick={() => void update.run(user, { unlock: true })}>
                        Unlock
                      </button>
                    )}
                    {user.allowed.resetPassword && (
                      <button type="button" disabled={issueReset.pending} aria-label={`Reset password of ${user.name}`} onClick={() => void issueReset.run(user)}>
                        Reset password
                      </button>
                    )}
                    {user.allowed.resetMfa && (
                      <ConfirmButton
                        label="Reset MFA"
                        accessibleName={`Reset MFA of ${user.name}`}
                        question={`Remove the MFA of ${user.name} and sign them out? Only when they have lost both their authenticator and their recovery codes: they enrol again at their next sign-in where MFA is required.`}
                        pending={update.pending}
                        onConfirm={() => update.run(user, { resetMfa: true })}
                      />
                    )}
                    {user.allowed.changeRole && (
                      // Compliance leads and auditors work across teams: a platform role, granted here.
                      <select
                        aria-label={`Platform role of ${user.name}`}
                        value={user.platformRole}
                        disabled={update.pending}
                        onChange={(e) => void update.run(user, { platformRole: e.target.value as User['platformRole'] })}
                      >
                        <option value="user">user</option>
                        <option value="compliance">compliance lead</option>
                        <option value="auditor">auditor</option>
                      </select>
                    )}
                    {(user.allowed.makeAdmin || user.allowed.removeAdmin) && (
                      <button
                        type="button"
                        disabled={update.pending}
                        aria-label={user.allowed.removeAdmin ? `Remove admin from ${user.name}` : `Make ${user.name} admin`}
                        onClick={() => void update.run(user, { platformRole: user.allowed.removeAdmin ? 'user' : 'admin' })}
                      >
                        {user.allowed.removeAdmin ? 'Remove admin' : 'Make admin'}
                      </button>
                    )}
                  </span>
                </>
              ),
            },
          ]}
        />
      )}
    </section>
  );
}
