/**
 * What every Chromium walk needs: the real server on a free loopback port (SQLite), Debian's
 * Chromium through playwright-core, pages that know the server's address, and screenshots
 * of each step when FLOWGATE_E2E_SHOTS=<dir> is set.
 *
 * Needs the built UI (npm run build:web) and Chromium at /usr/bin/chromium (or FLOWGATE_CHROMIUM).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, restartTestApp, startTestApp, type TestApp } from '../packages/server/test/harness.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.FLOWGATE_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.FLOWGATE_E2E_SHOTS ?? null;
export const STEP_TIMEOUT = 10_000;

export interface BrowserWalk {
  t: TestApp;
  /** http://127.0.0.1:PORT (or the public host given), the address links and invitations point at. */
  base: string;
  browser: Browser;
  /** A page in a context of its own (its own cookies: another person). */
  newPage(permissions?: string[]): Promise<Page>;
  shot(page: Page, name: string): Promise<void>;
  /** Stops the platform and starts it again on the same database and port; `whileDown` runs in between. */
  restartPlatform(whileDown?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the platform and Chromium; `shotPrefix` keeps one walk's screenshots apart from
 * another's. `publicHost`: the name people reach the platform by (127.0.0.1 unless given:
 * `localhost` makes instances' origins, `<id>.localhost`, same-site with it); `env`: more
 * of the platform's configuration.
 */
export async function startBrowserWalk(shotPrefix = '', options: { publicHost?: string; env?: Record<string, string> } = {}): Promise<BrowserWalk> {
  assert.ok(fs.existsSync(path.join(ROOT, 'packages/web/dist/index.html')), 'build the UI first: npm run build:web');
  // Before the platform starts: a walk that cannot have its browser fails here, at once.
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (or FLOWGATE_CHROMIUM): apt-get install chromium, or npm test as root, which installs it`);
  const port = await freePort();
  const base = `http://${options.publicHost ?? '127.0.0.1'}:${port}`;
  const t = await startTestApp('sqlite', { FLOWGATE_PUBLIC_URL: base, ...options.env });
  let browser: Browser;
  try {
    // Listening before anything else: hosted instances' agents call the server back on this port.
    await t.app.listen({ host: '127.0.0.1', port });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 30_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  } catch (error) {
    // The test file's `after` has no walk to close: a platform left listening would keep the file running.
    await t.close();
    throw error;
  }
  return {
    t,
    base,
    browser,
    async newPage(permissions = []) {
      const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
      if (permissions.length) await context.grantPermissions(permissions, { origin: base });
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_TIMEOUT);
      page.setDefaultNavigationTimeout(STEP_TIMEOUT);
      return page;
    },
    async shot(page, name) {
      if (!SHOTS) return;
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `${shotPrefix}${name}.png`), fullPage: true, timeout: STEP_TIMEOUT });
    },
    restartPlatform: (whileDown) => restartTestApp(t, port, whileDown),
    async close() {
      await browser.close();
      await t.close();
    },
  };
}

export interface Person {
  email: string;
  name: string;
  password: string;
}

/** Sets the platform up through its one-time link as `admin`, then creates a team; returns the team's id. */
export async function setUpPlatformWithTeam(h: BrowserWalk, page: Page, admin: Person, team: string): Promise<string> {
  await page.goto(`/setup?token=${h.t.context.setup.token}`);
  await page.getByLabel('Email', { exact: true }).fill(admin.email);
  await page.getByLabel('Name', { exact: true }).fill(admin.name);
  await page.getByLabel('Password', { exact: true }).fill(admin.password);
  await page.getByLabel('Repeat password').fill(admin.password);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await page.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
  await page.getByLabel('Team name').fill(team);
  await page.getByRole('button', { name: 'Create team' }).click();
  await page.getByRole('heading', { name: team, level: 1 }).waitFor();
  return new URL(page.url()).pathname.split('/')[2]!;
}

/**
 * The owner (signed in on `owner`) invites `person` with `role` through the API, with the
 * page's own session; the person, in a browser of their own, follows the link and creates
 * their account, which signs them in. Returns their page, on the team.
 */
export async function invitePerson(h: BrowserWalk, owner: Page, teamId: string, team: string, person: Person, role: string): Promise<Page> {
  const invitation = await owner.evaluate(
    async ({ teamId, email, role }) => {
      const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
      const response = await fetch(`/api/teams/${teamId}/invitations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: JSON.stringify({ email, role }),
      });
      return (await response.json()) as { link: string };
    },
    { teamId, email: person.email, role },
  );
  const page = await h.newPage();
  await page.goto(invitation.link);
  await page.getByLabel('Your name').fill(person.name);
  await page.getByLabel('Password', { exact: true }).fill(person.password);
  await page.getByLabel('Repeat password').fill(person.password);
  // Creating the account signs them in: they land on the team.
  await page.getByRole('button', { name: 'Create account and join' }).click();
  await page.getByRole('heading', { name: team, level: 1 }).waitFor();
  return page;
}

/** A call to the API with the page's own session, as the page itself would make it. */
export async function apiAs<T>(page: Page, method: string, url: string, body?: unknown): Promise<T> {
  return page.evaluate(
    async ({ method, url, body }) => {
      const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
      const response = await fetch(url, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'x-csrf-token': session.csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
      return (response.status === 204 ? null : await response.json()) as T;
    },
    { method, url, body },
  );
}

/** A call to the platform's API with the page's session: its status and its JSON (null when none), whatever the status. */
export function api<T = Record<string, unknown>>(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken: string };
      const response = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json().catch(() => null)) as T };
    },
    { method, path, body },
  );
}
