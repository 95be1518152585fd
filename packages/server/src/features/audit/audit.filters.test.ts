import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addMember, Client, createManualClock, DIALECTS, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

interface EventView {
  seq: number;
  occurredAt: string;
  actorId: string | null;
  event: string;
  teamId: string | null;
  details: string;
}

/** The renames a filtered answer holds, by the name each gave, in the answer's order. */
const names = (events: EventView[]) => events.map((e) => (JSON.parse(e.details) as { after: { name: string } }).after.name);

for (const dialect of DIALECTS) {
  describe(`audit time, actor and team filters on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let member: Client;
    let memberId: string;
    let teamA: string;
    let teamB: string;

    before(async () => {
      const clock = createManualClock(new Date('2026-01-01T09:59:00.000Z'));
      t = await startTestApp(dialect, {}, { clock });
      admin = await setupAdmin(t);
      teamA = (await admin.post('/api/teams', { name: 'Line A' })).json().id;
      teamB = (await admin.post('/api/teams', { name: 'Line B' })).json().id;
      member = await addMember(t, admin, teamA, 'mo@plant.example', 'owner');
      memberId = (await member.get('/api/account')).json().user.id;
      // Around the second 10:00:00 UTC: one event just before it, two inside it, one at its end.
      const at = async (iso: string, who: Client, teamId: string, name: string) => {
        clock.advance(Date.parse(iso) - clock.now().getTime());
        const r = await who.patch(`/api/teams/${teamId}`, { name });
        assert.equal(r.statusCode, 200, r.body);
      };
      await at('2026-01-01T09:59:59.999Z', admin, teamA, 'before');
      await at('2026-01-01T10:00:00.500Z', member, teamA, 'inside-a');
      await at('2026-01-01T10:00:00.750Z', admin, teamB, 'inside-b');
      await at('2026-01-01T10:00:01.000Z', admin, teamA, 'at-end');
    });
    after(() => t.close());

    const page = async (query: string) => {
      const r = await admin.get(`/api/audit?event=team.updated&${query}`);
      assert.equal(r.statusCode, 200, r.body);
      return r.json().events as EventView[];
    };

    test('from and to given to the second, without milliseconds, bound that second exactly', async () => {
      assert.deepEqual(names(await page('from=2026-01-01T10:00:00Z&to=2026-01-01T10:00:01Z')), ['inside-b', 'inside-a']);
      assert.deepEqual(names(await page('to=2026-01-01T10:00:00Z')), ['before'], 'to is exclusive: the events inside 10:00:00 are after it');
      assert.deepEqual(names(await page('from=2026-01-01T10:00:01Z')), ['at-end']);
    });

    test('an offset is applied: the same instants in another zone give the same events', async () => {
      const q = `from=${encodeURIComponent('2026-01-01T12:00:00+02:00')}&to=${encodeURIComponent('2026-01-01T09:00:01-01:00')}`;
      assert.deepEqual(names(await page(q)), ['inside-b', 'inside-a']);
      assert.deepEqual(names(await page(`to=${encodeURIComponent('2026-01-01T11:00:00.5+01:00')}&from=2026-01-01T09:59:59.999Z`)), ['before']);
    });

    test('the time filters combine with actor and team, on the platform and the team page', async () => {
      const window = 'from=2026-01-01T10:00:00Z&to=2026-01-01T10:00:01Z';
      const byActor = await page(`${window}&actorId=${memberId}`);
      assert.deepEqual(names(byActor), ['inside-a']);
      assert.equal(byActor[0]!.actorId, memberId);
      assert.deepEqual(names(await page(`${window}&teamId=${teamB}`)), ['inside-b']);
      const teamPage = await admin.get(`/api/teams/${teamA}/audit?event=team.updated&from=${encodeURIComponent('2026-01-01T11:00:00+01:00')}&to=2026-01-01T10:00:01Z`);
      assert.equal(teamPage.statusCode, 200, teamPage.body);
      assert.deepEqual(names(teamPage.json().events), ['inside-a']);
    });

    test('the JSON Lines and CSV exports apply the same filters, oldest first', async () => {
      const q = `event=team.updated&from=${encodeURIComponent('2026-01-01T12:00:00+02:00')}&to=2026-01-01T10:00:01Z`;
      const jsonl = await admin.get(`/api/audit/export?format=jsonl&${q}`);
      assert.equal(jsonl.statusCode, 200, jsonl.body);
      const lines = jsonl.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as EventView);
      assert.deepEqual(names(lines), ['inside-a', 'inside-b']);
      assert.deepEqual(
        lines.map((l) => l.occurredAt),
        ['2026-01-01T10:00:00.500Z', '2026-01-01T10:00:00.750Z'],
      );

      const csv = await admin.get(`/api/audit/export?format=csv&${q}&actorId=${memberId}`);
      assert.equal(csv.statusCode, 200, csv.body);
      const rows = csv.body.trim().split('\r\n');
      assert.equal(rows.length, 2, csv.body);
      assert.match(rows[1]!, /^\d+,2026-01-01T10:00:00\.500Z,user,/);

      const team = await admin.get(
        `/api/teams/${teamB}/audit/export?format=jsonl&event=team.updated&from=2026-01-01T10:00:00Z&to=${encodeURIComponent('2026-01-01T10:00:01+00:00')}`,
      );
      assert.equal(team.statusCode, 200, team.body);
      const teamLines = team.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as EventView);
      assert.deepEqual(names(teamLines), ['inside-b']);
      assert.ok(teamLines.every((l) => l.teamId === teamB));
    });

    test('a time that cannot be compared is refused as problem+json naming its field', async () => {
      for (const url of [
        `/api/audit?to=${encodeURIComponent('9999-12-31T23:00:00-02:00')}`,
        `/api/audit/export?format=csv&to=${encodeURIComponent('9999-12-31T23:00:00-02:00')}`,
        `/api/teams/${teamA}/audit/export?format=jsonl&to=${encodeURIComponent('9999-12-31T23:00:00-02:00')}`,
      ]) {
        const r = await admin.get(url);
        assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
        assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.deepEqual(
          r.json().errors.map((e: { field: string }) => e.field),
          ['to'],
        );
      }
      const malformed = await admin.get('/api/audit?from=2026-01-01T10:00:00');
      assert.equal(malformed.statusCode, 400);
      assert.deepEqual(
        malformed.json().errors.map((e: { field: string }) => e.field),
        ['from'],
      );
    });
  });
}
