import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editorPermissions, isAllowed, PLATFORM_ROLE_PERMISSIONS, readOnlyPlatformRole, TEAM_ROLES } from './roles.ts';
import { PERMISSIONS } from './permissions.ts';

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

test('an auditor writes nothing, not even through a role in a team; a compliance lead writes only the compliance records', () => {
  assert.equal(readOnlyPlatformRole('auditor'), true);
  for (const role of ['admin', 'compliance', 'user'] as const) assert.equal(readOnlyPlatformRole(role), false);
  assert.deepEqual(
    PLATFORM_ROLE_PERMISSIONS.auditor.filter((p) => PERMISSIONS[p].access === 'write' && PERMISSIONS[p].scope !== 'self'),
    [],
  );
  assert.equal(isAllowed({ platformRole: 'auditor', teamRole: 'owner' }, 'applications:write'), false);
  assert.equal(isAllowed({ platformRole: 'auditor', teamRole: 'owner' }, 'applications:read'), true);
  assert.equal(isAllowed({ platformRole: 'auditor', teamRole: null }, 'account:write'), true);
  assert.deepEqual(
    PLATFORM_ROLE_PERMISSIONS.compliance.filter((p) => PERMISSIONS[p].access === 'write' && PERMISSIONS[p].scope !== 'self'),
    ['compliance:write'],
  );
  // Both read every team's records without being in it, never its applications (flows, endpoints).
  for (const platformRole of ['compliance', 'auditor'] as const) {
    assert.equal(isAllowed({ platformRole, teamRole: null }, 'audit:read'), true);
    assert.equal(isAllowed({ platformRole, teamRole: null }, 'fleet:read'), true);
    assert.equal(isAllowed({ platformRole, teamRole: null }, 'applications:read'), false);
  }
});
