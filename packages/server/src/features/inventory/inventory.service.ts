import { analyseFlows, connectionKey, snapshotHash } from '@flowgate/core';
import type { Connection, FlowInventory, NodeRedNode, SnapshotContent } from '@flowgate/core';
import type { MachineFacts } from '@flowgate/protocol';
import type { Clock, RequestContext } from '../../context.ts';
import { NotFoundError, ValidationError } from '../../http/errors.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { InventoryStore } from './inventory.store.ts';

/**
 * The automatic inventory (IEC 62443-3-3 SR 7.8 component inventory): every hosted instance
 * and every device that is not revoked, with what its agent last read of its machine, and
 * what it runs read from the flows of the snapshot it runs. Nobody types any of it.
 *
 * Filtered and paged here rather than in SQL: the two kinds come from two tables, and
 * "online" is a time window; a platform holds hundreds to a few thousand of them, a read of
 * both tables is what the Fleet page's list costs per team already.
 */

/** Within this of its last report an item counts as online: a report every 30 s, an instance's written at most once a minute. */
export const ONLINE_WINDOW_MS = 150_000;

export type InventoryKind = 'instance' | 'device';

export interface InventoryFilter {
  teamId?: string | undefined;
  siteId?: string | undefined;
  kind?: InventoryKind | undefined;
  online?: boolean | undefined;
  /** Only what is placed in this zone. */
  zoneId?: string | undefined;
  limit: number;
  offset: number;
}

export interface InventoryItem {
  kind: InventoryKind;
  id: string;
  name: string;
  teamId: string;
  teamName: string;
  /** A device's site; null for a hosted instance, which runs on the platform. */
  siteId: string | null;
  siteName: string | null;
  /** The zones it is placed in: one per SuC it is in (a thing may be in several SuCs). */
  zones: ZonePlacement[];
  applicationName: string | null;
  agentVersion: string | null;
  nodeRedVersion: string | null;
  nodeVersion: string | null;
  os: MachineFacts['os'] | null;
  modules: MachineFacts['modules'];
  factsReportedAt: string | null;
  lastSeenAt: string | null;
  online: boolean;
  state: string;
  runningSnapshotId: string | null;
  runningHash: string | null;
}

export interface ZonePlacement {
  sucId: string;
  sucName: string;
  zoneId: string;
  zoneName: string;
}

export type Decision = 'confirmed' | 'dismissed';

export interface SuggestedConnection extends Connection {
  /** connectionKey(): what a decision is stored by; null when the address is not literal. */
  key: string | null;
  decision: Decision | null;
}

/** Stored facts: MachineFacts, with the agent version for an instance (its row has no column for it). */
type StoredFacts = MachineFacts & { agentVersion?: string };

function parseFacts(text: string | null): StoredFacts | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as StoredFacts;
  } catch {
    return null;
  }
}

