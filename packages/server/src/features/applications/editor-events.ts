import type { AuditEventName } from '@flowgate/core';
import type { AuditEvent } from '@flowgate/protocol';
import type { RequestContext } from '../../context.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';

/** Node-RED's audit event names, as the platform's stable ones. */
const EDITOR_EVENTS: Record<string, AuditEventName> = {
  'flows.set': 'editor.flows.deployed',
  'nodes.install': 'editor.nodes.installed',
  'nodes.remove': 'editor.nodes.removed',
  'nodes.enable': 'editor.nodes.changed',
  'nodes.disable': 'editor.nodes.changed',
  'library.set': 'editor.library.saved',
};

/**
 * Records the audit events a Node-RED runtime (a hosted instance's or a device's) sent
 * through its agent, in one transaction, each attributed to the person Node-RED names:
 * the platform minted their editor token.
 */
export async function recordEditorEvents(
  deps: { auditLog: AuditLog; identityStore: IdentityStore },
  ctx: RequestContext,
  target: { type: 'instance' | 'device'; id: string },
  teamId: string,
  events: readonly AuditEvent[],
): Promise<void> {
  const people = new Map<string, RequestContext>();
  for (const e of events) {
    if (!e.user || people.has(e.user)) continue;
    const user = await deps.identityStore.userByEmail(e.user);
    people.set(e.user, { ...ctx, actor: user ? { type: 'user', userId: user.id, label: user.email } : { type: 'anonymous', userId: null, label: e.user } });
  }
  await deps.auditLog.transaction(ctx, async (tx) => {
    for (const e of events) {
      await tx.record(
        { event: EDITOR_EVENTS[e.event] ?? 'editor.other', target, teamId, details: { nodeRedEvent: e.event, nodeRedTime: new Date(e.ts).toISOString(), ...e.details } },
        (e.user && people.get(e.user)) || ctx,
      );
    }
  });
}
