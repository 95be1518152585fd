import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Clock, RequestContext } from '../../context.ts';
import type { ConduitsTable, ScopeKind, SucMembersTable, SucsTable, ZoneMembersTable, ZonesTable } from '../../db/schema.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../http/errors.ts';
import type { AuditLog, AuditedTransaction } from '../audit/audit.service.ts';
import type { AuditStore } from '../audit/audit.store.ts';
import type { ComplianceStore, ScopeThing } from './compliance.store.ts';
import { derivedConduits, type DerivedConduit } from './derived-conduits.ts';
import { sucDiagram } from './suc-diagram.ts';

/** A thing named in a request: its kind and id. */
export interface ScopeRef {
  kind: ScopeKind;
  id: string;
}

export interface SucInput {
  name: string;
  description: string;
  owner: string;
  boundary: string;
}

/** SL-T per foundational requirement, FR1..FR7, each 1..4 (the route's schema checks the range, the database again). */
export type SlVector = [number, number, number, number, number, number, number];

export interface ZoneInput {
  name: string;
  description: string;
  slTarget: SlVector;
  members: ScopeRef[];
}

export interface ConduitInput {
  name: string;
  fromZoneId: string | null;
  toZoneId: string | null;
  protocols: string;
  ports: string;
  direction: ConduitsTable['direction'];
  initiator: ConduitsTable['initiator'];
  crossing: string;
}

export interface ComplianceServiceDeps {
  store: ComplianceStore;
  auditLog: AuditLog;
  auditStore: AuditStore;
  clock: Clock;
  config: Pick<Config, 'publicUrl' | 'mqttPort' | 'externalMqtt' | 'instanceRuntime'>;
}

export const slVectorOf = (zone: ZonesTable): SlVector => [zone.sl_t_fr1, zone.sl_t_fr2, zone.sl_t_fr3, zone.sl_t_fr4, zone.sl_t_fr5, zone.sl_t_fr6, zone.sl_t_fr7];
const slColumns = (v: SlVector) => ({ sl_t_fr1: v[0], sl_t_fr2: v[1], sl_t_fr3: v[2], sl_t_fr4: v[3], sl_t_fr5: v[4], sl_t_fr6: v[5], sl_t_fr7: v[6] });
const refKey = (r: { kind: string; id: string }) => `${r.kind}:${r.id}`;
const memberRef = (m: Pick<SucMembersTable, 'kind' | 'member_id'>): ScopeRef => ({ kind: m.kind, id: m.member_id });

/**
 * Systems under Consideration, their zones and conduits (IEC 62443-3-2): what a compliance lead
 * scopes, platform records spanning teams. Every change is one audited transaction whose events
 * name the SuC as their target, so a SuC's history is the audit log's events about it.
 */
