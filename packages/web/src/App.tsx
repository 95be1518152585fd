import { BrowserRouter, Link, Navigate, Route, Routes } from 'react-router';
import { InventoryPage } from './pages/inventory/InventoryPage.tsx';
import { Layout, usePageTitle } from './components/Layout.tsx';
import { AccountPage } from './pages/account/AccountPage.tsx';
import { ApplicationPage } from './pages/applications/ApplicationPage.tsx';
import { PlatformAuditPage, TeamAuditPage } from './pages/audit/AuditPage.tsx';
import { CompliancePage } from './pages/compliance/CompliancePage.tsx';
import { SucPage } from './pages/compliance/SucPage.tsx';
import { DevicePage } from './pages/fleet/DevicePage.tsx';
import { FleetPage } from './pages/fleet/FleetPage.tsx';
import { RolloutPage } from './pages/fleet/RolloutPage.tsx';
import { DiffPage } from './pages/instances/DiffPage.tsx';
import { InstancePage } from './pages/instances/InstancePage.tsx';
import { SnapshotPage } from './pages/instances/SnapshotPage.tsx';
import { InvitePage } from './pages/InvitePage.tsx';
import { ResetPasswordPage } from './pages/ResetPasswordPage.tsx';
import { PlatformPage } from './pages/PlatformPage.tsx';
import { SetupPage } from './pages/SetupPage.tsx';
import { SignInPage } from './pages/SignInPage.tsx';
import { TeamPage } from './pages/team/TeamPage.tsx';
import { TeamsPage } from './pages/TeamsPage.tsx';
import { SessionProvider } from './session.tsx';

function NotFound() {
  usePageTitle('Not found');
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/teams">Go to your teams</Link>.
      </p>
    </>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <SessionProvider>
        <Routes>
          <Route path="/setup" element={<SetupPage />} />
          <Route path="/sign-in" element={<SignInPage />} />
          <Route path="/invite/:token" element={<InvitePage />} />
          <Route path="/reset-password/:token" element={<ResetPasswordPage />} />
          <Route element={<Layout />}>
            <Route index element={<Navigate to="/teams" replace />} />
            <Route path="/teams" element={<TeamsPage />} />
            <Route path="/teams/:teamId" element={<TeamPage />} />
            <Route path="/teams/:teamId/audit" element={<TeamAuditPage />} />
            <Route path="/teams/:teamId/fleet" element={<FleetPage />} />
            <Route path="/devices/:deviceId" element={<DevicePage />} />
            <Route path="/rollouts/:rolloutId" element={<RolloutPage />} />
            <Route path="/applications/:applicationId" element={<ApplicationPage />} />
            <Route path="/instances/:instanceId" element={<InstancePage />} />
            <Route path="/instances/:instanceId/diff" element={<DiffPage />} />
            <Route path="/snapshots/:snapshotId" element={<SnapshotPage />} />
            <Route path="/account" element={<AccountPage />} />
            <Route path="/platform" element={<PlatformPage />} />
            <Route path="/audit" element={<PlatformAuditPage />} />
            <Route path="/compliance" element={<CompliancePage />} />
            <Route path="/compliance/sucs/:sucId" element={<SucPage />} />
            <Route path="/inventory" element={<InventoryPage />} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </SessionProvider>
    </BrowserRouter>
  );
}
