import { randomToken, safeEqual } from './security/crypto.ts';

/**
 * The one-time setup link. While the platform has no user, whoever holds the token
 * printed at start may create the first admin; nobody else, even on loopback.
 */
export function createSetupGate(setupRequired: boolean) {
  let token: string | null = setupRequired ? randomToken(24) : null;
  return {
    get token(): string | null {
      return token;
    },
    check(candidate: string): boolean {
      return token !== null && safeEqual(candidate, token);
    },
    consume(): void {
      token = null;
    },
  };
}

export type SetupGate = ReturnType<typeof createSetupGate>;
