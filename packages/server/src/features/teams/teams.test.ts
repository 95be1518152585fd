import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { totpCode } from '../../security/totp.ts';
import { addMember, Client, DIALECTS, MEMBER_PASSWORD, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

for (const dialect of DIALECTS) {
  describe(`teams on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let teamId: string;
    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Packaging line' })).json().id;
    });
    after(() => t.close());

    let veraViewer: Client;
    test('an invitation link creates the account and the membership with its role', async () => {
      const viewer = await addMember(t, admin, teamId, 'vera@plant.example', 'viewer');
      veraViewer = viewer;
      const session = (await viewer.get('/api/auth/session')).json();
      assert.deepEqual(session.teams, [{ id: teamId, name: 'Packaging line', role: 'viewer' }]);
      const members = (await admin.get(`/api/teams/${teamId}/members`)).json() as Array<{ email: string; role: string }>;
      assert.deepEqual(members.map((m) => [m.email, m.role]).sort(), [
        ['admin@plant.example', 'owner'],
        ['vera@plant.example', 'viewer'],
      ]);
      const events = (await admin.get(`/api/teams/${teamId}/audit`)).json().events.map((e: { event: string }) => e.event);
      assert.ok(events.includes('member.invited') && events.includes('member.joined'));
    });

    test('a used, withdrawn or unknown invitation is refused', async () => {
      const invited = (await admin.post(`/api/teams/${teamId}/invitations`, { email: 'otto@plant.example', role: 'operator' })).json();
      const token = invited.link.split('/invite/')[1];
      assert.equal((await admin.delete(`/api/teams/${teamId}/invitations/${invited.invitation.id}`)).statusCode, 204);
      const r = await new Client(t).post(`/api/invitations/${token}/accept`, { name: 'Otto', password: 'otto has a long passphrase' });
      assert.equal(r.statusCode, 404);
      assert.equal((await new Client(t).get(`/api/invitations/${'x'.repeat(40)}`)).statusCode, 404);
    });

    test('accepting an invitation with a new account signs the person in: no second password entry', async () => {
      const invited = (await admin.post(`/api/teams/${teamId}/invitations`, { email: 'nina@plant.example', role: 'member' })).json();
      const token = invited.link.split('/invite/')[1];
      const nina = new Client(t);
      const accepted = await nina.post(`/api/invitations/${token}/accept`, { name: 'Nina', password: MEMBER_PASSWORD });
      assert.equal(accepted.statusCode, 200, accepted.body);
      const cookie = accepted.cookies.find((c) => c.name === 'fg_session');
      assert.ok(cookie?.value, 'the session cookie is set');
      assert.equal(cookie.httpOnly, true);
      const { teamId: joined, signIn } = accepted.json() as { teamId: string; signIn: { status: string; csrfToken: string } };
      assert.equal(joined, teamId);
      assert.equal(signIn.status, 'signed-in');
      const session = (await nina.get('/api/auth/session')).json();
      assert.equal(session.signedIn, true);
      assert.equal(session.user.email, 'nina@plant.example');
      assert.deepEqual(session.teams, [{ id: teamId, name: 'Packaging line', role: 'member' }]);
      // The CSRF token of the answer is the session's: a change goes through with it.
      nina.csrf = signIn.csrfToken;
      assert.equal((await nina.post('/api/teams', { name: "Nina's bench" })).statusCode, 201);
      const signIns = (await admin.get('/api/audit?event=auth.login.succeeded')).json().events as Array<{ actorLabel: string }>;
      assert.ok(
        signIns.some((e) => e.actorLabel === 'nina@plant.example'),
        'the sign-in is on record as any other',
      );

      // Joining as oneself, signed in already, keeps that session and starts none.
      const other = (await admin.post('/api/teams', { name: 'Dispatch' })).json().id;
      const second = (await admin.post(`/api/teams/${other}/invitations`, { email: 'nina@plant.example', role: 'viewer' })).json().link.split('/invite/')[1];
      const asHerself = await nina.post(`/api/invitations/${second}/accept`, {});
      assert.equal(asHerself.statusCode, 200);
      assert.equal(asHerself.json().signIn, null);
      assert.equal(
        asHerself.cookies.find((c) => c.name === 'fg_session'),
        undefined,
      );
    });

    test('inviting an address again while its invitation is pending replaces it: one row, the old link stops working', async () => {
      const first = (await admin.post(`/api/teams/${teamId}/invitations`, { email: 'Rita@plant.example', role: 'viewer' })).json();
      const again = await admin.post(`/api/teams/${teamId}/invitations`, { email: 'rita@plant.example', role: 'operator' });
      assert.equal(again.statusCode, 201);
      const second = again.json();
      const pending = ((await admin.get(`/api/teams/${teamId}/invitations`)).json() as Array<{ id: string; email: string; role: string }>).filter(
        (i) => i.email === 'rita@plant.example',
      );
      assert.deepEqual(
        pending.map((i) => [i.id, i.role]),
        [[second.invitation.id, 'operator']],
        'one pending invitation, the newer one with its role',
      );
      const oldToken = first.link.split('/invite/')[1];
      assert.equal((await new Client(t).get(`/api/invitations/${oldToken}`)).statusCode, 404, 'the replaced link is withdrawn');
      assert.equal((await new Client(t).post(`/api/invitations/${oldToken}/accept`, { name: 'Rita', password: MEMBER_PASSWORD })).statusCode, 404);

      const events = (await admin.get(`/api/teams/${teamId}/audit?event=member.invitation.revoked`)).json().events as Array<{ targetId: string; details: string }>;
      const withdrawn = events.find((e) => e.targetId === first.invitation.id);
      assert.ok(withdrawn, 'the replaced invitation is withdrawn on record');
      assert.deepEqual(JSON.parse(withdrawn.details), { email: 'rita@plant.example', role: 'viewer', reason: 'replaced by a new invitation', replacedBy: second.invitation.id });
      const invitedEvents = (await admin.get(`/api/teams/${teamId}/audit?event=member.invited`)).json().events as Array<{ targetId: string; details: string }>;
      assert.deepEqual(JSON.parse(invitedEvents.find((e) => e.targetId === second.invitation.id)!.details).replaces, [first.invitation.id]);

      // Two at once still leave one: the second waits for the first and replaces it.
      const [a, b] = await Promise.all([
        admin.post(`/api/teams/${teamId}/invitations`, { email: 'sam@plant.example', role: 'viewer' }),
        admin.post(`/api/teams/${teamId}/invitations`, { email: 'sam@plant.example', role: 'viewer' }),
      ]);
      assert.deepEqual([a.statusCode, b.statusCode], [201, 201]);
      const sams = ((await admin.get(`/api/teams/${teamId}/invitations`)).json() as Array<{ email: string }>).filter((i) => i.email === 'sam@plant.example');
      assert.equal(sams.length, 1);

      const newToken = second.link.split('/invite/')[1];
      const rita = await new Client(t).post(`/api/invitations/${newToken}/accept`, { name: 'Rita', password: MEMBER_PASSWORD });
      assert.equal(rita.statusCode, 200, 'the new link works');
    });

    test('a viewer can read but not change; another team answers 404', async () => {
      const viewer = await addMember(t, admin, teamId, 'vic@plant.example', 'viewer');
      assert.equal((await viewer.get(`/api/teams/${teamId}/members`)).statusCode, 200);
      const denied = await viewer.patch(`/api/teams/${teamId}`, { name: 'Renamed' });
      assert.equal(denied.statusCode, 403);
      assert.equal((await admin.get(`/api/teams/${teamId}`)).json().name, 'Packaging line');
      const other = (await admin.post('/api/teams', { name: 'Secret line' })).json().id;
      const hidden = await viewer.get(`/api/teams/${other}`);
      assert.equal(hidden.statusCode, 404);
      assert.equal((await viewer.get(`/api/teams/${other}/members`)).statusCode, 404);
      const probes = (await admin.get(`/api/teams/${other}/audit?event=auth.access.hidden`)).json().events;
      assert.equal(probes.length, 2, 'the owner of the probed team sees the probes');
      assert.equal(probes[0].actorLabel, 'vic@plant.example');
    });

    test('a signed-in person joins another team by invitation, with the CSRF header', async () => {
      const vic = await addMember(t, admin, teamId, 'vic2@plant.example', 'viewer');
      const second = (await admin.post('/api/teams', { name: 'Warehouse' })).json().id;
      const token = (await admin.post(`/api/teams/${second}/invitations`, { email: 'vic2@plant.example', role: 'auditor' })).json().link.split('/invite/')[1];
      const forged = await t.app.inject({ method: 'POST', url: `/api/invitations/${token}/accept`, headers: { cookie: vic.cookie! }, payload: {} });
      assert.equal(forged.statusCode, 403, 'a cross-site form cannot make a signed-in person join');
      assert.equal((await vic.post(`/api/invitations/${token}/accept`, {})).statusCode, 200);
      const teams = (await vic.get('/api/teams')).json() as Array<{ id: string; role: string }>;
      assert.equal(teams.find((x) => x.id === second)?.role, 'auditor');
    });

    test("accepting someone else's invitation is refused, audited in the team, and leaves it usable", async () => {
      const vic = await addMember(t, admin, teamId, 'vic3@plant.example', 'viewer');
      const target = (await admin.post('/api/teams', { name: 'Boiler house' })).json().id;
      const invited = (await admin.post(`/api/teams/${target}/invitations`, { email: 'bea@plant.example', role: 'member' })).json();
      const token = invited.link.split('/invite/')[1];
      const stolen = await vic.post(`/api/invitations/${token}/accept`, {});
      assert.equal(stolen.statusCode, 403);
      assert.equal(stolen.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.match(stolen.json().detail, /This invitation is for bea@plant\.example/);
      assert.ok(!((await vic.get('/api/teams')).json() as Array<{ id: string }>).some((x) => x.id === target), 'no membership');

      const events = (await admin.get(`/api/teams/${target}/audit?event=member.joined`)).json().events as Array<{
        outcome: string;
        actorLabel: string;
        targetId: string;
        details: string;
      }>;
      assert.equal(events.length, 1);
      assert.equal(events[0]!.outcome, 'denied');
      assert.equal(events[0]!.actorLabel, 'vic3@plant.example');
      assert.equal(events[0]!.targetId, invited.invitation.id);
      assert.equal(JSON.parse(events[0]!.details).reason, 'invitation for another email');

      const bea = await new Client(t).post(`/api/invitations/${token}/accept`, { name: 'Bea', password: MEMBER_PASSWORD });
      assert.equal(bea.statusCode, 200, 'the invitation still works for the person it is for');
    });

    test('roles change; the last owner cannot be demoted or removed, or leave', async () => {
      type Listed = { id: string; email: string; allowed: { changeRole: boolean; remove: boolean } };
      const members = (await admin.get(`/api/teams/${teamId}/members`)).json() as Listed[];
      const adminId = members.find((m) => m.email === 'admin@plant.example')!.id;
      // What the members list says may be done is what the server then does (members.policy.ts).
      assert.deepEqual(members.find((m) => m.id === adminId)!.allowed, { changeRole: false, remove: false }, 'the last owner is held back in the list');
      assert.deepEqual(members.find((m) => m.email === 'vera@plant.example')!.allowed, { changeRole: true, remove: true });
      const asViewer = (await veraViewer.get(`/api/teams/${teamId}/members`)).json() as Listed[];
      assert.ok(
        asViewer.every((m) => !m.allowed.changeRole && !m.allowed.remove),
        'a viewer is offered nothing',
      );
      const demote = await admin.patch(`/api/teams/${teamId}/members/${adminId}`, { role: 'member' });
      assert.equal(demote.statusCode, 409);
      assert.match(demote.json().detail, /last owner/);
      assert.equal((await admin.post(`/api/teams/${teamId}/leave`)).statusCode, 409);
      const vera = members.find((m) => m.email === 'vera@plant.example')!.id;
      assert.equal((await admin.patch(`/api/teams/${teamId}/members/${vera}`, { role: 'owner' })).statusCode, 204);
      assert.equal((await admin.patch(`/api/teams/${teamId}/members/${adminId}`, { role: 'member' })).statusCode, 204);
      const events = (await admin.get(`/api/teams/${teamId}/audit?event=member.role.changed`)).json().events;
      assert.equal(events.length, 2);
      assert.equal(JSON.parse(events[1].details).to, 'owner');
      const after = (await admin.get(`/api/teams/${teamId}/members`)).json() as Listed[];
      assert.deepEqual(after.find((m) => m.id === adminId)!.allowed, { changeRole: true, remove: true }, 'with another owner, the list offers it again');
    });

    test("a team's MFA policy forces its members to enrol at their next sign-in", async () => {
      const mfaTeam = (await admin.post('/api/teams', { name: 'Utilities' })).json().id;
      const member = await addMember(t, admin, mfaTeam, 'mia@plant.example', 'member');
      assert.equal((await admin.patch(`/api/teams/${mfaTeam}`, { requireMfa: true })).statusCode, 200);
      await member.post('/api/auth/logout');
      const login = await member.post('/api/auth/login', { email: 'mia@plant.example', password: MEMBER_PASSWORD });
      assert.equal(login.json().status, 'mfa-enrolment-required');
      assert.equal((await member.get('/api/teams')).statusCode, 401);
      const { secret } = (await member.post('/api/account/mfa/setup')).json();
      const confirmed = await member.post('/api/account/mfa/confirm', { code: totpCode(secret, Date.now()) });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal((await member.get('/api/teams')).statusCode, 200);
      const removal = await member.delete('/api/account/mfa', { password: MEMBER_PASSWORD });
      assert.equal(removal.statusCode, 403, 'MFA cannot be removed while policy requires it');
      assert.equal(removal.headers['content-type'], 'application/problem+json; charset=utf-8');
      const me = (await member.get('/api/account')).json().user as { id: string; mfaEnrolled: boolean };
      assert.equal(me.mfaEnrolled, true);
      const refused = ((await admin.get('/api/audit?event=user.mfa.removed')).json().events as Array<{ outcome: string; targetId: string; details: string }>).filter(
        (e) => e.targetId === me.id,
      );
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.outcome, 'denied');
      assert.deepEqual(JSON.parse(refused[0]!.details), { reason: 'required by policy' });
    });
  });
}
