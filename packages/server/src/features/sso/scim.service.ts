import { randomUUID } from 'node:crypto';
import type { Clock, RequestContext } from '../../context.ts';
import type { IdentityProvidersTable, ScimGroupsTable, UsersTable } from '../../db/schema.ts';
import { DomainError } from '../../http/errors.ts';
import { randomToken, sha256Hex } from '../../security/crypto.ts';
import type { AuditLog, AuditedTransaction } from '../audit/audit.service.ts';
import type { IdentityStore } from '../identity/identity.store.ts';
import type { ScimStore, ScimUserRow } from './scim.store.ts';
import { domainOf, parseList, type SsoService } from './sso.service.ts';

/**
 * SCIM 2.0 (RFC 7643, 7644) for identity providers that push people instead of waiting for
 * them to sign in: Users and Groups, with the provider's own bearer token. A group's members
 * get what the provider's mappings give that group's name, as at a sign-in; a user set
 * inactive or deleted is disabled at once, and their sessions end. Accounts are never
 * erased: the audit log names them.
 */

export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_TOKEN_PREFIX = 'fgs_';
const MAX_PAGE = 200;
const MAX_OPERATIONS = 1000;

/** A SCIM error (RFC 7644 §3.12): the status, a scimType where one fits, and what was wrong. */
/** A refusal in SCIM's terms: the one error mapper (http/problem.ts) answers it as SCIM's error document, with its scimType. */
export class ScimError extends DomainError {
  constructor(status: number, message: string, scimType?: 'invalidFilter' | 'uniqueness' | 'invalidSyntax' | 'invalidValue' | 'noTarget' | 'mutability' | 'tooMany') {
    super(status, `scim-${scimType ?? status}`, 'SCIM error', message, scimType ? { scimType } : {});
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const EMAIL = /^[^@\s]{1,64}@[^@\s]{1,255}$/;

/** SCIM clients send booleans as strings too (Entra: "False"). */
function asBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new ScimError(400, `${field} must be true or false.`, 'invalidValue');
}
function asText(value: unknown, field: string, max = 320): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) throw new ScimError(400, `${field} must be a string of 1 to ${max} characters.`, 'invalidValue');
  return value.trim();
}

/** The filters identity providers send: `attr eq "value"`, and nothing else. */
export function parseFilter(filter: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (filter === undefined || filter.trim() === '') return {};
  const match = /^\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(filter);
  const attr = match ? allowed.find((a) => a.toLowerCase() === match[1]!.toLowerCase()) : undefined;
  if (!match || !attr) throw new ScimError(400, `Only filters of the form ${allowed.map((a) => `${a} eq "..."`).join(' or ')} are supported.`, 'invalidFilter');
  return { [attr]: match[2]!.replace(/\\(.)/g, '$1') };
}

