import { useEffect, useState, type ReactNode } from 'react';
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { can } from '../policy.ts';
import { useSession } from '../session.tsx';
import { Loading } from './ProblemNotice.tsx';

export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Flowgate` : 'Flowgate';
  }, [title]);
}

function Brand() {
  return (
    <span className="brand">
      <svg className="brand-mark" aria-hidden="true" viewBox="0 0 20 20" width="20" height="20">
        <path d="M3 17V6l7-4 7 4v11" fill="none" stroke="currentColor" strokeWidth="2" strokeLinejoin="round" />
        <path d="M7 17v-6h6v6" fill="none" stroke="currentColor" strokeWidth="2" />
      </svg>
      Flowgate
    </span>
  );
}

/** The signed-in frame: a nav bar with the person and sign out, then the page. */
export function Layout() {
  const { session, signOut } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  // Signing out on purpose starts afresh; a session that ended by itself comes back here after sign-in.
  const [signingOut, setSigningOut] = useState(false);

  if (!session) return <Loading what="your session" />;
  if (!session.signedIn || !session.user) {
    if (signingOut) return <Navigate to="/sign-in" replace />;
    const next = location.pathname + location.search;
    return <Navigate to={`/sign-in${next && next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace />;
  }
  const user = session.user;
  const admin = user.platformRole === 'admin';
  const mayReadCompliance = can(user.platformRole, null, 'compliance:read');
  const mayReadAuditLog = can(user.platformRole, null, 'platform:audit:read');
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <nav aria-label="Main" className="topnav">
          <NavLink to="/teams" className="brand-link">
            <Brand />
          </NavLink>
          <ul>
            <li>
              <NavLink to="/teams">Teams</NavLink>
            </li>
            {mayReadCompliance && (
              <li>
                <NavLink to="/compliance">Compliance</NavLink>
              </li>
            )}
            {mayReadAuditLog && (
              <li>
                <NavLink to="/audit">Audit log</NavLink>
              </li>
            )}
            {can(user.platformRole, null, 'compliance:read') && (
              <li>
                <NavLink to="/inventory">Inventory</NavLink>
              </li>
            )}
            {admin && (
              <li>
                <NavLink to="/platform">Platform</NavLink>
              </li>
            )}
            <li>
              <NavLink to="/account">Account</NavLink>
            </li>
          </ul>
        </nav>
        <div className="whoami">
          <span>
            <span className="whoami-name">{user.name}</span> <span className="muted">{user.email}</span>
            {user.platformRole !== 'user' && <span className="badge badge-admin">{user.platformRole}</span>}
          </span>
          <button
            type="button"
            onClick={async () => {
              setSigningOut(true);
              await signOut().catch(() => {});
              void navigate('/sign-in', { replace: true });
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="page">
        <Outlet />
      </main>
    </>
  );
}

/** The frame for pages before sign-in: setup, sign-in, invitations. */
export function PublicLayout({ children }: { children: ReactNode }) {
  return (
    <>
      <header className="topbar topbar-public">
        <Brand />
      </header>
      <main id="main" className="page page-narrow">
        {children}
      </main>
    </>
  );
}
