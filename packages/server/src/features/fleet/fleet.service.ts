import { takeOutOfScope } from '../compliance/scope-pruning.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { FAILED_AGENT_STATES, type MachineFacts } from '@flowgate/protocol';
import type { Clock, RequestContext } from '../../context.ts';
import type { DeviceGroupsTable, DevicesTable, DeviceState, ProvisioningTokensTable, SitesTable } from '../../db/schema.ts';
import { ConflictError, CredentialRefusedError, NotFoundError, ValidationError } from '../../http/errors.ts';
import { checkedByRoute } from '../../http/holds.ts';
import { deviceActions } from './devices.policy.ts';
import { provisioningTokenActions } from './provisioning-tokens.policy.ts';
import { randomToken, sha256Hex, type SecretBox } from '../../security/crypto.ts';
import type { ApplicationsStore } from '../applications/applications.store.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { DeploymentsStore } from './deployments.store.ts';
import type { DeviceFilter, FleetStore } from './fleet.store.ts';

/** What a device presents once, to register: recognisable in a log or a leaked paste. */
export const PROVISIONING_TOKEN_PREFIX = 'fgp_';
export const DEFAULT_TOKEN_HOURS = 24;
/** A device's own credential, given once at registration. */
export const DEVICE_CREDENTIAL_PREFIX = 'fgd_';
/** How often a device is told to check in. */
export const CHECK_IN_SECONDS = 60;
/** How often the last-seen times gathered in memory are written, in one transaction. */
export const PRESENCE_FLUSH_MS = 10_000;
/**
 * How long reported states wait to be written together. A synchronous commit costs a disk
 * flush; ten thousand devices answering a rollout would otherwise queue ten thousand.
 */
export const STATUS_FLUSH_MS = 100;

export interface RegistrationInput {
  token: string;
  name: string;
  agentVersion: string;
  nodeRedVersion?: string | undefined;
}

/** What a device says on each check-in: its versions, and from an agent that runs Node-RED, what runs. */
export interface CheckInInput {
  agentVersion: string;
  nodeRedVersion?: string | undefined;
  state?: Exclude<DeviceState, 'unknown' | 'updating'> | undefined;
  runningSnapshotId?: string | null | undefined;
  error?: string | null | undefined;
  cpuPercent?: number | undefined;
  memoryMb?: number | undefined;
  /** What the agent read of its machine (an older agent sends none: the last ones stay). */
  facts?: MachineFacts | undefined;
}

/** States that mean the device does not run what it should: audited when a device enters one. */
const FAILED_STATES: ReadonlySet<DeviceState> = FAILED_AGENT_STATES;

export interface SiteInput {
  name: string;
  location: string;
  timeZone: string;
}

export interface TokenInput {
  siteId: string;
  groupId?: string | undefined;
  applicationId?: string | undefined;
  description?: string | undefined;
  expiresInHours?: number | undefined;
  singleUse?: boolean | undefined;
}

/** A time zone the platform can show times in: an IANA name (Europe/Berlin) or UTC. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export interface FleetDeps {
  store: FleetStore;
  /** Whether a group has a rollout that has not ended: such a group cannot be deleted. */
  rollouts: Pick<DeploymentsStore, 'activeRolloutOfGroup'>;
  applicationsStore: ApplicationsStore;
  auditLog: AuditLog;
  secrets: SecretBox;
  clock: Clock;
}

/** Last-seen and load from check-ins, kept in memory until the next flush. */
type Presence = { at: string; cpuPercent: number | null; memoryMb: number | null };

/**
 * Sites, device groups and provisioning tokens: the shape of a team's fleet before a
 * device joins it. Names are unique in a team; a site or group that a usable token still
 * names cannot be deleted (revoke the token first), so no device can register into
 * something that is gone.
 */
