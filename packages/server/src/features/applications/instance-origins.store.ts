import type { Db } from '../../db/database.ts';
import type { InstanceOriginCodesTable, InstanceOriginSessionsTable } from '../../db/schema.ts';

/** The one-time codes and the sign-ins they lead to on instances' own origins (instance-origins.ts). */
export function createInstanceOriginsStore(db: Db) {
  return {
    insertCode: (row: InstanceOriginCodesTable) => db.insertInto('instance_origin_codes').values(row).execute(),
    /** Taken and deleted in one statement: two requests with the same code cannot both get it. */
    takeCode: (codeHash: string) => db.deleteFrom('instance_origin_codes').where('code_hash', '=', codeHash).returningAll().executeTakeFirst(),
    deleteExpiredCodes: (nowIso: string) => db.deleteFrom('instance_origin_codes').where('expires_at', '<=', nowIso).execute(),
    insertSession: (row: InstanceOriginSessionsTable) => db.insertInto('instance_origin_sessions').values(row).execute(),
    sessionByTokenHash: (tokenHash: string) => db.selectFrom('instance_origin_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
  };
}

export type InstanceOriginsStore = ReturnType<typeof createInstanceOriginsStore>;
