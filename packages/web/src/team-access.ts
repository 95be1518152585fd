import { can, type Permission, type TeamRole } from './policy.ts';
import { useSession } from './session.tsx';

export interface TeamAccess {
  /** Your role in the team; null when you are not a member (a platform admin may still act). */
  role: TeamRole | null;
  /** The team's name as your session knows it; null when you are not a member. */
  teamName: string | null;
  allowed(permission: Permission): boolean;
}

/** What you may do in a team, from the session's own list of your teams and the shared policy. */
export function useTeamAccess(teamId: string | null | undefined): TeamAccess {
  const { session } = useSession();
  const team = teamId ? session?.teams?.find((t) => t.id === teamId) : undefined;
  const role = team?.role ?? null;
  return {
    role,
    teamName: team?.name ?? null,
    allowed: (permission) => (teamId ? can(session?.user?.platformRole, role, permission) : false),
  };
}