export function createInventoryService(deps: { store: InventoryStore; auditLog: AuditLog; clock: Clock }) {
  const { store, auditLog, clock } = deps;

  function isOnline(lastSeenAt: string | null, now: number): boolean {
    return lastSeenAt !== null && now - Date.parse(lastSeenAt) <= ONLINE_WINDOW_MS;
  }

  async function allItems(filter: Pick<InventoryFilter, 'teamId' | 'siteId' | 'kind'>): Promise<InventoryItem[]> {
    const now = clock.now().getTime();
    // Instances run on the platform, at no site: a site filter leaves them out.
    const wantInstances = filter.kind !== 'device' && !filter.siteId;
    const wantDevices = filter.kind !== 'instance';
    const [instances, devices, placements] = await Promise.all([
      wantInstances ? store.instances(filter.teamId) : [],
      wantDevices ? store.devices(filter) : [],
      store.zonePlacements(),
    ]);
    const zones = new Map<string, ZonePlacement[]>();
    for (const p of placements) {
      const key = `${p.kind} ${p.member_id}`;
      zones.set(key, [...(zones.get(key) ?? []), { sucId: p.suc_id, sucName: p.suc_name, zoneId: p.zone_id, zoneName: p.zone_name }]);
    }
    const items: InventoryItem[] = [];
    for (const i of instances) {
      const facts = parseFacts(i.facts);
      items.push({
        kind: 'instance',
        id: i.id,
        name: i.name,
        teamId: i.team_id,
        teamName: i.team_name,
        siteId: null,
        siteName: null,
        zones: zones.get(`instance ${i.id}`) ?? [],
        applicationName: i.application_name,
        agentVersion: facts?.agentVersion ?? null,
        nodeRedVersion: facts?.nodeRedVersion ?? i.node_red_version,
        nodeVersion: facts?.nodeVersion ?? null,
        os: facts?.os ?? null,
        modules: facts?.modules ?? [],
        factsReportedAt: i.facts_reported_at,
        lastSeenAt: i.last_seen_at,
        // A stopped instance's agent is gone; its last report says nothing of now.
        online: i.desired_state === 'running' && i.status !== 'stopped' && isOnline(i.last_seen_at, now),
        state: i.status,
        runningSnapshotId: i.running_snapshot_id,
        runningHash: i.running_hash ?? null,
      });
    }
    for (const d of devices) {
      const facts = parseFacts(d.facts);
      items.push({
        kind: 'device',
        id: d.id,
        name: d.name,
        teamId: d.team_id,
        teamName: d.team_name,
        siteId: d.site_id,
        siteName: d.site_name,
        zones: zones.get(`device ${d.id}`) ?? [],
        applicationName: d.application_name ?? null,
        agentVersion: d.agent_version,
        nodeRedVersion: facts?.nodeRedVersion ?? d.node_red_version,
        nodeVersion: facts?.nodeVersion ?? null,
        os: facts?.os ?? null,
        modules: facts?.modules ?? [],
        factsReportedAt: d.facts_reported_at,
        lastSeenAt: d.last_seen_at,
        online: isOnline(d.last_seen_at, now),
        state: d.state,
        runningSnapshotId: d.running_snapshot_id,
        runningHash: d.running_hash ?? null,
      });
    }
    return items.sort((a, b) => a.teamName.localeCompare(b.teamName) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  async function requireItem(kind: InventoryKind, id: string): Promise<InventoryItem> {
    const item = (await allItems({ kind })).find((i) => i.id === id);
    if (!item) throw new NotFoundError(kind === 'instance' ? 'Instance' : 'Device');
    return item;
  }

  /** What the item runs, from the flows of its running snapshot, checked against the snapshot's hash first (SR 3.4). */
  async function analysisOf(item: InventoryItem, ctx: RequestContext): Promise<{ analysis: FlowInventory | null; problem: string | null }> {
    if (!item.runningSnapshotId) return { analysis: null, problem: 'It runs no snapshot the platform holds (the empty flow, or none reported yet).' };
    const snapshot = await store.snapshotContent(item.runningSnapshotId);
    if (!snapshot) return { analysis: null, problem: 'The snapshot it runs is no longer on the platform.' };
    const content = JSON.parse(snapshot.content) as SnapshotContent;
    if (snapshotHash(content) !== snapshot.hash) {
      await auditLog.record(ctx, {
        event: 'snapshot.integrity.failed',
        outcome: 'failure',
        target: { type: 'snapshot', id: snapshot.id },
        teamId: item.teamId,
        details: { action: 'inventory', hash: snapshot.hash },
      });
      return { analysis: null, problem: 'The stored snapshot no longer matches its hash: not read.' };
    }
    return { analysis: analyseFlows(content.flows as NodeRedNode[]), problem: null };
  }

  /** The flows of a snapshot, read once however many items run it (a fleet runs a few snapshots on many devices). */
  async function analysesOf(items: InventoryItem[], ctx: RequestContext): Promise<Map<string, FlowInventory>> {
    const analyses = new Map<string, FlowInventory>();
    const snapshots = new Map<string, InventoryItem>();
    for (const item of items) if (item.runningSnapshotId && !snapshots.has(item.runningSnapshotId)) snapshots.set(item.runningSnapshotId, item);
    for (const [snapshotId, item] of snapshots) {
      const { analysis } = await analysisOf(item, ctx);
      if (analysis) analyses.set(snapshotId, analysis);
    }
    return analyses;
  }

  return {
    /**
     * Every suggested conduit of every item (or one team's): what the zone diagram draws from,
     * with the compliance lead's word on each. Only connections with a literal address: one
     * read from a variable or the message has nothing to draw a line to.
     */
    async conduits(filter: { teamId?: string | undefined; limit: number; offset: number }, ctx: RequestContext) {
      const items = await allItems({ teamId: filter.teamId });
      const [analyses, decisions] = await Promise.all([analysesOf(items, ctx), store.allDecisions()]);
      const decided = new Map(decisions.map((d) => [`${d.item_kind} ${d.item_id} ${d.connection_key}`, d.decision]));
      const conduits = items.flatMap((item) =>
        (item.runningSnapshotId ? (analyses.get(item.runningSnapshotId)?.connections ?? []) : []).flatMap((c) => {
          const key = connectionKey(c);
          if (key === null) return [];
          return [
            {
              kind: item.kind,
              itemId: item.id,
              itemName: item.name,
              teamId: item.teamId,
              teamName: item.teamName,
              siteName: item.siteName,
              key,
              protocol: c.protocol,
              host: c.host ?? '',
              port: c.port,
              tls: c.tls,
              nodeType: c.nodeType,
              configNodeId: c.configNodeId,
              name: c.name,
              decision: decided.get(`${item.kind} ${item.id} ${key}`) ?? null,
            },
          ];
        }),
      );
      return { conduits: conduits.slice(filter.offset, filter.offset + filter.limit), total: conduits.length };
    },

    async list(filter: InventoryFilter) {
      let items = await allItems(filter);
      if (filter.online !== undefined) items = items.filter((i) => i.online === filter.online);
      if (filter.zoneId !== undefined) items = items.filter((i) => i.zones.some((z) => z.zoneId === filter.zoneId));
      // The drawn split: over the filtered set, before paging.
      const summary = {
        instances: items.filter((i) => i.kind === 'instance').length,
        devices: items.filter((i) => i.kind === 'device').length,
        online: items.filter((i) => i.online).length,
        offline: items.filter((i) => !i.online).length,
        teams: [
          ...items
            .reduce(
              (m, i) => m.set(i.teamId, { teamId: i.teamId, teamName: i.teamName, count: (m.get(i.teamId)?.count ?? 0) + 1 }),
              new Map<string, { teamId: string; teamName: string; count: number }>(),
            )
            .values(),
        ],
      };
      return { items: items.slice(filter.offset, filter.offset + filter.limit), total: items.length, summary };
    },

    async detail(kind: InventoryKind, id: string, ctx: RequestContext) {
      const item = await requireItem(kind, id);
      const { analysis, problem } = await analysisOf(item, ctx);
      const decisions = new Map((await store.decisionsOf(kind, id)).map((d) => [d.connection_key, d.decision]));
      const suggestions: SuggestedConnection[] = (analysis?.connections ?? []).map((c) => {
        const key = connectionKey(c);
        return { ...c, key, decision: key ? (decisions.get(key) ?? null) : null };
      });
      return { item, analysis, analysisProblem: problem, suggestions };
    },

    /**
     * The compliance lead confirms a suggested conduit (it becomes part of the record), or
     * dismisses it (not one: a test broker, a lab PLC); null takes the word back. Audited.
     */
    async decide(kind: InventoryKind, id: string, key: string, decision: Decision | null, ctx: RequestContext): Promise<void> {
      const item = await requireItem(kind, id);
      const { analysis } = await analysisOf(item, ctx);
      const connection = analysis?.connections.find((c) => connectionKey(c) === key);
      if (!connection) throw new ValidationError(`${item.name} runs no connection to ${key}.`, [{ field: 'key', message: 'is not a suggested connection of this item' }]);
      await auditLog.transaction(ctx, async (tx) => {
        if (decision === null) await store.deleteDecision(kind, id, key, tx.trx);
        else
          await store.putDecision(
            { team_id: item.teamId, item_kind: kind, item_id: id, connection_key: key, decision, decided_by: ctx.actor.userId, decided_at: clock.now().toISOString() },
            tx.trx,
          );
        await tx.record({
          event: decision === 'confirmed' ? 'inventory.conduit.confirmed' : decision === 'dismissed' ? 'inventory.conduit.dismissed' : 'inventory.conduit.reset',
          target: { type: kind, id },
          teamId: item.teamId,
          details: { key, protocol: connection.protocol, host: connection.host, port: connection.port, nodeType: connection.nodeType, name: item.name },
        });
      });
    },
  };
}

export type InventoryService = ReturnType<typeof createInventoryService>;
