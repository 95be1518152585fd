import { X509Certificate } from 'node:crypto';
import * as oidc from 'openid-client';
import type { IdentityProvidersTable } from '../../db/schema.ts';
import type { SecretBox } from '../../security/crypto.ts';
import {
  clockSkewOf,
  describeCertificate,
  MAX_CLOCK_SKEW_SECONDS,
  skewProblem,
  SsoRefusal,
  type ProviderCertificate,
  type ProviderCheck,
  type ProviderProfile,
} from './profile.ts';
import { isLoopbackHost, oidcSettings } from './provider-settings.ts';

/**
 * OpenID Connect, the protocol half (openid-client): discovery, the authorization code flow
 * with PKCE S256, state and nonce, and the ID token read into a ProviderProfile. What a
 * sign-in then does with the profile is the same for every kind (sso.service.ts).
 */

/** RFC 8176 methods that are a second factor (or a strong one): the provider checked MFA. */
const MFA_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'sms', 'fpt', 'face', 'iris', 'pop']);

export function createOidc(deps: { secrets: SecretBox; publicUrl: string }) {
  const configs = new Map<string, { key: string; config: Promise<oidc.Configuration> }>();
  const redirectUri = (providerId: string) => `${deps.publicUrl}/api/auth/sso/${providerId}/callback`;

  /** The provider's OpenID configuration (discovery), kept until the provider changes. */
  function configOf(provider: IdentityProvidersTable): Promise<oidc.Configuration> {
    const cached = configs.get(provider.id);
    if (cached?.key === provider.updated_at) return cached.config;
    const settings = oidcSettings(provider);
    const issuer = new URL(settings.issuerUrl);
    // client_secret_basic: the default of OpenID Connect, and of most providers.
    const config = oidc.discovery(issuer, settings.clientId, undefined, oidc.ClientSecretBasic(deps.secrets.open(provider.secret_enc!).toString('utf8')), {
      ...(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname) ? { execute: [oidc.allowInsecureRequests] } : {}),
      timeout: 10,
    });
    configs.set(provider.id, { key: provider.updated_at, config });
    config.catch(() => configs.delete(provider.id));
    return config;
  }

  /**
   * The certificates in the provider's signing keys (x5c of its JWKS; Entra ID and AD FS
   * publish them, many providers publish bare keys, which do not expire).
   */
  async function signingCertificates(provider: IdentityProvidersTable, now: Date): Promise<ProviderCertificate[]> {
    const uri = (await configOf(provider)).serverMetadata().jwks_uri;
    if (!uri) return [];
    const jwks = (await (await fetch(uri, { signal: AbortSignal.timeout(10_000) })).json()) as { keys?: Array<{ kid?: string; x5c?: unknown }> };
    return (jwks.keys ?? [])
      .filter((key) => Array.isArray(key.x5c) && typeof key.x5c[0] === 'string')
      .map((key) => describeCertificate(new X509Certificate(Buffer.from((key.x5c as string[])[0]!, 'base64')), now, key.kid ?? null));
  }

  return {
    redirectUri,
    signingCertificates,
    forget: (providerId: string) => configs.delete(providerId),

    /** "Test": discovery, and what it says; the errors a person can act on. */
    async check(provider: IdentityProvidersTable, now: Date): Promise<ProviderCheck> {
      const wellKnown = `${oidcSettings(provider).issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration`;
      let response: Response;
      try {
        response = await fetch(wellKnown, { signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        return { ok: false, problem: `The identity provider is unreachable: ${wellKnown} did not answer (${(error as Error).message}).` };
      }
      if (!response.ok) return { ok: false, problem: `${wellKnown} answered ${response.status}: is the issuer URL right?` };
      const skew = clockSkewOf(response, now);
      if (skew !== null && Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, problem: skewProblem(skew) };
      configs.delete(provider.id);
      try {
        const metadata = (await configOf(provider)).serverMetadata();
        const certificates = await signingCertificates(provider, now).catch(() => []);
        return {
          ok: true,
          endpoint: metadata.authorization_endpoint ?? '',
          clockSkewSeconds: skew,
          certificates,
          details: [`issuer ${metadata.issuer}`, `sign-in at ${metadata.authorization_endpoint ?? '?'}`],
        };
      } catch (error) {
        return { ok: false, problem: `Discovery failed: ${(error as Error).message}. The issuer in the provider's metadata must be exactly the issuer URL.` };
      }
    },

    /** The first leg: where to send the browser, with the state, PKCE verifier and nonce to keep. */
    async start(provider: IdentityProvidersTable, state: string): Promise<{ url: string; verifier: string; nonce: string }> {
      const config = await configOf(provider).catch((error: unknown) => {
        throw new SsoRefusal('idp-unreachable', `${provider.name} could not be reached: ${(error as Error).message}`);
      });
      const verifier = oidc.randomPKCECodeVerifier();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri(provider.id),
        scope: oidcSettings(provider).scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url: url.toString(), verifier, nonce };
    },

    /** The second leg: exchanges the code and validates the ID token. */
    async finish(provider: IdentityProvidersTable, callbackUrl: URL, expected: { state: string; verifier: string; nonce: string }): Promise<ProviderProfile> {
      const settings = oidcSettings(provider);
      let claims: oidc.IDToken;
      try {
        const tokens = await oidc.authorizationCodeGrant(await configOf(provider), callbackUrl, {
          pkceCodeVerifier: expected.verifier,
          expectedState: expected.state,
          expectedNonce: expected.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims()!;
      } catch (error) {
        // openid-client wraps oauth4webapi's error, which says what failed (`unexpected JWT "nonce" claim value`) and names the claim.
        const inner = (error as Error).cause instanceof Error ? ((error as Error).cause as Error & { cause?: { claim?: unknown } }) : null;
        const claim = typeof inner?.cause?.claim === 'string' ? inner.cause.claim : null;
        const message = inner ? `${(error as Error).message} (${inner.message})` : (error as Error).message;
        const reason = claim === 'nonce' ? 'nonce-mismatch' : /fetch failed|ECONNREFUSED|timed? ?out/i.test(message) ? 'idp-unreachable' : 'token-invalid';
        throw new SsoRefusal(reason, `${provider.name}'s answer was refused: ${message}`);
      }
      const rawGroups = claims[settings.groupsClaim];
      const methods = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
      const context = typeof claims.acr === 'string' ? claims.acr : null;
      return {
        subject: claims.sub,
        email: typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '',
        emailVerified: claims.email_verified !== false,
        name: typeof claims.name === 'string' ? claims.name : null,
        groups: Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : null,
        methods,
        context,
        mfaByIdp: methods.some((m) => MFA_AMR.has(m)) || (context !== null && (JSON.parse(provider.mfa_acr_values) as string[]).includes(context)),
      };
    },
  };
}

export type Oidc = ReturnType<typeof createOidc>;
