import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { addMember, ADMIN, Client, DIALECTS, freePort, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';
import { startLdapServer, type LdapFixture } from '../../../test/ldap-server.ts';
import { ldap } from './ldap.ts';
import { ldapSettings } from './provider-settings.ts';

/**
 * Sign-in with a directory password, against a real OpenLDAP (Debian's slapd, started by the
 * fixture with its own CA, StartTLS and LDAPS). Nothing is mocked: the platform binds as the
 * service account, searches, walks nested groups and binds as the person. Active Directory
 * itself cannot run here; what differs for it (userPrincipalName, nested groups through
 * `member`) is what these filters and the nested walk exercise.
 */

const SAME_ANSWER = 'The email or password is wrong, or the account is locked or disabled.';

let directory: LdapFixture;
before(async () => {
  directory = await startLdapServer();
});
after(async () => {
  await directory?.stop();
});

for (const dialect of DIALECTS) {
  describe(`LDAP sign-in on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let teamId: string;
    let providerId: string;
    const audit = async (event: string) => (await admin.get(`/api/audit?event=${event}`)).json().events as Array<{ details: string; outcome: string }>;
    const settings = () => ({
      url: directory.url,
      startTls: true,
      caCertificate: directory.caCertificate,
      bindDn: directory.bindDn,
      bindPassword: directory.bindPassword,
      userBase: `ou=people,${directory.baseDn}`,
      groupBase: `ou=groups,${directory.baseDn}`,
    });

    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Line 3' })).json().id;
      // carol had a local account (and password) before the directory came.
      await addMember(t, admin, teamId, directory.users.carol.mail, 'viewer');
    });
    after(async () => {
      await t?.close();
    });

    test('an admin adds the directory; unsafe or wrong settings are refused and named; the test reaches it over StartTLS and LDAPS', async () => {
      const body = {
        kind: 'ldap',
        name: 'Contoso AD',
        emailDomains: ['contoso.example', 'plant.example'],
        adminGroup: 'flowgate-admins',
        mappings: [
          { group: 'all-staff', teamId, role: 'viewer' },
          { group: 'plant-engineers', teamId, role: 'member' },
        ],
        ldap: settings(),
      };
      const refusedField = async (patch: Record<string, unknown>) => {
        const r = await admin.post('/api/platform/identity-providers', { ...body, ldap: { ...settings(), ...patch } });
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
        return r.json().errors[0].field as string;
      };
      assert.equal(await refusedField({ url: 'ldap://dc1.contoso.example', startTls: false }), 'ldap.startTls');
      assert.equal(await refusedField({ userFilter: '(mail=ada@contoso.example)' }), 'ldap.userFilter');
      assert.equal(await refusedField({ bindPassword: undefined }), 'ldap.bindPassword');
      assert.equal(await refusedField({ caCertificate: 'not a certificate at all, but long enough to pass the length check of the schema, surely, yes' }), 'ldap.caCertificate');
      assert.equal(await refusedField({ url: directory.ldapsUrl }), 'ldap.startTls', 'StartTLS on ldaps:// is a contradiction');

      const created = await admin.post('/api/platform/identity-providers', body);
      assert.equal(created.statusCode, 201, created.body);
      providerId = created.json().id;
      assert.equal(created.json().ldap.bindDn, directory.bindDn);
      assert.ok(!created.body.includes(directory.bindPassword), 'the service password is not shown back');
      const stored = await t.db.database.db.selectFrom('identity_providers').select(['settings', 'secret_enc']).where('id', '=', providerId).executeTakeFirstOrThrow();
      assert.ok(!stored.settings.includes(directory.bindPassword) && !stored.secret_enc!.includes(directory.bindPassword), 'sealed at rest');

      const tested = (await admin.post(`/api/platform/identity-providers/${providerId}/test`)).json();
      assert.equal(tested.ok, true, tested.problem);
      assert.ok(tested.details.includes('StartTLS'), tested.details.join('; '));
      const served = new X509Certificate(directory.serverCertificate);
      assert.equal(tested.certificates[0].expiresAt, new Date(served.validTo).toISOString(), "the directory's own certificate");

      // The expiry warning reads the same certificate, every 6 hours.
      const seen = await ldap.certificates(ldapSettings(await t.context.sso.get(providerId)), directory.bindPassword, new Date());
      assert.deepEqual(
        seen.map((c) => c.expiresAt),
        [new Date(served.validTo).toISOString()],
      );
      assert.deepEqual(await t.context.sso.checkCertificates(), [], 'a year left: nothing to warn of');

      const check = async (patch: Record<string, unknown>) => {
        const other = await admin.post('/api/platform/identity-providers', {
          ...body,
          name: `Probe ${Math.random()}`,
          emailDomains: ['probe.example'],
          mappings: [],
          adminGroup: null,
          ldap: { ...settings(), ...patch },
        });
        assert.equal(other.statusCode, 201, other.body);
        const result = (await admin.post(`/api/platform/identity-providers/${other.json().id}/test`)).json();
        await admin.delete(`/api/platform/identity-providers/${other.json().id}`);
        return result as { ok: boolean; problem?: string; details?: string[] };
      };
      const ldaps = await check({ url: directory.ldapsUrl, startTls: false });
      assert.equal(ldaps.ok, true, ldaps.problem);
      assert.ok(ldaps.details!.includes('LDAPS'));
      assert.match((await check({ bindPassword: 'not the service password' })).problem!, /service account: its DN or password is wrong/);
      assert.match((await check({ caCertificate: null })).problem!, /certificate is not trusted/);
      assert.match((await check({ url: `ldap://127.0.0.1:${await freePort()}` })).problem!, /unreachable/);
      assert.match((await check({ userBase: `ou=nobody,${directory.baseDn}` })).problem!, /user search base .* cannot be read/);

      const twice = await admin.post('/api/platform/identity-providers', { ...body, name: 'Contoso AD again' });
      assert.equal(twice.statusCode, 409);
      assert.match(twice.json().detail, /contoso\.example, plant\.example are signed in by Contoso AD already/);

      const discovered = await new Client(t).get('/api/auth/sso/discover?email=ada@contoso.example');
      assert.deepEqual(discovered.json(), { provider: { id: providerId, name: 'Contoso AD', kind: 'ldap' } });
    });

    test('a person signs in with the directory password on the sign-in form; the account is made; nested groups give the strongest role', async () => {
      const ada = new Client(t);
      const signedIn = await ada.post('/api/auth/login', { email: directory.users.ada.mail, password: directory.users.ada.password });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal(signedIn.json().status, 'signed-in');
      assert.equal(signedIn.json().user.name, directory.users.ada.displayName);
      const session = (await ada.get('/api/auth/session')).json();
      // ada is in plant-engineers (member), which is in all-staff (viewer): the stronger wins.
      assert.deepEqual(
        session.teams.map((m: { id: string; role: string }) => [m.id, m.role]),
        [[teamId, 'member']],
      );
      const user = await t.db.database.db.selectFrom('users').select(['password_hash', 'platform_role']).where('email', '=', directory.users.ada.mail).executeTakeFirstOrThrow();
      assert.equal(user.password_hash, null, 'the directory keeps the password; the platform keeps none');
      const event = JSON.parse((await audit('auth.sso.login.succeeded'))[0]!.details);
      assert.equal(event.kind, 'ldap');
      assert.equal(event.groups, 2);

      // bob is in all-staff directly: viewer. carol is in the admin group, and in a loop of groups that must end.
      const bob = new Client(t);
      assert.equal((await bob.post('/api/auth/login', { email: directory.users.bob.mail, password: directory.users.bob.password })).statusCode, 200);
      assert.deepEqual(
        (await bob.get('/api/auth/session')).json().teams.map((m: { role: string }) => m.role),
        ['viewer'],
      );
      const carol = new Client(t);
      const carolIn = await carol.post('/api/auth/login', { email: directory.users.carol.mail, password: directory.users.carol.password });
      assert.equal(carolIn.statusCode, 200, carolIn.body);
      assert.equal(carolIn.json().user.platformRole, 'admin');
      // Made admin by a group, she is no break-glass admin: her old local password goes.
      const carolRow = await t.db.database.db.selectFrom('users').select('password_hash').where('email', '=', directory.users.carol.mail).executeTakeFirstOrThrow();
      assert.equal(carolRow.password_hash, null);
      const promoted = (await audit('user.updated')).map((e) => JSON.parse(e.details)).find((d) => d.localPasswordRemoved);
      assert.deepEqual(promoted?.platformRole, { before: 'user', after: 'admin' });
    });

    test("an admin's test sign-in shows the directory's groups and roles, and signs nobody in", async () => {
      const report = await admin.post(`/api/platform/identity-providers/${providerId}/test-sign-in`, {
        username: directory.users.carol.mail,
        password: directory.users.carol.password,
      });
      assert.equal(report.statusCode, 200, report.body);
      assert.equal(report.headers['set-cookie'], undefined);
      const body = report.json();
      assert.equal(body.email, directory.users.carol.mail);
      assert.equal(body.subject, directory.users.carol.dn);
      assert.deepEqual([...body.groups].sort(), ['flowgate-admins', 'loop-a', 'loop-b'], 'the cycle is walked once');
      assert.equal(body.platformAdmin, true);
      const wrong = (await admin.post(`/api/platform/identity-providers/${providerId}/test-sign-in`, { username: directory.users.carol.mail, password: 'not hers' })).json();
      assert.match(wrong.problem, /refused the password/);
    });

    test('a wrong password, an unknown person, an empty password and a filter injection get one answer, are audited, and make nothing', async () => {
      const users = async () => (await t.db.database.db.selectFrom('users').select('email').execute()).map((u) => u.email).sort();
      const before = await users();
      const refused = async (email: string, password: string) => {
        const r = await new Client(t).post('/api/auth/login', { email, password });
        assert.equal(r.statusCode, 401, r.body);
        assert.equal(r.json().detail, SAME_ANSWER);
        assert.equal(r.cookies.find((c) => c.name === 'fg_session')?.value ?? '', '');
      };
      await refused(directory.users.ada.mail, 'not her password');
      await refused('nobody@contoso.example', directory.users.ada.password);
      // `a*` would match ada's mail if it reached the filter unescaped, and her password would then let it in.
      await refused('a*@contoso.example', directory.users.ada.password);
      const reasons = (await audit('auth.sso.login.failed')).slice(0, 3).map((e) => JSON.parse(e.details).reason);
      assert.deepEqual(reasons, ['unknown-account', 'unknown-account', 'wrong-password']);
      assert.deepEqual(await users(), before, 'no account made');

      const injected = (await admin.post(`/api/platform/identity-providers/${providerId}/test-sign-in`, { username: '*)(uid=*', password: 'x' })).json();
      assert.match(injected.problem, /No directory entry matches/);
      // `$\`` in a replacement string would paste the filter's start into it: escaped text stays text.
      const dollar = (await admin.post(`/api/platform/identity-providers/${providerId}/test-sign-in`, { username: 'x$`y', password: 'x' })).json();
      assert.match(dollar.problem, /No directory entry matches x\$`y/);
      assert.equal((await new Client(t).post('/api/auth/login', { email: directory.users.ada.mail, password: '' })).statusCode, 400, 'the schema wants a password');
      // Below the schema too: an empty password is an unauthenticated bind (RFC 4513), which slapd lets through.
      const provider = await t.context.sso.get(providerId);
      await assert.rejects(
        ldap.authenticate(ldapSettings(provider), directory.bindPassword, directory.users.ada.mail, ''),
        (e: Error & { reason?: string }) => e.reason === 'wrong-password',
      );
    });

    test('wrong directory passwords lock the account as local ones do; then even the right one is not tried', async () => {
      const bob = directory.users.bob;
      for (let i = 0; i < 5; i++) assert.equal((await new Client(t).post('/api/auth/login', { email: bob.mail, password: `guess ${i}` })).statusCode, 401);
      const locked = await audit('auth.login.locked');
      assert.equal(locked.length, 1);
      const right = await new Client(t).post('/api/auth/login', { email: bob.mail, password: bob.password });
      assert.equal(right.statusCode, 401);
      assert.equal(right.json().detail, SAME_ANSWER);
      assert.equal(JSON.parse((await audit('auth.sso.login.failed'))[0]!.details).reason, 'locked');
    });

    test('the local platform admin in a directory domain keeps the local password (break-glass); a directory that is down says so', async () => {
      assert.equal((await new Client(t).post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).statusCode, 200);
      const provider = (await admin.get(`/api/platform/identity-providers/${providerId}`)).json();
      const down = await admin.put(`/api/platform/identity-providers/${providerId}`, {
        kind: 'ldap',
        name: provider.name,
        emailDomains: provider.emailDomains,
        adminGroup: provider.adminGroup,
        mappings: provider.mappings,
        ldap: { ...provider.ldap, url: `ldap://127.0.0.1:${await freePort()}` },
      });
      assert.equal(down.statusCode, 200, down.body);
      const r = await new Client(t).post('/api/auth/login', { email: directory.users.ada.mail, password: directory.users.ada.password });
      assert.equal(r.statusCode, 401);
      assert.match(r.json().detail, /Contoso AD: The directory at .* is unreachable/);
      assert.equal((await new Client(t).post('/api/auth/login', { email: ADMIN.email, password: ADMIN.password })).statusCode, 200, 'the break-glass admin still gets in');
      const changedKind = await admin.put(`/api/platform/identity-providers/${providerId}`, {
        kind: 'oidc',
        name: provider.name,
        emailDomains: [],
        oidc: { issuerUrl: 'https://idp.contoso.example', clientId: 'x' },
      });
      assert.equal(changedKind.json().errors[0].field, 'kind');
    });
  });
}
