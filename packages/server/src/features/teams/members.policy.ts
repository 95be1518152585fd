import type { TeamRole } from '@flowgate/core';
import type { Holds } from '../../http/holds.ts';

/** What is known of a member when deciding: their role, and how many owners the team has. */
export interface MemberFacts {
  role: TeamRole;
  owners: number;
}

/**
 * What the caller may do to a member of a team: the one statement of these rules. The service
 * enforces it (inside the transaction, on the counts it locked), and the member list carries it
 * as `allowed`, from which the web UI shows its controls.
 */
export function memberActions(holds: Holds, member: MemberFacts) {
  // A team keeps at least one owner: someone must be able to manage it.
  const lastOwner = member.role === 'owner' && member.owners <= 1;
  return {
    /** Give another role. The last owner keeps theirs until someone else is owner. */
    changeRole: holds('members:write') && !lastOwner,
    /** Take out of the team (or, for oneself, leave it). The last owner cannot: make someone else owner first, or delete the team. */
    remove: holds('members:write') && !lastOwner,
  };
}

export type MemberActions = ReturnType<typeof memberActions>;
