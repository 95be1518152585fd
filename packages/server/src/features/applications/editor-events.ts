import type { AuditEventName, AuditOutcome } from '@flowgate/core';
import type { AuditEvent } from '@flowgate/protocol';
import type { RequestContext } from '../../context.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';

/**
 * Node-RED's audit event names, as the platform's stable ones. What its settings do not
 * forward (successful reads, the editor's WebSocket opening and closing) is in
 * node-red-settings-runtime.cjs, with why.
 */
const EDITOR_EVENTS: Record<string, AuditEventName> = {
  'flows.set': 'editor.flows.deployed',
  'flow.add': 'editor.flow.changed',
  'flow.update': 'editor.flow.changed',
  'flow.remove': 'editor.flow.changed',
  'flows.setState': 'editor.flows.state.changed',
  'nodes.install': 'editor.nodes.installed',
  'nodes.remove': 'editor.nodes.removed',
  // Node-RED 4 names an enable or disable so; older versions nodes.enable and nodes.disable.
  'nodes.module.set': 'editor.nodes.changed',
  'nodes.info.set': 'editor.nodes.changed',
  'nodes.enable': 'editor.nodes.changed',
  'nodes.disable': 'editor.nodes.changed',
  'modules.install': 'editor.modules.installed',
  'library.set': 'editor.library.saved',
  'settings.update': 'editor.settings.changed',
  'context.delete': 'editor.context.deleted',
  'auth.invalid-token': 'editor.token.refused',
  'auth.invalid-client': 'editor.token.refused',
  'comms.auth.fail': 'editor.token.refused',
  'permission.fail': 'editor.permission.denied',
  'api.error': 'editor.request.failed',
  'auth.login.revoke': 'editor.signed-out',
};

/** The platform's name for a Node-RED audit event. */
export function editorEventName(nodeRedEvent: string): AuditEventName {
  const named = EDITOR_EVENTS[nodeRedEvent];
  if (named) return named;
  // Node-RED's sign-in failures (there are no Node-RED users: nobody should try).
  if (nodeRedEvent.startsWith('auth.login.fail')) return 'editor.token.refused';
  // Reads come through only when they failed.
  if (nodeRedEvent.endsWith('.get')) return 'editor.request.failed';
  return 'editor.other';
}

/** A refusal is denied; Node-RED names a failure with `error` in its details. */
function outcomeOf(event: AuditEventName, e: AuditEvent): AuditOutcome {
  if (event === 'editor.token.refused' || event === 'editor.permission.denied') return 'denied';
  return e.details.error === undefined ? 'success' : 'failure';
}

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
      const event = editorEventName(e.event);
      await tx.record(
        { event, outcome: outcomeOf(event, e), target, teamId, details: { nodeRedEvent: e.event, nodeRedTime: new Date(e.ts).toISOString(), ...e.details } },
        (e.user && people.get(e.user)) || ctx,
      );
    }
  });
}
