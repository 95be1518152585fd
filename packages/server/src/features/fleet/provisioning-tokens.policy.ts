import type { Holds } from '../../http/holds.ts';
import type { TokenState } from './fleet.service.ts';

/**
 * What the caller may do to a provisioning token: the one statement of this rule. The service
 * enforces it, and every token the API answers carries it as `allowed`.
 */
export function provisioningTokenActions(holds: Holds, token: { state: TokenState }) {
  return {
    /** Stop it registering devices. Only an active token can: an expired, used or revoked one registers none already. */
    revoke: holds('fleet:provision') && token.state === 'active',
  };
}
