import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editorPermissions, isAllowed, TEAM_ROLES } from './roles.ts';

test("a team's Node-RED editors are opened through a role in the team, a platform admin's too", () => {
  for (const permission of ['instances:editor', 'fleet:editor'] as const) {
    assert.equal(isAllowed({ platformRole: 'admin', teamRole: null }, permission), false, `${permission}: an admin outside the team`);
    for (const teamRole of TEAM_ROLES) assert.equal(isAllowed({ platformRole: 'admin', teamRole }, permission), true, `${permission}: an admin who is ${teamRole}`);
  }
  // Everything else stays the admin's in every team.
  assert.equal(isAllowed({ platformRole: 'admin', teamRole: null }, 'applications:write'), true);
  assert.equal(isAllowed({ platformRole: 'admin', teamRole: null }, 'instances:operate'), true);
});

test('inside the editor, the team role alone decides: owners and members edit, the others look', () => {
  assert.deepEqual(
    TEAM_ROLES.map((role) => [role, editorPermissions(role)]),
    [
      ['owner', '*'],
      ['member', '*'],
      ['operator', 'read'],
      ['viewer', 'read'],
      ['auditor', 'read'],
    ],
  );
  assert.equal(editorPermissions(null), 'read');
});
