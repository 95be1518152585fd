import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'ldapts';

/**
 * A real directory for the tests: Debian's OpenLDAP slapd in a temporary directory, on
 * free loopback ports, with plain LDAP (offering StartTLS) and LDAPS, a certificate from a
 * test CA, a read-only service account, three people and groups that nest (one pair in a
 * cycle). The ACLs are a locked-down directory's: nothing for anonymous but a bind, so the
 * product has to search with its service account, as against Active Directory.
 *
 * No memberOf overlay: slapadd bypasses overlays, so memberOf would stay empty for the
 * seeded groups; the product walks `member` itself, as it must for nested AD groups.
 */

type Person = { dn: string; mail: string; password: string; displayName: string };

export interface LdapFixture {
  /** ldap://127.0.0.1:PORT — plain LDAP that also offers StartTLS */
  url: string;
  /** ldaps://127.0.0.1:PORT2 — LDAP over TLS */
  ldapsUrl: string;
  /** PEM of the test CA that signed the server certificate (SAN IP:127.0.0.1 and DNS:localhost) */
  caCertificate: string;
  /** PEM of the server certificate itself (tests read its expiry) */
  serverCertificate: string;
  baseDn: string;
  /** A read-only service account. */
  bindDn: string;
  bindPassword: string;
  /** people: uid -> { dn, mail, password, displayName } */
  users: Record<'ada' | 'bob' | 'carol', Person>;
  stop(): Promise<void>;
}

// Not harness.ts's freePort: importing the harness loads the whole app.
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const password = () => `${randomBytes(12).toString('base64url')}-Aa1!`;
const ssha = (secret: string) => execFileSync('/usr/sbin/slappasswd', ['-h', '{SSHA}', '-s', secret]).toString().trim();

/** A CA and a server certificate it signs, valid for 127.0.0.1 and localhost. */
function certificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '365', '-subj', '/CN=Contoso test CA');
  openssl(
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  );
  // -copy_extensions carries the SAN over from the request; x509 -req drops it otherwise.
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '365', '-copy_extensions', 'copy', '-out', 'server.pem');
}

function entry(dn: string, attributes: Record<string, string | string[]>): string {
  const lines = [`dn: ${dn}`];
  for (const [name, values] of Object.entries(attributes)) for (const value of [values].flat()) lines.push(`${name}: ${value}`);
  return lines.join('\n');
}

export async function startLdapServer(): Promise<LdapFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-ldap-'));
  const baseDn = 'dc=contoso,dc=example';
  const people = `ou=people,${baseDn}`;
  const groups = `ou=groups,${baseDn}`;
  const bindDn = `cn=flowgate,ou=services,${baseDn}`;
  const bindPassword = password();
  const person = (uid: string, displayName: string): Person => ({ dn: `uid=${uid},${people}`, mail: `${uid}@contoso.example`, password: password(), displayName });
  const users = { ada: person('ada', 'Ada Lovelace'), bob: person('bob', 'Bob Builder'), carol: person('carol', 'Carol Danvers') };
  const group = (cn: string, member: string[]) => entry(`cn=${cn},${groups}`, { objectClass: 'groupOfNames', cn, member });

  // Setup that fails (openssl, slapadd) should not leave the directory behind.
  try {
    certificates(dir);
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(
      path.join(dir, 'slapd.conf'),
      [
        ...['core', 'cosine', 'inetorgperson', 'nis'].map((schema) => `include /etc/ldap/schema/${schema}.schema`),
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        `pidfile ${dir}/slapd.pid`,
        // Debian's slapd is built with GnuTLS: PEM files, and the key must not be encrypted.
        `TLSCACertificateFile ${dir}/ca.pem`,
        `TLSCertificateFile ${dir}/server.pem`,
        `TLSCertificateKeyFile ${dir}/server.key`,
        'database mdb',
        `suffix "${baseDn}"`,
        `directory ${dir}/data`,
        'access to attrs=userPassword by self write by anonymous auth by * none',
        'access to * by users read by * none',
      ].join('\n') + '\n',
    );

    const ldif =
      [
        entry(baseDn, { objectClass: ['dcObject', 'organization'], dc: 'contoso', o: 'Contoso' }),
        ...['people', 'groups', 'services'].map((ou) => entry(`ou=${ou},${baseDn}`, { objectClass: 'organizationalUnit', ou })),
        entry(bindDn, { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'flowgate', userPassword: ssha(bindPassword) }),
        ...Object.entries(users).map(([uid, user]) =>
          entry(user.dn, {
            objectClass: 'inetOrgPerson',
            uid,
            cn: user.displayName,
            sn: user.displayName.split(' ')[1],
            displayName: user.displayName,
            mail: user.mail,
            userPassword: ssha(user.password),
          }),
        ),
        group('plant-engineers', [users.ada.dn]),
        group('all-staff', [`cn=plant-engineers,${groups}`, users.bob.dn]),
        group('flowgate-admins', [users.carol.dn]),
        group('loop-a', [`cn=loop-b,${groups}`, users.carol.dn]),
        group('loop-b', [`cn=loop-a,${groups}`]),
      ].join('\n\n') + '\n';
    execFileSync('/usr/sbin/slapadd', ['-f', path.join(dir, 'slapd.conf'), '-b', baseDn], { input: ldif, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const [port, ldapsPort] = [await freePort(), await freePort()];
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  // -d makes slapd stay in the foreground (any level, 0 included); 'none' keeps it quiet but
  // for its startup errors, which it still prints to stderr.
  const slapd = spawn('/usr/sbin/slapd', ['-d', 'none', '-f', path.join(dir, 'slapd.conf'), '-h', `${url}/ ${ldapsUrl}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  slapd.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => slapd.once('exit', () => resolve()));
  const running = () => slapd.exitCode === null && slapd.signalCode === null;
  // A test file that dies before stop() would otherwise leave slapd listening.
  const kill = () => slapd.kill();
  process.once('exit', kill);
  const stop = async () => {
    process.off('exit', kill);
    if (running()) slapd.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };

  // Ready when the service account can bind; slapd opens its ports after reading the database.
  for (const deadline = Date.now() + 10_000; ;) {
    if (!running()) {
      await stop();
      throw new Error(`slapd exited (${slapd.exitCode ?? slapd.signalCode}): ${stderr}`);
    }
    const client = new Client({ url, connectTimeout: 500 });
    try {
      await client.bind(bindDn, bindPassword);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`slapd did not answer: ${String(error)}\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  return {
    url,
    ldapsUrl,
    caCertificate: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    serverCertificate: fs.readFileSync(path.join(dir, 'server.pem'), 'utf8'),
    baseDn,
    bindDn,
    bindPassword,
    users,
    stop,
  };
}
