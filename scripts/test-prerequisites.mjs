#!/usr/bin/env node
// What `npm test` needs from the machine, checked before anything is built or run. The tests use
// the real parts: Chromium for the web UI, OpenSSL for certificates, a Mosquitto with its
// dynamic-security plugin and an OpenLDAP slapd that the tests start themselves, and a
// PostgreSQL with a database `test` that trusts 127.0.0.1.
//
// As root on a machine with apt-get (Debian, as CI is) it installs what is missing and starts
// PostgreSQL. Otherwise it stops at once, naming what is missing and the command that installs it.
// With everything present it only looks: a few file checks and one PostgreSQL query.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const CHROMIUM = process.env.FLOWGATE_CHROMIUM ?? '/usr/bin/chromium';
const DATABASE_URL = process.env.FLOWGATE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const executable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
};
const onPath = (command) => (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && executable(path.join(dir, command)));
const mosquittoPlugin = () => {
  try {
    return fs.readdirSync('/usr/lib', { withFileTypes: true }).some((e) => e.isDirectory() && fs.existsSync(`/usr/lib/${e.name}/mosquitto_dynamic_security.so`));
  } catch {
    return false;
  }
};

/** Debian packages the tests need, each with how to tell it is there and who needs it. */
const PACKAGES = [
  { apt: 'chromium', what: `Chromium at ${CHROMIUM}`, why: 'the web UI tests (e2e/) drive it', present: () => executable(CHROMIUM) },
  { apt: 'openssl', what: 'openssl', why: 'the SSO, LDAP and syslog tests make certificates with it', present: () => onPath('openssl') },
  {
    apt: 'mosquitto',
    what: 'Mosquitto (/usr/sbin/mosquitto, mosquitto_ctrl, the dynamic-security plugin)',
    why: 'the external-broker tests start their own',
    present: () => executable('/usr/sbin/mosquitto') && onPath('mosquitto_ctrl') && mosquittoPlugin(),
  },
  {
    apt: 'bubblewrap',
    what: 'bubblewrap (bwrap)',
    why: 'hosted instances run in its sandbox, and the tests attack it',
    present: () => onPath('bwrap'),
  },
  {
    apt: 'slapd',
    what: 'OpenLDAP slapd (/usr/sbin/slapd, slapadd, slappasswd)',
    why: 'the LDAP sign-in tests start their own directory',
    present: () => ['slapd', 'slapadd', 'slappasswd'].every((c) => executable(`/usr/sbin/${c}`)),
  },
];

const isRoot = process.getuid?.() === 0;
const canInstall = isRoot && onPath('apt-get');
const url = new URL(DATABASE_URL);
const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname);
const log = (line) => console.log(`test prerequisites: ${line}`);

/** Stops the run, naming what is missing and how to get it. */
function fail(lines, commands) {
  console.error(['', 'npm test cannot run on this machine yet:', ...lines.map((l) => `  - ${l}`), ...(commands.length ? ['', ...commands] : []), ''].join('\n'));
  process.exit(1);
}

function installCommand(packages) {
  const install = `apt-get install -y ${packages.join(' ')}`;
  const them = packages.length > 1 ? 'them' : 'it';
  if (!onPath('apt-get')) return [`Install ${them} with your system's packages; on Debian: ${install}`];
  return [`Install ${them} with:`, ``, `  sudo ${install}`, ``, `(npm test run as root installs ${them} itself.)`];
}

let pg;
try {
  pg = (await import('pg')).default;
} catch {
  fail(["the project's dependencies are not installed"], ['Install them with:', '', '  npm ci']);
}

const DATABASE = decodeURIComponent(url.pathname.slice(1));
/** The test database's address with another database in it. */
const urlOf = (database) => Object.assign(new URL(url), { pathname: `/${encodeURIComponent(database)}` }).toString();