export function createComplianceService({ store, auditLog, auditStore, clock, config }: ComplianceServiceDeps) {
  const iso = () => clock.now().toISOString();

  async function requireSuc(id: string): Promise<SucsTable> {
    const suc = await store.sucById(id);
    if (!suc) throw new NotFoundError('System under Consideration');
    return suc;
  }
  async function requireZone(id: string): Promise<ZonesTable> {
    const zone = await store.zoneById(id);
    if (!zone) throw new NotFoundError('Zone');
    return zone;
  }
  async function requireConduit(id: string): Promise<ConduitsTable> {
    const conduit = await store.conduitById(id);
    if (!conduit) throw new NotFoundError('Conduit');
    return conduit;
  }

  /** Each named thing must exist (an unknown id is 404, as anywhere); answers its team. */
  async function resolveRefs(refs: readonly ScopeRef[], tx: AuditedTransaction): Promise<Map<string, string | null>> {
    const teams = new Map<string, string | null>();
    const kinds = [...new Set(refs.map((r) => r.kind))];
    for (const kind of kinds) {
      const ids = [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.id))];
      const found = await store.teamsOf(kind, ids, tx.trx);
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError(`${kind[0]!.toUpperCase()}${kind.slice(1)} ${missing}`);
      for (const [id, team] of found) teams.set(`${kind}:${id}`, team);
    }
    return teams;
  }

  /** A zone's assets: in the SuC's scope, named once, and in no other zone of the SuC. */
  async function checkZoneMembers(suc: SucsTable, zoneId: string, members: readonly ScopeRef[], tx: AuditedTransaction): Promise<ZoneMembersTable[]> {
    const keys = members.map(refKey);
    if (new Set(keys).size !== keys.length) throw new ValidationError('An asset is named twice in the zone.', [{ field: 'members', message: 'duplicate' }]);
    const scope = new Set((await store.membersOf(suc.id, tx.trx)).map((m) => refKey(memberRef(m))));
    const outside = members.find((m) => !scope.has(refKey(m)));
    if (outside) {
      // Unknown altogether: 404 as anywhere; known but not scoped: say what to do.
      await resolveRefs([outside], tx);
      throw new ValidationError(`${outside.kind} ${outside.id} is not in "${suc.name}": add it to the SuC's scope first.`, [{ field: 'members', message: 'not in the SuC' }]);
    }
    const zones = await store.zonesOf(suc.id, tx.trx);
    const taken = (await store.zoneMembersOfSuc(suc.id, tx.trx)).filter((m) => m.zone_id !== zoneId);
    for (const member of members) {
      const clash = taken.find((t) => t.kind === member.kind && t.member_id === member.id);
      if (clash) {
        const other = zones.find((z) => z.id === clash.zone_id)?.name ?? clash.zone_id;
        throw new ConflictError(`${member.kind} ${member.id} is already in zone "${other}" of "${suc.name}": an asset is in one zone of a SuC. Take it out of "${other}" first.`);
      }
    }
    return members.map((m) => ({ zone_id: zoneId, suc_id: suc.id, kind: m.kind, member_id: m.id }));
  }

  /** A conduit's ends: zones of this SuC, or the outside (null); not both outside, not a zone to itself. */
  async function checkConduitEnds(suc: SucsTable, input: Pick<ConduitInput, 'fromZoneId' | 'toZoneId'>, tx: AuditedTransaction): Promise<void> {
    if (input.fromZoneId === null && input.toZoneId === null) {
      throw new ValidationError('A conduit joins a zone of the SuC to another zone or to the outside: name at least one zone.', [
        { field: 'fromZoneId', message: 'both ends outside' },
      ]);
    }
    if (input.fromZoneId !== null && input.fromZoneId === input.toZoneId) {
      throw new ValidationError('A conduit joins two different zones: communication inside a zone is not a conduit.', [{ field: 'toZoneId', message: 'same zone' }]);
    }
    for (const [field, zoneId] of [
      ['fromZoneId', input.fromZoneId],
      ['toZoneId', input.toZoneId],
    ] as const) {
      if (zoneId === null) continue;
      const zone = await store.zoneById(zoneId, tx.trx);
      if (!zone) throw new NotFoundError('Zone');
      if (zone.suc_id !== suc.id) {
        throw new ValidationError(`Zone "${zone.name}" belongs to another System under Consideration: a conduit joins zones of "${suc.name}", or one of them to the outside.`, [
          { field, message: 'zone of another SuC' },
        ]);
      }
    }
  }

  const conduitFacts = (c: Pick<ConduitsTable, 'name' | 'from_zone_id' | 'to_zone_id' | 'protocols' | 'ports' | 'direction' | 'initiator' | 'crossing'>) => ({
    name: c.name,
    fromZoneId: c.from_zone_id,
    toZoneId: c.to_zone_id,
    protocols: c.protocols,
    ports: c.ports,
    direction: c.direction,
    initiator: c.initiator,
    crossing: c.crossing,
  });
  const zoneFacts = (z: ZonesTable, members: readonly ScopeRef[]) => ({ name: z.name, description: z.description, slTarget: slVectorOf(z).join(','), members });

  /** Everything on a SuC's page, names resolved from the catalogue. */
  async function view(id: string) {
    const suc = await requireSuc(id);
    const [members, zones, zoneMembers, conduits, catalogue] = await Promise.all([
      store.membersOf(id),
      store.zonesOf(id),
      store.zoneMembersOfSuc(id),
      store.conduitsOf(id),
      store.catalogue(),
    ]);
    const byKey = new Map(catalogue.map((t) => [refKey(t), t]));
    const thing = (ref: ScopeRef): ScopeThing =>
      byKey.get(refKey(ref)) ?? { kind: ref.kind, id: ref.id, name: `(${ref.kind} ${ref.id})`, teamId: null, teamName: null, detail: '' };
    const zoneOf = new Map(zoneMembers.map((m) => [refKey(memberRef(m)), m.zone_id]));
    const derived: DerivedConduit[] = derivedConduits(config, zones, zoneMembers);
    return {
      suc,
      members: members.map((m) => ({ ...thing(memberRef(m)), zoneId: zoneOf.get(refKey(memberRef(m))) ?? null, addedAt: m.added_at })),
      zones: zones.map((z) => ({ zone: z, members: zoneMembers.filter((m) => m.zone_id === z.id).map((m) => thing(memberRef(m))) })),
      conduits,
      derived,
    };
  }

  return {
    /** Every SuC with how much it holds. */
    async list() {
      const [sucs, members, zones, conduits] = await Promise.all([store.sucs(), store.allMembers(), store.zoneCounts(), store.conduitCounts()]);
      const count = (rows: Array<{ suc_id: string; n: number }>, id: string) => Number(rows.find((r) => r.suc_id === id)?.n ?? 0);
      return sucs.map((suc) => ({ suc, members: members.filter((m) => m.suc_id === suc.id).length, zones: count(zones, suc.id), conduits: count(conduits, suc.id) }));
    },

    /** Everything that may be scoped, with the SuCs each is in: none is the unscoped remainder. */
    async scope() {
      const [catalogue, members] = await Promise.all([store.catalogue(), store.allMembers()]);
      const sucsOf = new Map<string, string[]>();
      for (const m of members) sucsOf.set(refKey(memberRef(m)), [...(sucsOf.get(refKey(memberRef(m))) ?? []), m.suc_id]);
      return catalogue.map((thing) => ({ ...thing, sucIds: sucsOf.get(refKey(thing)) ?? [] }));
    },

    view,

    async create(input: SucInput, ctx: RequestContext): Promise<SucsTable> {
      const suc: SucsTable = {
        id: randomUUID(),
        name: input.name.trim(),
        description: input.description.trim(),
        owner: input.owner.trim(),
        boundary: input.boundary.trim(),
        created_at: iso(),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        if (await store.sucByName(suc.name, tx.trx)) throw new ConflictError(`A System under Consideration named "${suc.name}" exists already.`);
        await store.insertSuc(suc, tx.trx);
        await tx.record({ event: 'compliance.suc.created', target: { type: 'suc', id: suc.id }, details: { name: suc.name, owner: suc.owner, boundary: suc.boundary } });
      });
      return suc;
    },

    async update(id: string, patch: Partial<SucInput>, ctx: RequestContext): Promise<SucsTable> {
      const before = await requireSuc(id);
      const changes: Partial<SucsTable> = { updated_at: iso() };
      for (const field of ['name', 'description', 'owner', 'boundary'] as const) if (patch[field] !== undefined) changes[field] = patch[field].trim();
      await auditLog.transaction(ctx, async (tx) => {
        if (changes.name !== undefined && changes.name !== before.name && (await store.sucByName(changes.name, tx.trx))) {
          throw new ConflictError(`A System under Consideration named "${changes.name}" exists already.`);
        }
        await store.updateSuc(id, changes, tx.trx);
        await tx.record({
          event: 'compliance.suc.updated',
          target: { type: 'suc', id },
          details: { before: { name: before.name, description: before.description, owner: before.owner, boundary: before.boundary }, after: patch },
        });
      });
      return { ...before, ...changes };
    },

    async remove(id: string, ctx: RequestContext): Promise<void> {
      const suc = await requireSuc(id);
      await auditLog.transaction(ctx, async (tx) => {
        const zones = await store.zonesOf(id, tx.trx);
        const conduits = await store.conduitsOf(id, tx.trx);
        await store.deleteSuc(id, tx.trx);
        await tx.record({
          event: 'compliance.suc.deleted',
          target: { type: 'suc', id },
          details: { name: suc.name, zones: zones.map((z) => z.name), conduits: conduits.map((c) => c.name) },
        });
      });
    },

    /** Sets what is inside the SuC: the whole list, audited as what was added and what was taken out (and which zones lost it). */
    async setMembers(id: string, members: ScopeRef[], ctx: RequestContext): Promise<void> {
      const suc = await requireSuc(id);
      const keys = members.map(refKey);
      if (new Set(keys).size !== keys.length) throw new ValidationError('A thing is named twice.', [{ field: 'members', message: 'duplicate' }]);
      await auditLog.transaction(ctx, async (tx) => {
        const teams = await resolveRefs(members, tx);
        const current = await store.membersOf(id, tx.trx);
        const currentKeys = new Set(current.map((m) => refKey(memberRef(m))));
        const wanted = new Set(keys);
        const added = members.filter((m) => !currentKeys.has(refKey(m)));
        const removed = current.filter((m) => !wanted.has(refKey(memberRef(m))));
        if (added.length === 0 && removed.length === 0) return;
        const zoned = (await store.zoneMembersOfSuc(id, tx.trx)).filter((z) => removed.some((r) => r.kind === z.kind && r.member_id === z.member_id));
        await store.deleteMembers(id, removed, tx.trx);
        await store.insertMembers(
          added.map((m) => ({ suc_id: id, kind: m.kind, member_id: m.id, team_id: teams.get(refKey(m)) ?? null, added_at: iso() })),
          tx.trx,
        );
        await tx.record({
          event: 'compliance.scope.changed',
          target: { type: 'suc', id },
          details: {
            name: suc.name,
            added,
            removed: removed.map(memberRef),
            ...(zoned.length ? { leftZones: zoned.map((z) => ({ kind: z.kind, id: z.member_id, zoneId: z.zone_id })) } : {}),
          },
        });
      });
    },

    async createZone(sucId: string, input: ZoneInput, ctx: RequestContext): Promise<ZonesTable> {
      const suc = await requireSuc(sucId);
      const zone: ZonesTable = {
        id: randomUUID(),
        suc_id: sucId,
        name: input.name.trim(),
        description: input.description.trim(),
        ...slColumns(input.slTarget),
        created_at: iso(),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        if (await store.zoneByName(sucId, zone.name, tx.trx)) throw new ConflictError(`"${suc.name}" has a zone named "${zone.name}" already.`);
        const rows = await checkZoneMembers(suc, zone.id, input.members, tx);
        await store.insertZone(zone, tx.trx);
        await store.replaceZoneMembers(zone.id, rows, tx.trx);
        await tx.record({ event: 'compliance.zone.created', target: { type: 'suc', id: sucId }, details: { zoneId: zone.id, ...zoneFacts(zone, input.members) } });
      });
      return zone;
    },

    async updateZone(zoneId: string, patch: Partial<ZoneInput>, ctx: RequestContext): Promise<ZonesTable> {
      const before = await requireZone(zoneId);
      const suc = await requireSuc(before.suc_id);
      const changes: Partial<ZonesTable> = {
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.description !== undefined ? { description: patch.description.trim() } : {}),
        ...(patch.slTarget !== undefined ? slColumns(patch.slTarget) : {}),
        updated_at: iso(),
      };
      const after = { ...before, ...changes };
      await auditLog.transaction(ctx, async (tx) => {
        if (changes.name !== undefined && changes.name !== before.name && (await store.zoneByName(suc.id, changes.name, tx.trx))) {
          throw new ConflictError(`"${suc.name}" has a zone named "${changes.name}" already.`);
        }
        const beforeMembers = (await store.zoneMembersOfSuc(suc.id, tx.trx)).filter((m) => m.zone_id === zoneId).map(memberRef);
        if (patch.members !== undefined) await store.replaceZoneMembers(zoneId, await checkZoneMembers(suc, zoneId, patch.members, tx), tx.trx);
        await store.updateZone(zoneId, changes, tx.trx);
        await tx.record({
          event: 'compliance.zone.updated',
          target: { type: 'suc', id: suc.id },
          details: { zoneId, before: zoneFacts(before, beforeMembers), after: zoneFacts(after, patch.members ?? beforeMembers) },
        });
      });
      return after;
    },

    async removeZone(zoneId: string, ctx: RequestContext): Promise<void> {
      const zone = await requireZone(zoneId);
      await auditLog.transaction(ctx, async (tx) => {
        const conduits = await store.conduitsOfZone(zoneId, tx.trx);
        await store.deleteZone(zoneId, tx.trx);
        await tx.record({
          event: 'compliance.zone.deleted',
          target: { type: 'suc', id: zone.suc_id },
          details: { zoneId, name: zone.name, slTarget: slVectorOf(zone).join(','), conduitsRemoved: conduits.map((c) => ({ id: c.id, name: c.name })) },
        });
      });
    },

    async createConduit(sucId: string, input: ConduitInput, ctx: RequestContext): Promise<ConduitsTable> {
      const suc = await requireSuc(sucId);
      const conduit: ConduitsTable = {
        id: randomUUID(),
        suc_id: sucId,
        name: input.name.trim(),
        from_zone_id: input.fromZoneId,
        to_zone_id: input.toZoneId,
        protocols: input.protocols.trim(),
        ports: input.ports.trim(),
        direction: input.direction,
        initiator: input.initiator,
        crossing: input.crossing.trim(),
        created_at: iso(),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        await checkConduitEnds(suc, input, tx);
        await store.insertConduit(conduit, tx.trx);
        await tx.record({ event: 'compliance.conduit.created', target: { type: 'suc', id: sucId }, details: { conduitId: conduit.id, ...conduitFacts(conduit) } });
      });
      return conduit;
    },

    async updateConduit(conduitId: string, patch: Partial<ConduitInput>, ctx: RequestContext): Promise<ConduitsTable> {
      const before = await requireConduit(conduitId);
      const suc = await requireSuc(before.suc_id);
      const changes: Partial<ConduitsTable> = {
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.fromZoneId !== undefined ? { from_zone_id: patch.fromZoneId } : {}),
        ...(patch.toZoneId !== undefined ? { to_zone_id: patch.toZoneId } : {}),
        ...(patch.protocols !== undefined ? { protocols: patch.protocols.trim() } : {}),
        ...(patch.ports !== undefined ? { ports: patch.ports.trim() } : {}),
        ...(patch.direction !== undefined ? { direction: patch.direction } : {}),
        ...(patch.initiator !== undefined ? { initiator: patch.initiator } : {}),
        ...(patch.crossing !== undefined ? { crossing: patch.crossing.trim() } : {}),
        updated_at: iso(),
      };
      const after = { ...before, ...changes };
      await auditLog.transaction(ctx, async (tx) => {
        await checkConduitEnds(suc, { fromZoneId: after.from_zone_id, toZoneId: after.to_zone_id }, tx);
        await store.updateConduit(conduitId, changes, tx.trx);
        await tx.record({
          event: 'compliance.conduit.updated',
          target: { type: 'suc', id: suc.id },
          details: { conduitId, before: conduitFacts(before), after: conduitFacts(after) },
        });
      });
      return after;
    },

    async removeConduit(conduitId: string, ctx: RequestContext): Promise<void> {
      const conduit = await requireConduit(conduitId);
      await auditLog.transaction(ctx, async (tx) => {
        await store.deleteConduit(conduitId, tx.trx);
        await tx.record({ event: 'compliance.conduit.deleted', target: { type: 'suc', id: conduit.suc_id }, details: { conduitId, ...conduitFacts(conduit) } });
      });
    },

    /** The SuC's history: the audit events about it, newest first, a page at a time. */
    async history(id: string, before: number | null, limit: number) {
      await requireSuc(id);
      return auditStore.page({ target: { type: 'suc', id } }, before, limit);
    },

    /** The zones-and-conduits diagram, as SVG. */
    async diagram(id: string): Promise<string> {
      const v = await view(id);
      return sucDiagram({
        sucName: v.suc.name,
        zones: v.zones.map(({ zone, members }) => ({ id: zone.id, name: zone.name, slTarget: slVectorOf(zone), members: members.map((m) => `${m.kind}: ${m.name}`) })),
        conduits: v.conduits,
        derived: v.derived,
      });
    },
  };
}

export type ComplianceService = ReturnType<typeof createComplianceService>;
