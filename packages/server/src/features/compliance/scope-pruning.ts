import type { ScopeKind, SucMembersTable } from '../../db/schema.ts';
import type { AuditedTransaction } from '../audit/audit.service.ts';

/**
 * Takes what is being deleted out of every SuC it is in, inside the deleting service's own
 * transaction, and puts that on each SuC's record (compliance.scope.pruned). A SuC's members
 * name things in several tables by id, without a foreign key (assets live in a table of their
 * own), so the services that delete those things call this: a deleted team (everything of it),
 * site, application or instance, and a revoked device, which runs nothing under the platform
 * any more. Their zone assignments go with them (zone_members cascades).
 */
export async function takeOutOfScope(tx: AuditedTransaction, which: { teamId: string } | { kind: ScopeKind; ids: readonly string[] }, reason: string): Promise<void> {
  const rows =
    'teamId' in which
      ? await tx.trx.selectFrom('suc_members').selectAll().where('team_id', '=', which.teamId).execute()
      : which.ids.length === 0
        ? []
        : await tx.trx
            .selectFrom('suc_members')
            .selectAll()
            .where('kind', '=', which.kind)
            .where('member_id', 'in', [...which.ids])
            .execute();
  const bySuc = new Map<string, SucMembersTable[]>();
  for (const row of rows) bySuc.set(row.suc_id, [...(bySuc.get(row.suc_id) ?? []), row]);
  for (const [sucId, removed] of bySuc) {
    for (const row of removed) {
      await tx.trx.deleteFrom('suc_members').where('suc_id', '=', sucId).where('kind', '=', row.kind).where('member_id', '=', row.member_id).execute();
    }
    await tx.record({
      event: 'compliance.scope.pruned',
      target: { type: 'suc', id: sucId },
      details: { reason, removed: removed.map((r) => ({ kind: r.kind, id: r.member_id })) },
    });
  }
}