/** null when the test database answers; otherwise the PostgreSQL error code or the socket error's. */
async function probe() {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error.code ?? error.message;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Debian's PostgreSQL cluster version, when one is installed (/etc/postgresql/<version>/main). */
const clusterVersion = () => {
  try {
    return (
      fs
        .readdirSync('/etc/postgresql')
        .filter((v) => fs.existsSync(`/etc/postgresql/${v}/main`))
        .sort((a, b) => Number(a) - Number(b))
        .at(-1) ?? null
    );
  } catch {
    return null;
  }
};
const refused = (code) => ['ECONNREFUSED', 'ENOENT', 'EADDRNOTAVAIL'].includes(code);
const authRefused = (code) => code === '28P01' || code === '28000';
const postgresHint = (code) =>
  authRefused(code)
    ? `it refused the sign-in: the tests expect trust auth for ${url.username || 'postgres'} from 127.0.0.1 (pg_hba.conf: host all all 127.0.0.1/32 trust)`
    : refused(code)
      ? `nothing answers there${local && clusterVersion() ? ` (start it: sudo pg_ctlcluster ${clusterVersion()} main start)` : ''}`
      : `it answered ${code}`;

// 1. Packages. PostgreSQL's server is needed only when nothing answers at the test database's
//    address and it is this machine's.
let database = await probe();
const missing = PACKAGES.filter((p) => !p.present());
const needServer = local && refused(database) && (!onPath('pg_ctlcluster') || clusterVersion() === null);
if (needServer) missing.push({ apt: 'postgresql', what: `PostgreSQL (nothing answers at ${url.host})`, why: 'the store and HTTP tests run on it as well as on SQLite' });

if (missing.length > 0) {
  if (!canInstall) {
    // PostgreSQL's state too, when it is wrong, so that one message names everything.
    const postgres = database !== null && database !== '3D000' && !needServer ? [`PostgreSQL at ${url.host}, database ${DATABASE}: ${postgresHint(database)}`] : [];
    fail([...missing.map((p) => `${p.what}: ${p.why}`), ...postgres], installCommand(missing.map((p) => p.apt)));
  }
  log(`installing ${missing.map((p) => p.apt).join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-q', ...missing.map((p) => p.apt)], { stdio: 'inherit', env });
  } catch {
    fail([`apt-get could not install ${missing.map((p) => p.apt).join(' ')} (its output is above)`], []);
  }
  const still = missing.filter((p) => p.present && !p.present());
  if (still.length > 0)
    fail(
      still.map((p) => `${p.what}: still missing after apt-get install ${p.apt}`),
      [],
    );
  database = await probe();
}

// 2. PostgreSQL running on this machine and trusting 127.0.0.1, as CI's does: as root, the
//    first line of pg_hba.conf (marked flowgate-ci) says so.
const version = local && isRoot ? clusterVersion() : null;
function trustLoopback() {
  const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
  const text = fs.readFileSync(hba, 'utf8');
  if (text.includes('flowgate-ci') || /^host\s+all\s+all\s+127\.0\.0\.1\/32\s+trust\b/m.test(text)) return false;
  fs.writeFileSync(hba, `host all all 127.0.0.1/32 trust # flowgate-ci\n${text}`);
  return true;
}
if (local && refused(database)) {
  if (version === null) {
    fail(
      [`PostgreSQL is not running at ${url.host}`],
      ['Start it with:', '', `  sudo pg_ctlcluster ${clusterVersion() ?? '<version>'} main start`, '', '(npm test run as root starts it itself.)'],
    );
  }
  trustLoopback();
  log(`starting PostgreSQL ${version}`);
  try {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  } catch {
    fail(
      [`PostgreSQL at ${url.host}: nothing answers there, and pg_ctlcluster could not start cluster ${version}/main (above)`],
      ['Start a PostgreSQL there, or set FLOWGATE_TEST_DATABASE_URL to one the tests may use.'],
    );
  }
  for (let i = 0; i < 60 && refused((database = await probe())); i++) await new Promise((r) => setTimeout(r, 500));
}
if (authRefused(database) && version !== null && trustLoopback()) {
  log(`PostgreSQL ${version} now trusts 127.0.0.1 (pg_hba.conf)`);
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'reload'], { stdio: 'inherit' });
  database = await probe();
}

// 3. The database itself.
if (database === '3D000') {
  log(`creating database ${DATABASE}`);
  const admin = new pg.Client({ connectionString: urlOf('postgres'), connectionTimeoutMillis: 3000 });
  admin.on('error', () => {});
  try {
    await admin.connect();
    await admin.query(`create database ${pg.escapeIdentifier(DATABASE)}`);
  } catch (error) {
    fail(
      [`PostgreSQL at ${url.host} has no database ${DATABASE}, and creating it failed: ${error.message}`],
      [`Create it with: createdb -h ${url.hostname} -p ${url.port || 5432} -U ${url.username || 'postgres'} ${DATABASE}`],
    );
  } finally {
    await admin.end().catch(() => {});
  }
  database = await probe();
}
if (database !== null) {
  fail(
    [`PostgreSQL at ${url.host}, database ${DATABASE}: ${postgresHint(database)}`],
    ['Set FLOWGATE_TEST_DATABASE_URL to a PostgreSQL the tests may use (a database of their own), or fix the one above.'],
  );
}
