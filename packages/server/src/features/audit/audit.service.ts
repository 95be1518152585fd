import type { Transaction } from 'kysely';
import type { AuditEventName, AuditOutcome, AuditRecord } from '@flowgate/core';
import type { Alerts } from '../../alerts.ts';
import type { Clock, RequestContext } from '../../context.ts';
import type { Database } from '../../db/database.ts';
import type { Schema } from '../../db/schema.ts';
import { AuditUnavailableError, DomainError } from '../../http/errors.ts';
import type { AuditInput, AuditStore } from './audit.store.ts';

export interface AuditEventInput {
  event: AuditEventName;
  outcome?: AuditOutcome;
  target?: { type: string; id: string } | null;
  teamId?: string | null;
  details?: Record<string, unknown>;
}

/** A transaction in which every change writes its audit event. */
export interface AuditedTransaction {
  trx: Transaction<Schema>;
  /** Who the transaction acts for, unless an event names someone else. */
  ctx: RequestContext;
  record(event: AuditEventInput, ctx?: RequestContext): Promise<void>;
}

export type AppendListener = (records: readonly AuditRecord[]) => void;

export interface AuditLogDeps {
  database: Database;
  store: AuditStore;
  clock: Clock;
  alerts: Alerts;
}

export function createAuditLog({ database, store, clock, alerts }: AuditLogDeps) {
  const listeners: AppendListener[] = [];

  function toInput(ctx: RequestContext, e: AuditEventInput): AuditInput {
    const details = { ...e.details, ...(ctx.actor.tokenId ? { tokenId: ctx.actor.tokenId } : {}) };
    return {
      occurredAt: clock.now().toISOString(),
      actorType: ctx.actor.type,
      actorId: ctx.actor.userId,
      actorLabel: ctx.actor.label,
      event: e.event,
      outcome: e.outcome ?? 'success',
      targetType: e.target?.type ?? null,
      targetId: e.target?.id ?? null,
      teamId: e.teamId ?? null,
      ip: ctx.ip,
      userAgent: ctx.userAgent ? ctx.userAgent.slice(0, 512) : null,
      details: JSON.stringify(details),
    };
  }

  function notify(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    // The change is committed: a failing listener must not turn it into an error.
    for (const listener of listeners) {
      try {
        listener(records);
      } catch {
        alerts.raise('audit-forwarding-failed', 'A listener for new audit events failed; see the server log.');
      }
    }
  }

  /**
   * Runs fn in one database transaction. Its audit events commit with the change or not
   * at all; listeners (forwarding, checkpoints) hear of them only after the commit.
   */
  async function transaction<T>(ctx: RequestContext, fn: (tx: AuditedTransaction) => Promise<T>): Promise<T> {
    const appended: AuditRecord[] = [];
    let auditFailed = false;
    let result: T;
    try {
      result = await database.db.transaction().execute(async (trx) => {
        const tx: AuditedTransaction = {
          trx,
          ctx,
          async record(event, as = ctx) {
            try {
              appended.push(...(await store.append(trx, [toInput(as, event)])));
            } catch (error) {
              auditFailed = true;
              throw error;
            }
          },
        };
        return fn(tx);
      });
    } catch (error) {
      if (auditFailed && !(error instanceof DomainError)) {
        alerts.raise('audit-write-failed', `An audit event could not be written: ${String((error as Error).message)}`);
        throw new AuditUnavailableError();
      }
      throw error;
    }
    alerts.clear('audit-write-failed');
    notify(appended);
    return result;
  }

  return {
    transaction,

    /** An event with no change of its own: a denied request, a failed sign-in, an export. */
    async record(ctx: RequestContext, event: AuditEventInput): Promise<void> {
      const alone = await store.appendAlone(toInput(ctx, event));
      if (alone) {
        alerts.clear('audit-write-failed');
        notify([alone]);
        return;
      }
      await transaction(ctx, (tx) => tx.record(event));
    },

    /** Batched ingestion: many events in one transaction (Node-RED and device events). */
    async recordMany(ctx: RequestContext, events: readonly AuditEventInput[]): Promise<void> {
      let records: AuditRecord[];
      try {
        records = await database.db.transaction().execute((trx) =>
          store.append(
            trx,
            events.map((e) => toInput(ctx, e)),
          ),
        );
      } catch (error) {
        alerts.raise('audit-write-failed', `A batch of ${events.length} audit events could not be written: ${String((error as Error).message)}`);
        throw new AuditUnavailableError();
      }
      alerts.clear('audit-write-failed');
      notify(records);
    },

    /** Hears of events after they commit; returns the way to stop listening. */
    onAppended(listener: AppendListener): () => void {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