export function createScimService(deps: { store: ScimStore; identityStore: IdentityStore; sso: SsoService; auditLog: AuditLog; clock: Clock; publicUrl: string }) {
  const { store, identityStore, sso, auditLog, clock } = deps;
  const iso = () => clock.now().toISOString();
  const base = `${deps.publicUrl}/scim/v2`;

  function presentUser(u: ScimUserRow) {
    return {
      schemas: [SCIM_USER],
      id: u.id,
      ...(u.external_id ? { externalId: u.external_id } : {}),
      userName: u.email,
      name: { formatted: u.name },
      displayName: u.name,
      emails: [{ value: u.email, primary: true, type: 'work' }],
      active: u.status === 'active',
      meta: { resourceType: 'User', created: u.created_at, lastModified: u.updated_at, location: `${base}/Users/${u.id}` },
    };
  }
  async function presentGroup(g: ScimGroupsTable) {
    const members = await store.members(g.id);
    return {
      schemas: [SCIM_GROUP],
      id: g.id,
      ...(g.external_id ? { externalId: g.external_id } : {}),
      displayName: g.display_name,
      members: members.map((m) => ({ value: m.id, display: m.email, $ref: `${base}/Users/${m.id}` })),
      meta: { resourceType: 'Group', created: g.created_at, location: `${base}/Groups/${g.id}` },
    };
  }
  const list = <T>(resources: T[], total: number, startIndex: number) => ({
    schemas: [SCIM_LIST],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  });

  function paging(startIndex?: string, count?: string): { offset: number; limit: number; startIndex: number } {
    const start = Math.max(1, Number.parseInt(startIndex ?? '1', 10) || 1);
    const limit = Math.min(MAX_PAGE, Math.max(0, Number.parseInt(count ?? String(MAX_PAGE), 10) || 0));
    return { offset: start - 1, limit, startIndex: start };
  }

  /** What a User body says, checked. */
  function userFields(body: unknown): { email: string; name: string; active: boolean; externalId: string | null } {
    if (!isObject(body)) throw new ScimError(400, 'The body must be a SCIM User object.', 'invalidSyntax');
    const userName = asText(body.userName, 'userName');
    const emails = Array.isArray(body.emails) ? body.emails.filter(isObject) : [];
    const primary = emails.find((e) => e.primary === true || e.primary === 'true') ?? emails[0];
    const email = (EMAIL.test(userName) ? userName : typeof primary?.value === 'string' ? primary.value : '').trim().toLowerCase();
    if (!EMAIL.test(email)) throw new ScimError(400, 'userName (or a primary email) must be an email address: Flowgate accounts are named by their email.', 'invalidValue');
    const name = isObject(body.name) ? body.name : {};
    const display =
      (typeof body.displayName === 'string' && body.displayName.trim()) ||
      (typeof name.formatted === 'string' && name.formatted.trim()) ||
      [name.givenName, name.familyName].filter((p): p is string => typeof p === 'string' && p.trim() !== '').join(' ') ||
      email;
    return {
      email,
      name: display.slice(0, 120),
      active: body.active === undefined ? true : asBoolean(body.active, 'active'),
      externalId: typeof body.externalId === 'string' ? body.externalId.slice(0, 256) : null,
    };
  }

  async function requireUser(provider: IdentityProvidersTable, id: string): Promise<ScimUserRow> {
    const user = await store.user(provider.id, id);
    if (!user) throw new ScimError(404, `No user ${id} was provisioned by ${provider.name}.`);
    return user;
  }
  async function requireGroup(provider: IdentityProvidersTable, id: string): Promise<ScimGroupsTable> {
    const group = await store.group(provider.id, id);
    if (!group) throw new ScimError(404, `No group ${id}.`);
    return group;
  }

  /** Active or not, as the provider says; inactive ends every session at once. */
  async function setActive(tx: AuditedTransaction, provider: IdentityProvidersTable, user: UsersTable, active: boolean): Promise<void> {
    if ((user.status === 'active') === active) return;
    await identityStore.updateUser(user.id, { status: active ? 'active' : 'disabled', updated_at: iso() }, tx.trx);
    if (active) {
      await tx.record({ event: 'user.updated', target: { type: 'user', id: user.id }, details: { status: 'active', by: `scim:${provider.name}` } });
    } else {
      const ended = await identityStore.deleteSessionsOfUser(user.id, tx.trx);
      await tx.record({ event: 'user.deprovisioned', target: { type: 'user', id: user.id }, details: { provider: provider.name, sessionsEnded: ended } });
    }
  }

  /** The members' team roles, again from the provider's groups they are in now. */
  async function reapply(tx: AuditedTransaction, provider: IdentityProvidersTable, userIds: Iterable<string>): Promise<void> {
    for (const userId of new Set(userIds)) {
      const user = await identityStore.userById(userId, tx.trx);
      if (user) await sso.applyGroups(tx, provider, user, await store.groupNamesOf(provider.id, userId, tx.trx), tx.ctx);
    }
  }

  function memberIds(value: unknown): string[] {
    const items = Array.isArray(value) ? value : [value];
    return items.map((m) => {
      if (!isObject(m) || typeof m.value !== 'string') throw new ScimError(400, 'A member is { "value": "<user id>" }.', 'invalidValue');
      return m.value;
    });
  }
  async function checkMembers(tx: AuditedTransaction, provider: IdentityProvidersTable, ids: string[]): Promise<void> {
    for (const id of ids) if (!(await store.user(provider.id, id, tx.trx))) throw new ScimError(400, `Member ${id} is not a user ${provider.name} provisioned.`, 'invalidValue');
  }

  function operations(body: unknown): Json[] {
    if (!isObject(body) || !Array.isArray(body.Operations)) throw new ScimError(400, `A PATCH body is a ${SCIM_PATCH} with Operations.`, 'invalidSyntax');
    if (body.Operations.length > MAX_OPERATIONS) throw new ScimError(400, `At most ${MAX_OPERATIONS} operations at once.`, 'tooMany');
    return body.Operations.map((op) => {
      if (!isObject(op) || typeof op.op !== 'string' || !/^(add|replace|remove)$/i.test(op.op))
        throw new ScimError(400, 'Each operation has an op of add, replace or remove.', 'invalidSyntax');
      return { ...op, op: op.op.toLowerCase() };
    });
  }

  return {
    /** A new SCIM token for a provider: returned once, kept hashed. */
    async issueToken(providerId: string, ctx: RequestContext): Promise<{ token: string; baseUrl: string }> {
      const provider = await sso.get(providerId);
      const token = `${SCIM_TOKEN_PREFIX}${randomToken()}`;
      await auditLog.transaction(ctx, async (tx) => {
        await store.setToken(provider.id, sha256Hex(token), tx.trx);
        await tx.record({ event: 'identity-provider.updated', target: { type: 'identity-provider', id: provider.id }, details: { name: provider.name, scimToken: 'issued' } });
      });
      return { token, baseUrl: base };
    },
    async revokeToken(providerId: string, ctx: RequestContext): Promise<void> {
      const provider = await sso.get(providerId);
      await auditLog.transaction(ctx, async (tx) => {
        await store.setToken(provider.id, null, tx.trx);
        await tx.record({ event: 'identity-provider.updated', target: { type: 'identity-provider', id: provider.id }, details: { name: provider.name, scimToken: 'revoked' } });
      });
    },
    providerByToken: (raw: string) => store.providerByTokenHash(sha256Hex(raw)),

    async listUsers(provider: IdentityProvidersTable, query: { filter?: string; startIndex?: string; count?: string }) {
      const filter = parseFilter(query.filter, ['userName', 'externalId']);
      const page = paging(query.startIndex, query.count);
      const { rows, total } = await store.users(provider.id, filter, page.offset, page.limit);
      return list(rows.map(presentUser), total, page.startIndex);
    },
    getUser: async (provider: IdentityProvidersTable, id: string) => presentUser(await requireUser(provider, id)),

    async createUser(provider: IdentityProvidersTable, body: unknown, ctx: RequestContext) {
      const fields = userFields(body);
      const domains = parseList(provider.email_domains);
      if (domains.length && !domains.includes(domainOf(fields.email))) {
        throw new ScimError(400, `${fields.email} is not in the domains ${provider.name} serves (${domains.join(', ')}).`, 'invalidValue');
      }
      const userId = await auditLog.transaction(ctx, async (tx) => {
        let user = await identityStore.userByEmail(fields.email, tx.trx);
        if (user && (await store.user(provider.id, user.id, tx.trx))) throw new ScimError(409, `${fields.email} was provisioned already (id ${user.id}).`, 'uniqueness');
        // The break-glass way in stays out of an identity provider's reach: it could disable it.
        if (user?.platform_role === 'admin' && user.password_hash)
          throw new ScimError(409, `${fields.email} is a local platform admin (the break-glass account): SCIM does not manage it.`, 'uniqueness');
        if (!user) {
          user = {
            id: randomUUID(),
            email: fields.email,
            name: fields.name,
            password_hash: null,
            platform_role: 'user',
            status: 'active',
            failed_logins: 0,
            locked_until: null,
            mfa_secret_enc: null,
            mfa_enrolled_at: null,
            mfa_last_step: null,
            created_at: iso(),
            updated_at: iso(),
          };
          await identityStore.insertUser(user, tx.trx);
          await tx.record({ event: 'user.created', target: { type: 'user', id: user.id }, details: { email: user.email, platformRole: 'user', source: `scim:${provider.name}` } });
        }
        await store.link(provider.id, user.id, fields.externalId, iso(), tx.trx);
        await setActive(tx, provider, user, fields.active);
        return user.id;
      });
      return presentUser(await requireUser(provider, userId));
    },

    async replaceUser(provider: IdentityProvidersTable, id: string, body: unknown, ctx: RequestContext) {
      const user = await requireUser(provider, id);
      const fields = userFields(body);
      if (fields.email !== user.email) throw new ScimError(400, "userName cannot change: it is the account's email, which names it in the audit log.", 'mutability');
      await auditLog.transaction(ctx, async (tx) => {
        if (fields.name !== user.name) await identityStore.updateUser(user.id, { name: fields.name, updated_at: iso() }, tx.trx);
        await store.setExternalId(provider.id, user.id, fields.externalId, tx.trx);
        await setActive(tx, provider, user, fields.active);
      });
      return presentUser(await requireUser(provider, id));
    },

    async patchUser(provider: IdentityProvidersTable, id: string, body: unknown, ctx: RequestContext) {
      const user = await requireUser(provider, id);
      const ops = operations(body);
      await auditLog.transaction(ctx, async (tx) => {
        for (const op of ops) {
          // No path: the value is an object of attributes (Okta, Entra both send this shape).
          const changes: Json = typeof op.path === 'string' ? { [op.path]: op.value } : isObject(op.value) ? op.value : {};
          for (const [path, value] of Object.entries(changes)) {
            const key = path.toLowerCase();
            if (key === 'active') await setActive(tx, provider, (await identityStore.userById(user.id, tx.trx))!, asBoolean(value, 'active'));
            else if (key === 'displayname' || key === 'name.formatted') await identityStore.updateUser(user.id, { name: asText(value, path, 120), updated_at: iso() }, tx.trx);
            else if (key === 'externalid') await store.setExternalId(provider.id, user.id, op.op === 'remove' ? null : asText(value, path, 256), tx.trx);
            else if (key === 'username' || key.startsWith('emails')) {
              if (typeof value === 'string' && value.toLowerCase() !== user.email) throw new ScimError(400, "userName cannot change: it is the account's email.", 'mutability');
            }
            // Other attributes (name.givenName, title, ...) are not kept: accepted and ignored, as RFC 7644 allows for attributes a service does not support.
          }
        }
      });
      return presentUser(await requireUser(provider, id));
    },

    /** Deprovisioning: disabled at once, sessions ended, out of the provider's groups and mapped teams; the account stays for the audit log. */
    async deleteUser(provider: IdentityProvidersTable, id: string, ctx: RequestContext): Promise<void> {
      const user = await requireUser(provider, id);
      await auditLog.transaction(ctx, async (tx) => {
        await setActive(tx, provider, user, false);
        for (const group of await store.groups(provider.id, undefined, tx.trx)) await store.removeMember(group.id, user.id, tx.trx);
        await sso.applyGroups(tx, provider, user, [], tx.ctx);
        await store.unlink(provider.id, user.id, tx.trx);
      });
    },

    async listGroups(provider: IdentityProvidersTable, query: { filter?: string; startIndex?: string; count?: string }) {
      const filter = parseFilter(query.filter, ['displayName']);
      const page = paging(query.startIndex, query.count);
      const all = await store.groups(provider.id, filter.displayName);
      return list(await Promise.all(all.slice(page.offset, page.offset + page.limit).map(presentGroup)), all.length, page.startIndex);
    },
    getGroup: async (provider: IdentityProvidersTable, id: string) => presentGroup(await requireGroup(provider, id)),

    async createGroup(provider: IdentityProvidersTable, body: unknown, ctx: RequestContext) {
      if (!isObject(body)) throw new ScimError(400, 'The body must be a SCIM Group object.', 'invalidSyntax');
      const group: ScimGroupsTable = {
        id: randomUUID(),
        provider_id: provider.id,
        display_name: asText(body.displayName, 'displayName', 256),
        external_id: typeof body.externalId === 'string' ? body.externalId.slice(0, 256) : null,
        created_at: iso(),
      };
      const members = body.members === undefined ? [] : memberIds(body.members);
      await auditLog.transaction(ctx, async (tx) => {
        if (await store.groupByName(provider.id, group.display_name, tx.trx)) throw new ScimError(409, `A group named "${group.display_name}" exists already.`, 'uniqueness');
        await checkMembers(tx, provider, members);
        await store.insertGroup(group, tx.trx);
        for (const m of members) await store.addMember(group.id, m, tx.trx);
        await tx.record({ event: 'scim.group.changed', details: { provider: provider.name, group: group.display_name, change: 'created', members: members.length } });
        await reapply(tx, provider, members);
      });
      return presentGroup(group);
    },

    async patchGroup(provider: IdentityProvidersTable, id: string, body: unknown, ctx: RequestContext) {
      const group = await requireGroup(provider, id);
      const ops = operations(body);
      await auditLog.transaction(ctx, async (tx) => {
        const before = (await store.members(group.id, tx.trx)).map((m) => m.id);
        let name = group.display_name;
        for (const op of ops) {
          const path = typeof op.path === 'string' ? op.path : null;
          const one = path ? /^members\[value eq "([^"]+)"\]$/i.exec(path) : null;
          if (one && op.op === 'remove') await store.removeMember(group.id, one[1]!, tx.trx);
          else if (path?.toLowerCase() === 'members' || (!path && isObject(op.value) && 'members' in op.value)) {
            const ids = memberIds(path ? op.value : (op.value as Json).members);
            if (op.op === 'replace') for (const m of before) await store.removeMember(group.id, m, tx.trx);
            if (op.op === 'remove') for (const m of ids) await store.removeMember(group.id, m, tx.trx);
            else {
              await checkMembers(tx, provider, ids);
              for (const m of ids) await store.addMember(group.id, m, tx.trx);
            }
          } else if (path?.toLowerCase() === 'displayname' || (!path && isObject(op.value) && 'displayName' in op.value)) {
            name = asText(path ? op.value : (op.value as Json).displayName, 'displayName', 256);
            const clash = await store.groupByName(provider.id, name, tx.trx);
            if (clash && clash.id !== group.id) throw new ScimError(409, `A group named "${name}" exists already.`, 'uniqueness');
            await store.updateGroup(group.id, { display_name: name }, tx.trx);
          } else if (path?.toLowerCase() === 'externalid') {
            await store.updateGroup(group.id, { external_id: op.op === 'remove' ? null : asText(op.value, 'externalId', 256) }, tx.trx);
          } else {
            throw new ScimError(400, `Unsupported operation on a group: ${op.op} ${path ?? '(no path)'}.`, 'noTarget');
          }
        }
        const after = (await store.members(group.id, tx.trx)).map((m) => m.id);
        await tx.record({
          event: 'scim.group.changed',
          details: {
            provider: provider.name,
            group: name,
            change: 'patched',
            added: after.filter((m) => !before.includes(m)).length,
            removed: before.filter((m) => !after.includes(m)).length,
          },
        });
        // A renamed group maps differently for everyone in it; otherwise only who came or went.
        await reapply(
          tx,
          provider,
          name !== group.display_name ? [...before, ...after] : [...after.filter((m) => !before.includes(m)), ...before.filter((m) => !after.includes(m))],
        );
      });
      return presentGroup(await requireGroup(provider, id));
    },

    async replaceGroup(provider: IdentityProvidersTable, id: string, body: unknown, ctx: RequestContext) {
      if (!isObject(body)) throw new ScimError(400, 'The body must be a SCIM Group object.', 'invalidSyntax');
      return this.patchGroup(
        provider,
        id,
        {
          Operations: [
            { op: 'replace', path: 'displayName', value: body.displayName },
            { op: 'replace', path: 'members', value: body.members ?? [] },
          ],
        },
        ctx,
      );
    },

    async deleteGroup(provider: IdentityProvidersTable, id: string, ctx: RequestContext): Promise<void> {
      const group = await requireGroup(provider, id);
      await auditLog.transaction(ctx, async (tx) => {
        const members = (await store.members(group.id, tx.trx)).map((m) => m.id);
        await store.deleteGroup(group.id, tx.trx);
        await tx.record({ event: 'scim.group.changed', details: { provider: provider.name, group: group.display_name, change: 'deleted', members: members.length } });
        await reapply(tx, provider, members);
      });
    },
  };
}

export type ScimService = ReturnType<typeof createScimService>;