export function createFleetService({ store, rollouts, applicationsStore, auditLog, secrets, clock }: FleetDeps) {
  const iso = () => clock.now().toISOString();
  /**
   * Last-seen times from check-ins, not yet written: a heartbeat costs no database write.
   * Written every PRESENCE_FLUSH_MS and when the server closes; a crash loses at most
   * that long of last-seen, nothing else.
   */
  const unwrittenSeen = new Map<string, Presence>();
  /** Reported states, versions and errors not written yet (a failure is written at once, with its audit event). */
  const unwrittenStatus = new Map<string, Partial<DevicesTable>>();
  let statusTimer: NodeJS.Timeout | null = null;
  const withPresence = (device: DevicesTable): DevicesTable => {
    const seen = unwrittenSeen.get(device.id);
    const status = unwrittenStatus.get(device.id);
    const withStatus = status ? { ...device, ...status } : device;
    return seen ? { ...withStatus, last_seen_at: seen.at, cpu_percent: seen.cpuPercent, memory_mb: seen.memoryMb } : withStatus;
  };
  async function flushStatus(): Promise<number> {
    if (statusTimer) clearTimeout(statusTimer);
    statusTimer = null;
    if (unwrittenStatus.size === 0) return 0;
    const batch = [...unwrittenStatus];
    unwrittenStatus.clear();
    try {
      await store.updateDevices(batch);
    } catch (error) {
      for (const [id, changes] of batch) unwrittenStatus.set(id, { ...changes, ...unwrittenStatus.get(id) });
      throw error;
    }
    return batch.length;
  }
  function queueStatus(id: string, changes: Partial<DevicesTable>): void {
    unwrittenStatus.set(id, { ...unwrittenStatus.get(id), ...changes });
    statusTimer ??= setTimeout(() => void flushStatus().catch(() => undefined), STATUS_FLUSH_MS);
    statusTimer.unref();
  }

  async function requireSite(id: string): Promise<SitesTable> {
    const site = await store.siteById(id);
    if (!site) throw new NotFoundError('Site');
    return site;
  }
  async function requireGroup(id: string): Promise<DeviceGroupsTable> {
    const group = await store.groupById(id);
    if (!group) throw new NotFoundError('Device group');
    return group;
  }
  async function requireToken(id: string): Promise<ProvisioningTokensTable> {
    const token = await store.tokenById(id);
    if (!token) throw new NotFoundError('Provisioning token');
    return token;
  }
  async function requireDevice(id: string): Promise<DevicesTable> {
    const device = await store.deviceById(id);
    if (!device) throw new NotFoundError('Device');
    return device;
  }

  function checkTimeZone(timeZone: string): void {
    if (!isTimeZone(timeZone)) {
      throw new ValidationError(`"${timeZone}" is not a time zone: use an IANA name such as Europe/Berlin, or UTC.`, [{ field: 'timeZone', message: 'unknown time zone' }]);
    }
  }

  /** A resource named in a token must be the team's own: another team's answers as unknown. */
  function teamResource<T extends { team_id: string }>(teamId: string, found: T | undefined, what: string): T {
    if (!found || found.team_id !== teamId) throw new NotFoundError(what);
    return found;
  }

  return {
    sitesOfTeam: (teamId: string) => store.sitesOfTeam(teamId),
    groupsOfTeam: (teamId: string) => store.groupsOfTeam(teamId),
    tokensOfTeam: (teamId: string) => store.tokensOfTeam(teamId),

    async createSite(teamId: string, input: SiteInput, ctx: RequestContext): Promise<SitesTable> {
      checkTimeZone(input.timeZone);
      const site: SitesTable = {
        id: randomUUID(),
        team_id: teamId,
        name: input.name.trim(),
        location: input.location.trim(),
        time_zone: input.timeZone,
        created_at: iso(),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        if (await store.siteByName(teamId, site.name, tx.trx)) throw new ConflictError(`The team already has a site named "${site.name}".`);
        await store.insertSite(site, tx.trx);
        await tx.record({ event: 'site.created', target: { type: 'site', id: site.id }, teamId, details: { name: site.name, location: site.location, timeZone: site.time_zone } });
      });
      return site;
    },

    async updateSite(id: string, patch: Partial<SiteInput>, ctx: RequestContext): Promise<SitesTable> {
      const before = await requireSite(id);
      if (patch.timeZone !== undefined) checkTimeZone(patch.timeZone);
      const changes: Partial<SitesTable> = {
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.location !== undefined ? { location: patch.location.trim() } : {}),
        ...(patch.timeZone !== undefined ? { time_zone: patch.timeZone } : {}),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        if (changes.name !== undefined && changes.name !== before.name) {
          if (await store.siteByName(before.team_id, changes.name, tx.trx)) throw new ConflictError(`The team already has a site named "${changes.name}".`);
        }
        await store.updateSite(id, changes, tx.trx);
        await tx.record({
          event: 'site.updated',
          target: { type: 'site', id },
          teamId: before.team_id,
          details: { before: { name: before.name, location: before.location, timeZone: before.time_zone }, after: patch },
        });
      });
      return { ...before, ...changes };
    },

    async deleteSite(id: string, ctx: RequestContext): Promise<void> {
      const site = await requireSite(id);
      await auditLog.transaction(ctx, async (tx) => {
        const active = await store.activeTokensNaming('site_id', id, iso(), tx.trx);
        if (active.length) throw new ConflictError(`${active.length} provisioning token(s) still let devices register into "${site.name}": revoke them first.`);
        const devices = await store.liveDevicesAt(id, tx.trx);
        if (devices.length) throw new ConflictError(`${devices.length} device(s) are registered at "${site.name}": revoke them first.`);
        await store.deleteSite(id, tx.trx);
        await takeOutOfScope(tx, { kind: 'site', ids: [id] }, `site "${site.name}" deleted`);
        await tx.record({ event: 'site.deleted', target: { type: 'site', id }, teamId: site.team_id, details: { name: site.name } });
      });
    },

    async createGroup(teamId: string, input: { name: string; description: string }, ctx: RequestContext): Promise<DeviceGroupsTable> {
      const group: DeviceGroupsTable = {
        id: randomUUID(),
        team_id: teamId,
        name: input.name.trim(),
        description: input.description.trim(),
        target_snapshot_id: null,
        created_at: iso(),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        if (await store.groupByName(teamId, group.name, tx.trx)) throw new ConflictError(`The team already has a device group named "${group.name}".`);
        await store.insertGroup(group, tx.trx);
        await tx.record({ event: 'device.group.created', target: { type: 'device-group', id: group.id }, teamId, details: { name: group.name } });
      });
      return group;
    },

    async updateGroup(id: string, patch: { name?: string | undefined; description?: string | undefined }, ctx: RequestContext): Promise<DeviceGroupsTable> {
      const before = await requireGroup(id);
      const changes: Partial<DeviceGroupsTable> = {
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.description !== undefined ? { description: patch.description.trim() } : {}),
        updated_at: iso(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        if (changes.name !== undefined && changes.name !== before.name) {
          if (await store.groupByName(before.team_id, changes.name, tx.trx)) throw new ConflictError(`The team already has a device group named "${changes.name}".`);
        }
        await store.updateGroup(id, changes, tx.trx);
        await tx.record({
          event: 'device.group.updated',
          target: { type: 'device-group', id },
          teamId: before.team_id,
          details: { before: { name: before.name, description: before.description }, after: patch },
        });
      });
      return { ...before, ...changes };
    },

    async deleteGroup(id: string, ctx: RequestContext): Promise<void> {
      const group = await requireGroup(id);
      await auditLog.transaction(ctx, async (tx) => {
        const active = await store.activeTokensNaming('group_id', id, iso(), tx.trx);
        if (active.length) throw new ConflictError(`${active.length} provisioning token(s) still let devices register into "${group.name}": revoke them first.`);
        // Deleting the group would take its rollout with it, unended and unaudited.
        const rollout = await rollouts.activeRolloutOfGroup(id, tx.trx);
        if (rollout) throw new ConflictError(`The group has rollout ${rollout.id} (${rollout.state}): abort it first, or let it finish.`);
        await store.deleteGroup(id, tx.trx);
        await tx.record({ event: 'device.group.deleted', target: { type: 'device-group', id }, teamId: group.team_id, details: { name: group.name } });
      });
    },

    /** Makes a provisioning token; the token itself is returned here once and stored only as its hash. */
    async createToken(teamId: string, input: TokenInput, ctx: RequestContext): Promise<{ row: ProvisioningTokensTable; token: string }> {
      const site = teamResource(teamId, await store.siteById(input.siteId), 'Site');
      const group = input.groupId ? teamResource(teamId, await store.groupById(input.groupId), 'Device group') : null;
      const application = input.applicationId ? teamResource(teamId, await applicationsStore.applicationById(input.applicationId), 'Application') : null;
      const token = `${PROVISIONING_TOKEN_PREFIX}${randomToken(32)}`;
      const now = clock.now();
      const row: ProvisioningTokensTable = {
        id: randomUUID(),
        team_id: teamId,
        site_id: site.id,
        group_id: group?.id ?? null,
        application_id: application?.id ?? null,
        description: (input.description ?? '').trim(),
        token_hash: sha256Hex(token),
        single_use: input.singleUse ? 1 : 0,
        uses: 0,
        expires_at: new Date(now.getTime() + (input.expiresInHours ?? DEFAULT_TOKEN_HOURS) * 3_600_000).toISOString(),
        revoked_at: null,
        created_by: ctx.actor.userId,
        created_at: now.toISOString(),
      };
      await auditLog.transaction(ctx, async (tx) => {
        await store.insertToken(row, tx.trx);
        await tx.record({
          event: 'provisioning.token.created',
          target: { type: 'provisioning-token', id: row.id },
          teamId,
          // Never the token: its prefix and what it binds to.
          details: {
            site: site.name,
            group: group?.name ?? null,
            application: application?.name ?? null,
            singleUse: Boolean(row.single_use),
            expiresAt: row.expires_at,
            tokenPrefix: token.slice(0, 8),
          },
        });
      });
      return { row, token };
    },

    devicesOfTeam: async (teamId: string) => (await store.devicesOfTeam(teamId)).map(withPresence),
    devicesPage: async (teamId: string, filter: DeviceFilter, limit: number, offset: number) => {
      const page = await store.devicesPage(teamId, filter, limit, offset);
      return { devices: page.rows.map(withPresence), total: page.total };
    },
    device: async (id: string) => withPresence(await requireDevice(id)),

    /**
     * A device presents a provisioning token once and gets a credential of its own,
     * returned here once and stored only as its hash. A token that cannot be used is
     * refused the same way whatever the reason (unknown, expired, revoked, spent), and the
     * refusal is audited with the reason.
     */
    async register(input: RegistrationInput, ctx: RequestContext): Promise<{ device: DevicesTable; credential: string }> {
      const token = await store.tokenByHash(sha256Hex(input.token));
      const now = iso();
      const refuse = (reason: string, teamId: string | null): never => {
        throw new CredentialRefusedError('The provisioning token is unknown, expired, revoked or already used: ask the team owner for a new one.').audited({
          event: 'device.registration.refused',
          teamId,
          ...(token ? { target: { type: 'provisioning-token', id: token.id } } : {}),
          details: { reason, name: input.name, tokenPrefix: input.token.slice(0, 8) },
        });
      };
      if (!token) return refuse('unknown', null);
      const state = tokenState(token, now);
      if (state !== 'active') return refuse(state, token.team_id);

      const credential = `${DEVICE_CREDENTIAL_PREFIX}${randomToken(32)}`;
      // A device joining a group runs what the group's last rollout brought.
      const group = token.group_id ? await store.groupById(token.group_id) : undefined;
      const device: DevicesTable = {
        id: randomUUID(),
        team_id: token.team_id,
        site_id: token.site_id,
        group_id: token.group_id,
        application_id: token.application_id,
        name: input.name.trim(),
        credential_hash: sha256Hex(credential),
        provisioning_token_id: token.id,
        agent_version: input.agentVersion,
        node_red_version: input.nodeRedVersion ?? null,
        last_seen_at: now,
        revoked_at: null,
        created_at: now,
        target_snapshot_id: group?.target_snapshot_id ?? null,
        generation: 0,
        state: 'unknown',
        running_snapshot_id: null,
        status_detail: null,
        cpu_percent: null,
        memory_mb: null,
        credential_secret_enc: secrets.seal(randomBytes(32).toString('hex')),
        editor_key_enc: secrets.seal(randomBytes(32).toString('hex')),
        facts: null,
        facts_reported_at: null,
      };
      const actor = { ...ctx, actor: { type: 'system' as const, userId: null, label: `provisioning-token:${input.token.slice(0, 8)}` } };
      const spent = await auditLog.transaction(actor, async (tx) => {
        // Another device may have spent a one-time code since it was read above.
        if (!(await store.spendToken(token.id, now, tx.trx))) return false;
        await store.insertDevice(device, tx.trx);
        await tx.record({
          event: 'device.registered',
          target: { type: 'device', id: device.id },
          teamId: device.team_id,
          details: {
            name: device.name,
            siteId: device.site_id,
            groupId: device.group_id,
            applicationId: device.application_id,
            tokenId: token.id,
            agentVersion: device.agent_version,
          },
        });
        return true;
      });
      if (!spent) return refuse('used', token.team_id);
      return { device, credential };
    },

    /** Renames a device or moves it to another of the team's sites or groups (groupId null: out of any group). */
    async updateDevice(
      id: string,
      patch: { name?: string | undefined; siteId?: string | undefined; groupId?: string | null | undefined },
      ctx: RequestContext,
    ): Promise<DevicesTable> {
      const before = await requireDevice(id);
      // A rollout does not hold a device's name, site or group: only whether it is revoked matters here.
      if (!deviceActions(checkedByRoute, { revoked: before.revoked_at !== null, inRollout: false }).edit)
        throw new ConflictError('The device is revoked: it is kept as a record only.');
      if (patch.siteId !== undefined) teamResource(before.team_id, await store.siteById(patch.siteId), 'Site');
      if (patch.groupId) teamResource(before.team_id, await store.groupById(patch.groupId), 'Device group');
      const changes: Partial<DevicesTable> = {
        ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
        ...(patch.siteId !== undefined ? { site_id: patch.siteId } : {}),
        ...(patch.groupId !== undefined ? { group_id: patch.groupId } : {}),
      };
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateDevice(id, changes, tx.trx);
        await tx.record({
          event: 'device.updated',
          target: { type: 'device', id },
          teamId: before.team_id,
          details: { before: { name: before.name, siteId: before.site_id, groupId: before.group_id }, after: patch },
        });
      });
      return withPresence({ ...before, ...changes });
    },

    async revokeDevice(id: string, ctx: RequestContext): Promise<DevicesTable> {
      const device = await requireDevice(id);
      if (device.revoked_at) return device;
      const at = iso();
      await auditLog.transaction(ctx, async (tx) => {
        await store.updateDevice(id, { revoked_at: at }, tx.trx);
        await takeOutOfScope(tx, { kind: 'device', ids: [id] }, `device "${device.name}" revoked`);
        await tx.record({ event: 'device.revoked', target: { type: 'device', id }, teamId: device.team_id, details: { name: device.name } });
      });
      return { ...device, revoked_at: at };
    },

    /**
     * A device says it is alive and what it runs. Alive is kept in memory (flushPresence
     * writes it); a new state, running snapshot, error or version is written at once, and
     * entering a failed state is audited. Returns the device as it now stands and whether
     * its state changed (a rollout waiting on it looks again).
     */
    async checkIn(stored: DevicesTable, input: CheckInInput): Promise<{ device: DevicesTable; stateChanged: boolean }> {
      const device = withPresence(stored);
      const now = iso();
      const presence: Presence = { at: now, cpuPercent: input.cpuPercent ?? null, memoryMb: input.memoryMb ?? null };
      const changes: Partial<DevicesTable> = {};
      if (device.agent_version !== input.agentVersion) changes.agent_version = input.agentVersion;
      if (input.nodeRedVersion !== undefined && device.node_red_version !== input.nodeRedVersion) changes.node_red_version = input.nodeRedVersion;
      const facts = input.facts ? JSON.stringify(input.facts) : null;
      if (facts !== null && facts !== device.facts) Object.assign(changes, { facts, facts_reported_at: now });
      if (input.state !== undefined) {
        const running = input.runningSnapshotId ?? null;
        const detail = input.error ?? null;
        if (input.state !== device.state || running !== device.running_snapshot_id || detail !== device.status_detail) {
          Object.assign(changes, { state: input.state, running_snapshot_id: running, status_detail: detail });
        }
      }
      unwrittenSeen.set(device.id, presence);
      const seen = { last_seen_at: now, cpu_percent: presence.cpuPercent, memory_mb: presence.memoryMb };
      if (Object.keys(changes).length === 0) return { device: { ...device, ...seen }, stateChanged: false };
      const entersFailure = changes.state !== undefined && changes.state !== device.state && FAILED_STATES.has(changes.state);
      if (entersFailure) {
        // Written at once with its audit event, together with anything of the device's still waiting.
        const written = { ...unwrittenStatus.get(device.id), ...changes };
        unwrittenStatus.delete(device.id);
        const ctx = { actor: { type: 'system' as const, userId: null, label: `device:${device.id}` }, ip: null, userAgent: null };
        await auditLog.transaction(ctx, async (tx) => {
          await store.updateDevice(device.id, written, tx.trx);
          await tx.record({
            event: 'device.status.failed',
            outcome: 'failure',
            target: { type: 'device', id: device.id },
            teamId: device.team_id,
            details: {
              from: device.state,
              to: changes.state,
              error: changes.status_detail ?? null,
              targetSnapshotId: device.target_snapshot_id,
              runningSnapshotId: changes.running_snapshot_id ?? null,
            },
          });
        });
      } else {
        queueStatus(device.id, changes);
      }
      return { device: { ...device, ...changes, ...seen }, stateChanged: changes.state !== undefined };
    },

    /** Writes reported states that wait, in one transaction: before the rollout engine judges them, and when the server stops. */
    flushStatus,

    /** A device's request that is not a check-in (its long poll) also says it is alive. */
    markSeen(device: DevicesTable): void {
      const previous = unwrittenSeen.get(device.id);
      unwrittenSeen.set(device.id, { at: iso(), cpuPercent: previous?.cpuPercent ?? device.cpu_percent, memoryMb: previous?.memoryMb ?? device.memory_mb });
    },

    /** The device as it now stands; refused like its credential when it was revoked meanwhile. */
    async requireLiveDevice(id: string): Promise<DevicesTable> {
      const device = await store.deviceById(id);
      if (!device || device.revoked_at) throw new CredentialRefusedError('The device credential was revoked.');
      return device;
    },

    /** Writes the last-seen times gathered since the last flush, in one transaction. Returns how many. */
    async flushPresence(): Promise<number> {
      if (unwrittenSeen.size === 0) return 0;
      const batch = [...unwrittenSeen];
      unwrittenSeen.clear();
      try {
        await store.updateDevices(batch.map(([id, seen]) => [id, { last_seen_at: seen.at, cpu_percent: seen.cpuPercent, memory_mb: seen.memoryMb }] as const));
      } catch (error) {
        // Not lost: back for the next flush, unless a newer check-in came meanwhile.
        for (const [id, at] of batch) if (!unwrittenSeen.has(id)) unwrittenSeen.set(id, at);
        throw error;
      }
      return batch.length;
    },

    async revokeToken(id: string, ctx: RequestContext): Promise<ProvisioningTokensTable> {
      const token = await requireToken(id);
      if (token.revoked_at) return token;
      const state = tokenState(token, iso());
      if (!provisioningTokenActions(checkedByRoute, { state }).revoke) throw new ConflictError(`The token is ${state}: it registers no device already.`);
      const at = iso();
      await auditLog.transaction(ctx, async (tx) => {
        await store.revokeToken(id, at, tx.trx);
        await tx.record({ event: 'provisioning.token.revoked', target: { type: 'provisioning-token', id }, teamId: token.team_id });
      });
      return { ...token, revoked_at: at };
    },
  };
}

export type FleetService = ReturnType<typeof createFleetService>;

export type TokenState = 'active' | 'revoked' | 'expired' | 'used';

/** Where a token stands, as a person reads it. */
export function tokenState(token: ProvisioningTokensTable, now: string): TokenState {
  if (token.revoked_at) return 'revoked';
  if (token.single_use && token.uses > 0) return 'used';
  if (token.expires_at <= now) return 'expired';
  return 'active';
}
