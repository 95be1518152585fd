import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../../test/harness.ts';

/**
 * The handle the stores query is bound to the transaction in progress: a store's read that
 * defaults to the handle, called from inside a transaction, reads in it. On SQLite such a
 * read used to wait forever for the one connection the transaction held.
 */

const team = (id: string) => ({ id, name: `Team ${id}`, require_mfa: 0, created_at: '2026-12-07T00:00:00.000Z', updated_at: '2026-12-07T00:00:00.000Z' });

/** Fails instead of hanging: a read that waits for the transaction's own connection never ends. */
function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

for (const dialect of DIALECTS) {
  describe(`the database handle inside a transaction (${dialect})`, () => {
    let t: TestDatabase;
    before(async () => (t = await createTestDatabase(dialect)));
    after(() => t.drop());

    const nameOf = async (id: string) => (await t.database.db.selectFrom('teams').select('name').where('id', '=', id).executeTakeFirst())?.name ?? null;

    test('a read through the handle, deep in a transaction, runs in it: it sees the uncommitted row and does not wait', async () => {
      const seen = await within(
        3000,
        t.database.db.transaction().execute(async (trx) => {
          await trx.insertInto('teams').values(team('a1')).execute();
          // As a store called without its executor would: the handle, not trx.
          return nameOf('a1');
        }),
        'a read through the handle inside a transaction',
      );
      assert.equal(seen, 'Team a1');
      assert.equal(await nameOf('a1'), 'Team a1', 'committed');
    });

    test('a write through the handle inside a transaction rolls back with it', async () => {
      await assert.rejects(
        within(
          3000,
          t.database.db.transaction().execute(async () => {
            await t.database.db.insertInto('teams').values(team('b1')).execute();
            throw new Error('the change is refused after its write');
          }),
          'a write through the handle inside a transaction',
        ),
        /refused after its write/,
      );
      assert.equal(await nameOf('b1'), null);
    });

    test('a transaction started inside another is refused at once, not left waiting', async () => {
      await assert.rejects(
        within(
          3000,
          t.database.db.transaction().execute(async () => t.database.db.transaction().execute(async () => 'inner')),
          'a nested transaction',
        ),
        /started inside another one/,
      );
    });

    test('after the transaction, the handle is the database again (work the transaction started carries no stale binding)', async () => {
      let later: Promise<string | null> = Promise.resolve(null);
      await t.database.db.transaction().execute(async (trx) => {
        await trx.insertInto('teams').values(team('c1')).execute();
        // Queued to run after the commit, as post-commit work is: it must use the database, not the finished transaction.
        later = new Promise((resolve) => setTimeout(resolve, 50)).then(() => nameOf('c1'));
      });
      assert.equal(await within(3000, later, 'a read queued inside a transaction, run after it'), 'Team c1');
    });
  });
}
