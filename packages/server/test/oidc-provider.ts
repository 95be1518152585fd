import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider for the tests (the oidc-provider package, the certified
 * implementation many identity products build on), on a free loopback port. Its sign-in
 * page is a plain form (user name, password) that a test fills over HTTP or in Chromium;
 * consent is given at once. Each account says its claims (email, name, groups) and the
 * amr its sign-in reports, so a test decides whether the provider "did MFA".
 *
 * oidc-provider 9 prints "Unsupported runtime" on Node 20; it runs, and these tests are
 * what says it does here.
 */

export type TestAccount = { password: string; email?: string; name?: string; groups?: string[]; amr?: string[]; emailVerified?: boolean };

export type TestOidcProvider = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, TestAccount>;
  /** Registers a redirect URI for the client (the platform's callback, known once its provider entry exists). */
  allowRedirect(uri: string): void;
  close(): Promise<void>;
};

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(uid: string, error: string | null): string {
  return `<!doctype html><html><head><title>Plant IdP: sign in</title></head><body>
<h1>Plant identity provider</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>User name <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function formBody(req: http.IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += (chunk as Buffer).toString();
  return new URLSearchParams(text);
}

/**
 * A signing key with a certificate (x5c) valid for `days`, made by openssl: how Entra ID
 * and AD FS publish their keys, whose expiry the platform warns of.
 */
function certifiedKey(days: number): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-idp-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        String(days),
        '-subj',
        '/CN=Plant IdP signing',
      ],
      { stdio: 'ignore' },
    );
    const jwk = createPrivateKey(fs.readFileSync(path.join(dir, 'key.pem'))).export({ format: 'jwk' });
    return { ...jwk, x5c: [new X509Certificate(fs.readFileSync(path.join(dir, 'cert.pem'))).raw.toString('base64')] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function startOidcProvider(options: { accounts: Record<string, TestAccount>; certificateDays?: number }): Promise<TestOidcProvider> {
  const accounts = new Map(Object.entries(options.accounts));
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'flowgate';
  const clientSecret = 'a client secret of the test provider';

  const redirectUris: string[] = [];
  // Its own signing key and lifetimes, rather than the package's development defaults.
  const signingKey = options.certificateDays ? certifiedKey(options.certificateDays) : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const build = () =>
    new Provider(issuer, {
      clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris, grant_types: ['authorization_code'], response_types: ['code'] }],
      scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
      claims: { openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      // Claims in the ID token itself, as the identity providers Flowgate supports send them.
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      cookies: { keys: ['test cookie key of the oidc provider'] },
      jwks: { keys: [{ ...signingKey, kid: 'test-key', use: 'sig', alg: 'RS256' }] },
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      async findAccount(_ctx, id) {
        const account = accounts.get(id);
        if (!account) return undefined;
        return {
          accountId: id,
          async claims() {
            return {
              sub: id,
              ...(account.email ? { email: account.email, email_verified: account.emailVerified ?? true } : {}),
              ...(account.name ? { name: account.name } : {}),
              ...(account.groups ? { groups: account.groups } : {}),
            };
          },
        };
      },
    });
  let provider = build();
  let callback = provider.callback();

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
    if (!match) return void callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'consent') {
        const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
        grant.addOIDCScope(String(details.params.scope));
        return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      }
      if (!match[2]) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return void res.end(page(details.uid, null));
      }
      const form = await formBody(req);
      const login = form.get('login') ?? '';
      const account = accounts.get(login);
      if (!account || account.password !== form.get('password')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return void res.end(page(details.uid, 'Wrong user name or password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: login, amr: account.amr ?? ['pwd'] } }, { mergeWithLastSubmission: false });
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    allowRedirect(uri) {
      redirectUris.push(uri);
      provider = build();
      callback = provider.callback();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
