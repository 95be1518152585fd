import type { Transaction } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Schema } from '../../db/schema.ts';

export interface PlatformSettings {
  /** Shown on the sign-in page before anyone signs in (62443-3-3 SR 1.12). */
  loginBanner: string;
  /** Every person must use MFA. Teams can require it for their members on their own. */
  requireMfa: boolean;
}

export const DEFAULT_SETTINGS: PlatformSettings = { loginBanner: '', requireMfa: false };

export function createSettingsStore(db: Db) {
  return {
    async get(): Promise<PlatformSettings> {
      const rows = await db.selectFrom('settings').selectAll().execute();
      const stored = Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
      return { ...DEFAULT_SETTINGS, ...stored } as PlatformSettings;
    },
    async set(patch: Partial<PlatformSettings>, updatedAt: string, trx: Transaction<Schema>): Promise<void> {
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        await trx
          .insertInto('settings')
          .values({ key, value: JSON.stringify(value), updated_at: updatedAt })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: updatedAt }))
          .execute();
      }
    },
  };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;
