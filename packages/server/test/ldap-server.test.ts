import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { startLdapServer, type LdapFixture } from './ldap-server.ts';

// The fixture's own check: what the LDAP tests rely on holds (TLS both ways, the service
// bind, the ACLs that keep anonymous out).
let ldap: LdapFixture;
before(async () => {
  ldap = await startLdapServer();
});
after(() => ldap.stop());

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  // Only for ldaps: ldapts opens TLS at once when given tlsOptions, even on an ldap:// URL,
  // which a StartTLS port then drops.
  const client = new Client({ url, ...(url.startsWith('ldaps:') ? { tlsOptions: { ca: [ldap.caCertificate] } } : {}) });
  try {
    return await use(client);
  } finally {
    await client.unbind();
  }
}

test('the service account binds over StartTLS and finds a person by mail', async () => {
  await withClient(ldap.url, async (client) => {
    await client.startTLS({ ca: [ldap.caCertificate] });
    await client.bind(ldap.bindDn, ldap.bindPassword);
    const { searchEntries } = await client.search(`ou=people,${ldap.baseDn}`, { scope: 'sub', filter: '(mail=ada@contoso.example)', attributes: ['displayName'] });
    assert.deepEqual(searchEntries, [{ dn: ldap.users.ada.dn, displayName: 'Ada Lovelace' }]);
  });
});

test('the service account binds over LDAPS and reads the nested group', async () => {
  await withClient(ldap.ldapsUrl, async (client) => {
    await client.bind(ldap.bindDn, ldap.bindPassword);
    const { searchEntries } = await client.search(`cn=all-staff,ou=groups,${ldap.baseDn}`, { scope: 'base', attributes: ['member'] });
    assert.deepEqual(searchEntries[0]?.member, [`cn=plant-engineers,ou=groups,${ldap.baseDn}`, ldap.users.bob.dn]);
  });
});

test('a person binds with her password, not with a wrong one', async () => {
  await withClient(ldap.ldapsUrl, (client) => client.bind(ldap.users.ada.dn, ldap.users.ada.password));
  await withClient(ldap.ldapsUrl, (client) => assert.rejects(client.bind(ldap.users.ada.dn, 'not her password'), InvalidCredentialsError));
});

test('anonymous sees nothing', async () => {
  await withClient(ldap.url, async (client) => {
    // slapd answers a base anonymous may not read with noSuchObject, not revealing it exists.
    await assert.rejects(client.search(ldap.baseDn, { scope: 'sub', filter: '(objectClass=*)' }), NoSuchObjectError);
  });
});
