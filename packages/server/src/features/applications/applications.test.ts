import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { snapshotHash } from '@flowgate/core';
import { SYSTEM_CONTEXT } from '../../context.ts';
import { encryptCredentials } from '../snapshots/node-red-credentials.ts';
import { exportSeal } from '../snapshots/snapshots.service.ts';
import { addMember, ADMIN, Client, DIALECTS, reportAsAgent, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

const FLOW_A = [
  { id: 'tab1', type: 'tab', label: 'Line 1' },
  { id: 'inj1', type: 'inject', z: 'tab1', name: 'tick', topic: 'line1', payload: '1', payloadType: 'num', repeat: '', x: 100, y: 80, wires: [['fn1']] },
  { id: 'fn1', type: 'function', z: 'tab1', name: 'scale', func: 'msg.payload = msg.payload * 2;\nreturn msg;', outputs: 1, x: 260, y: 80, wires: [['dbg1']] },
  { id: 'dbg1', type: 'debug', z: 'tab1', name: 'out', x: 420, y: 80, wires: [] },
];
const FLOW_B = FLOW_A.map((n) => (n.id === 'fn1' ? { ...n, func: 'msg.payload = msg.payload * 3;\nreturn msg;' } : n.id === 'inj1' ? { ...n, topic: 'line-1' } : n));

/**
 * Applications, instances and snapshots through the API. These tests do not listen on a
 * port, so no agent (and no Node-RED) is started: what runs is covered by the agent's own
 * tests and e2e/applications.test.ts.
 */
for (const dialect of DIALECTS) {
  describe(`applications and snapshots on ${dialect}`, () => {
    let t: TestApp;
    let admin: Client;
    let operator: Client;
    let teamId: string;
    let instanceId: string;
    let snapshotA: string;
    let snapshotB: string;
    before(async () => {
      t = await startTestApp(dialect);
      admin = await setupAdmin(t);
      teamId = (await admin.post('/api/teams', { name: 'Bottling' })).json().id;
      operator = await addMember(t, admin, teamId, 'olga@plant.example', 'operator');
    });
    after(() => t.close());

    test('an application and an instance are created, with an offered Node-RED version only', async () => {
      const app = await admin.post(`/api/teams/${teamId}/applications`, { name: 'Filler telemetry', description: 'OEE for the filler' });
      assert.equal(app.statusCode, 201);
      const wrong = await admin.post(`/api/applications/${app.json().id}/instances`, { name: 'prod', nodeRedVersion: '3.0.0' });
      assert.equal(wrong.statusCode, 400);
      assert.match(wrong.json().detail, /not offered/);
      const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
      assert.match(version!, /^4\.1\./);
      const created = await admin.post(`/api/applications/${app.json().id}/instances`, { name: 'prod', nodeRedVersion: version });
      assert.equal(created.statusCode, 201, created.body);
      instanceId = created.json().id;
      assert.equal(created.json().editorPath, `/instances/${instanceId}/editor`);
      assert.equal(created.json().endpointUrl, `http://${instanceId}.localhost:3000/instances/${instanceId}/app/`, "the endpoints are on the instance's own origin");
      const listed = (await admin.get(`/api/applications/${app.json().id}`)).json();
      assert.equal(listed.instances.length, 1);
    });

    test('secret environment variables are stored sealed and never shown again', async () => {
      const put = await admin.put(`/api/instances/${instanceId}/env`, {
        env: [
          { name: 'LINE', value: '7', secret: false },
          { name: 'OPCUA_PASSWORD', value: 's3cret-value', secret: true },
        ],
      });
      assert.equal(put.statusCode, 204);
      const env = (await admin.get(`/api/instances/${instanceId}/env`)).json();
      assert.deepEqual(env, [
        { name: 'LINE', value: '7', secret: false },
        { name: 'OPCUA_PASSWORD', value: null, secret: true },
      ]);
      const stored = await t.db.database.db.selectFrom('instance_env').selectAll().where('name', '=', 'OPCUA_PASSWORD').executeTakeFirstOrThrow();
      assert.ok(!stored.value.includes('s3cret-value'), 'sealed at rest');
      // Keeping a secret without resending it.
      assert.equal(
        (
          await admin.put(`/api/instances/${instanceId}/env`, {
            env: [
              { name: 'OPCUA_PASSWORD', secret: true },
              { name: 'LINE', value: '8', secret: false },
            ],
          })
        ).statusCode,
        204,
      );
      const audit = (await admin.get(`/api/teams/${teamId}/audit?event=instance.env.updated`)).json().events;
      assert.equal(audit.length, 2);
      assert.ok(!JSON.stringify(audit).includes('s3cret-value'), 'the audit log never holds a secret value');
      assert.equal((await operator.put(`/api/instances/${instanceId}/env`, { env: [] })).statusCode, 403, 'an operator does not edit the environment');
    });

    test('flows that are not valid Node-RED JSON are refused, and nothing is made', async () => {
      const bad = await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'bad', flows: [{ id: 'a', type: 'inject', z: 'missing-tab', wires: [['nowhere']] }] });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail, /not valid Node-RED flows/);
      assert.equal((await admin.get(`/api/instances/${instanceId}/snapshots`)).json().length, 0);
      const [refused] = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.created&outcome=failure`)).json().events;
      assert.equal(refused.targetId, instanceId, 'the refused attempt is audited');
      assert.match(JSON.parse(refused.details).reason, /not valid Node-RED flows/);
      // Flows that are not even a list, and a file whose flows are not nodes, are refused by the schema: audited all the same.
      const notAList = await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'bad', flows: { id: 'a' } });
      assert.equal(notAList.statusCode, 400);
      assert.match(notAList.json().detail, /flows/);
      const file = {
        format: 'flowgate-snapshot',
        version: 2,
        name: 'x',
        description: '',
        createdAt: '2026-12-05T00:00:00.000Z',
        hash: '0'.repeat(64),
        seal: '0'.repeat(64),
        content: { flows: [1], credentials: null, settings: {}, env: [], modules: [] },
      };
      assert.equal((await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'transport secret 2026', file })).statusCode, 400);
      assert.equal((await admin.get(`/api/instances/${instanceId}/snapshots`)).json().length, 0, 'nothing made');
      const reasons = async (event: string) =>
        ((await admin.get(`/api/teams/${teamId}/audit?event=${event}&outcome=failure`)).json().events as Array<{ details: string }>).map(
          (e) => JSON.parse(e.details).reason as string,
        );
      assert.match((await reasons('snapshot.created'))[0]!, /^invalid request: body\/flows must be array/);
      assert.match((await reasons('snapshot.import.failed'))[0]!, /^invalid request: body\/file\/content\/flows\/0 must be object/);
    });

    test('a palette list with a name that is not an npm package is refused and audited; the settings stay', async () => {
      const settings = `/api/teams/${teamId}/application-settings`;
      const before = (await admin.get(settings)).json();
      const bad = await admin.put(settings, { paletteAllow: ['node-red-dashboard', 'Not A Package!'], paletteDeny: [], autoSnapshotRetention: 20 });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail, /"Not A Package!"/);
      assert.deepEqual(bad.json().errors, [{ field: 'paletteAllow', message: '"Not A Package!" is not an npm package name' }]);
      assert.deepEqual((await admin.get(settings)).json(), before);
      const [refused] = (await admin.get(`/api/teams/${teamId}/audit?event=team.settings.updated&outcome=failure`)).json().events;
      assert.deepEqual(JSON.parse(refused.details).invalid, ['Not A Package!']);
      assert.equal(
        (await admin.put(settings, { paletteAllow: ['node-red-dashboard', '@flowgate/*'], paletteDeny: ['node-red-contrib-*'], autoSnapshotRetention: 20 })).statusCode,
        200,
      );
    });

    test('automatic snapshots are kept to the retention the team sets, and a lower one applies at once', async () => {
      // An instance of its own, so that the snapshots of the tests after it stay as they are.
      const applicationId = (await admin.get(`/api/instances/${instanceId}`)).json().applicationId as string;
      const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
      const id = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'retention', nodeRedVersion: version })).json().id as string;
      const list = async () => (await admin.get(`/api/instances/${id}/snapshots`)).json() as Array<{ id: string; kind: string }>;
      // What the agent sends after a deploy in the editor (its route needs the agent's own token).
      const deployInEditor = async (topic: string) =>
        (
          await t.context.snapshots.recordEditorDeploy(
            (await t.context.applicationsStore.instanceById(id))!,
            { flows: FLOW_A.map((n) => (n.id === 'inj1' ? { ...n, topic } : n)), credentials: null, user: 'admin@plant.example' },
            SYSTEM_CONTEXT,
          )
        ).id;
      assert.equal((await admin.post(`/api/instances/${id}/snapshots`, { name: 'by hand', flows: FLOW_A })).statusCode, 201);
      let newest = '';
      for (const topic of ['t1', 't2', 't3']) newest = await deployInEditor(topic);
      assert.equal((await list()).filter((x) => x.kind === 'auto').length, 3);

      const settings = `/api/teams/${teamId}/application-settings`;
      const current = (await admin.get(settings)).json() as Record<string, unknown>;
      assert.equal((await admin.put(settings, { ...current, autoSnapshotRetention: 1 })).statusCode, 200);
      assert.deepEqual(
        (await list()).filter((x) => x.kind === 'auto').map((x) => x.id),
        [newest],
        'the newest, which runs, is kept',
      );
      assert.equal((await list()).filter((x) => x.kind === 'manual').length, 1, 'a snapshot taken by hand is never pruned');
      const pruned = ((await admin.get(`/api/teams/${teamId}/audit?event=snapshot.deleted`)).json().events as Array<{ targetId: string; details: string }>).find(
        (e) => e.targetId === id,
      )!;
      assert.equal(JSON.parse(pruned.details).removed.length, 2);
      assert.equal(JSON.parse(pruned.details).retention, 1);

      const next = await deployInEditor('t4');
      assert.deepEqual(
        (await list()).filter((x) => x.kind === 'auto').map((x) => x.id),
        [next],
        'and at the next deploy',
      );
      assert.equal((await admin.put(settings, { ...current })).statusCode, 200);
      const left = await list();
      assert.equal((await admin.delete(`/api/instances/${id}`)).statusCode, 204);
      // The snapshots go with the instance: the record says which.
      const deleted = ((await admin.get(`/api/teams/${teamId}/audit?event=instance.deleted`)).json().events as Array<{ targetId: string; details: string }>).find(
        (e) => e.targetId === id,
      )!;
      const details = JSON.parse(deleted.details) as { snapshotsDeleted: number; snapshots: Array<{ id: string; hash: string }> };
      assert.equal(details.snapshotsDeleted, left.length);
      assert.deepEqual(details.snapshots.map((s) => s.id).sort(), left.map((s) => s.id).sort());
    });

    test('snapshots are addressed by the hash of their content and listed with their author', async () => {
      const a = await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'A', description: 'first', flows: FLOW_A });
      assert.equal(a.statusCode, 201, a.body);
      assert.match(a.json().hash, /^[0-9a-f]{64}$/);
      snapshotA = a.json().id;
      snapshotB = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'B', flows: FLOW_B })).json().id;
      const same = await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'A again', flows: [...FLOW_A].reverse().map((n) => ({ ...n })) });
      assert.notEqual(same.json().hash, a.json().hash, 'node order is part of the flows');
      const list = (await admin.get(`/api/instances/${instanceId}/snapshots`)).json();
      assert.equal(list.length, 3);
      assert.equal(list.find((s: { id: string }) => s.id === snapshotA).createdBy, 'admin@plant.example');
    });

    test("a change review between two instances of the team (staging against production); another team's snapshot is not found", async () => {
      const applicationId = (await admin.get(`/api/instances/${instanceId}`)).json().applicationId as string;
      const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
      const staging = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'staging', nodeRedVersion: version })).json().id as string;
      const onStaging = (await admin.post(`/api/instances/${staging}/snapshots`, { name: 'staging B', flows: FLOW_B })).json().id as string;
      await reportAsAgent(t, staging, 'running', onStaging);
      const review = await operator.get(`/api/instances/${instanceId}/diff?from=${onStaging}&to=${snapshotA}`);
      assert.equal(review.statusCode, 200, review.body);
      const body = review.json();
      assert.deepEqual([body.from.instanceName, body.to.instanceName], ['staging', 'prod']);
      // Each side says whether its own instance runs it: staging does, prod runs nothing yet.
      assert.deepEqual([body.from.runningThere, body.to.runningThere], [true, false]);
      // A failed deploy reverted to the last good snapshot: 'error', and Node-RED runs on its port,
      // which the editor and the endpoints are proxied to all the same.
      await reportAsAgent(t, staging, 'error', onStaging, { nodeRedPort: 45_678, error: 'the flows failed to start; back on the last good ones' });
      assert.equal(t.context.runtime.port(staging), 45_678);
      // Crashed, staging still names the snapshot it ran last: not running.
      await reportAsAgent(t, staging, 'crashed', onStaging);
      assert.equal(t.context.runtime.port(staging), null, 'nothing to proxy to');
      assert.equal((await operator.get(`/api/instances/${instanceId}/diff?from=${onStaging}&to=${snapshotA}`)).json().from.runningThere, false);
      assert.deepEqual(body.diff.summary, { added: 0, removed: 0, changed: 2, moved: 0, rewired: 0 });

      const otherTeam = (await admin.post('/api/teams', { name: 'Elsewhere' })).json().id as string;
      const otherApp = (await admin.post(`/api/teams/${otherTeam}/applications`, { name: 'Theirs' })).json().id as string;
      const theirs = (await admin.post(`/api/applications/${otherApp}/instances`, { name: 'theirs', nodeRedVersion: version })).json().id as string;
      const theirSnapshot = (await admin.post(`/api/instances/${theirs}/snapshots`, { name: 'theirs', flows: FLOW_A })).json().id as string;
      const across = await admin.get(`/api/instances/${instanceId}/diff?from=${theirSnapshot}&to=${snapshotA}`);
      assert.equal(across.statusCode, 404, 'not through an instance of another team, even for an admin of both');
      for (const id of [staging, theirs]) assert.equal((await admin.delete(`/api/instances/${id}`)).statusCode, 204);
    });

    test('the diff names the changed function line and property', async () => {
      const { diff } = (await operator.get(`/api/instances/${instanceId}/diff?from=${snapshotA}&to=${snapshotB}`)).json();
      assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 2, moved: 0, rewired: 0 });
      const fn = diff.changed.find((c: { id: string }) => c.id === 'fn1');
      assert.equal(fn.tab.label, 'Line 1');
      const lines = fn.code[0].hunks.flatMap((h: { lines: Array<{ op: string; text: string }> }) => h.lines);
      assert.ok(lines.some((l: { op: string; text: string }) => l.op === '-' && l.text.includes('* 2')));
      assert.ok(lines.some((l: { op: string; text: string }) => l.op === '+' && l.text.includes('* 3')));
      const inj = diff.changed.find((c: { id: string }) => c.id === 'inj1');
      assert.deepEqual(
        inj.properties.map((p: { path: string; before: string; after: string }) => [p.path, p.before, p.after]),
        [['topic', 'line1', 'line-1']],
      );
    });

    test('a snapshot records the Node-RED version it was made on and the environment; the change review names what changed in them', async () => {
      const { nodeRedVersion } = (await admin.get(`/api/instances/${instanceId}`)).json();
      assert.deepEqual((await admin.get(`/api/snapshots/${snapshotA}`)).json().settings, { nodeRedVersion });
      // Another version taken on (recorded as the instance's, as after PUT .../node-red-version) and the environment changed.
      await t.db.database.db.updateTable('instances').set({ node_red_version: '4.0.9' }).where('id', '=', instanceId).execute();
      assert.equal(
        (
          await admin.put(`/api/instances/${instanceId}/env`, {
            env: [
              { name: 'OPCUA_PASSWORD', secret: true },
              { name: 'LINE', value: '9', secret: false },
              { name: 'SHIFT', value: 'night', secret: false },
            ],
          })
        ).statusCode,
        204,
      );
      const later = (await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'A on 4.0.9', flows: FLOW_A })).json().id;
      await t.db.database.db.updateTable('instances').set({ node_red_version: nodeRedVersion }).where('id', '=', instanceId).execute();

      const review = (await operator.get(`/api/instances/${instanceId}/diff?from=${snapshotA}&to=${later}`)).json();
      assert.deepEqual(review.diff.summary, { added: 0, removed: 0, changed: 0, moved: 0, rewired: 0 }, 'the same flows');
      assert.deepEqual(review.settings, [{ name: 'nodeRedVersion', before: nodeRedVersion, after: '4.0.9' }]);
      assert.deepEqual(review.env, {
        added: [{ name: 'SHIFT', value: 'night', secret: false }],
        removed: [],
        changed: [{ name: 'LINE', before: { name: 'LINE', value: '8', secret: false }, after: { name: 'LINE', value: '9', secret: false } }],
      });
      assert.ok(!JSON.stringify(review).includes('s3cret-value'), 'a secret value is in no snapshot');
    });

    test('an operator rolls back to what ran here before, and may not deploy what never ran; every deployment is audited', async () => {
      const target = async () => (await admin.get(`/api/instances/${instanceId}`)).json().targetSnapshotId as string | null;
      const runs = async () =>
        Object.fromEntries(
          ((await operator.get(`/api/instances/${instanceId}/snapshots`)).json() as Array<{ id: string; firstRanAt: string | null }>).map((s) => [s.id, s.firstRanAt]),
        );
      // What the list offers each caller (its buttons) is what the deploy route then decides: one policy.
      const mayDeploy = async (client: Client) => {
        const allowed = Object.fromEntries(
          ((await client.get(`/api/instances/${instanceId}/snapshots`)).json() as Array<{ id: string; allowed: { deploy: boolean } }>).map((s) => [s.id, s.allowed.deploy]),
        );
        return { A: allowed[snapshotA], B: allowed[snapshotB] };
      };
      assert.deepEqual(await mayDeploy(operator), { A: false, B: false });
      assert.deepEqual(await mayDeploy(admin), { A: true, B: true }, 'an owner deploys any snapshot');
      // Nothing has run yet: deploying is the flows' change, not the operator's.
      const first = await operator.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotB });
      assert.equal(first.statusCode, 403);
      assert.match(first.json().detail, /may roll back to a snapshot that has run on this instance before/);
      assert.equal(await target(), null, 'nothing changed');
      assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotB })).statusCode, 202);
      // A is older than B but never ran here (it was made from flows by hand): not a roll back.
      assert.equal((await operator.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotA })).statusCode, 403);
      assert.equal(await target(), snapshotB);
      // Being started is not having run; the agent's report that B runs is.
      await reportAsAgent(t, instanceId, 'starting', snapshotB);
      assert.equal((await runs())[snapshotB], null);
      await reportAsAgent(t, instanceId, 'running', snapshotB);
      assert.ok((await runs())[snapshotB], 'B is listed as having run');
      assert.deepEqual(await mayDeploy(operator), { A: false, B: true }, 'B ran here: the operator is offered a roll back to it, not A');
      assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotA })).statusCode, 202);
      await reportAsAgent(t, instanceId, 'running', snapshotA);
      // Both ran here: the operator may go back and forth between them.
      assert.equal((await operator.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotB })).statusCode, 202, 'B ran here');
      assert.equal((await operator.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotA })).statusCode, 202, 'A ran here');
      assert.equal(await target(), snapshotA);
      // A snapshot of another instance reported as running is recorded nowhere.
      const applicationId = (await admin.get(`/api/instances/${instanceId}`)).json().applicationId as string;
      const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
      const other = (await admin.post(`/api/applications/${applicationId}/instances`, { name: 'other', nodeRedVersion: version })).json().id as string;
      const foreign = (await admin.post(`/api/instances/${other}/snapshots`, { name: 'elsewhere', flows: FLOW_A })).json().id as string;
      await reportAsAgent(t, instanceId, 'running', foreign);
      assert.equal((await admin.get(`/api/snapshots/${foreign}`)).json().snapshot.firstRanAt, null);
      await reportAsAgent(t, instanceId, 'running', snapshotA);
      assert.equal((await admin.delete(`/api/instances/${other}`)).statusCode, 204);

      const denied = (await admin.get(`/api/teams/${teamId}/audit?event=auth.access.denied`))
        .json()
        .events.filter((e: { details: string }) => JSON.parse(e.details).reason?.startsWith('not a roll back'));
      assert.equal(denied.length, 2);
      const events = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.deployed`)).json().events as Array<{ actorLabel: string; details: string }>;
      assert.deepEqual(
        events.map((e) => [e.actorLabel, JSON.parse(e.details).snapshotId, JSON.parse(e.details).rollback]),
        [
          ['olga@plant.example', snapshotA, true],
          ['olga@plant.example', snapshotB, true],
          [ADMIN.email, snapshotA, false],
          [ADMIN.email, snapshotB, false],
        ],
      );
    });

    test('a snapshot whose stored content no longer matches its hash is not deployed', async () => {
      const db = t.db.database.db;
      // The database refuses to change a snapshot: its author and time too, which the hash does not cover.
      await assert.rejects(sql`update snapshots set created_by_label = 'someone else' where id = ${snapshotB}`.execute(db), /snapshots are immutable/);
      // As a DBA with full rights could: the trigger out of the way, then the content changed.
      if (dialect === 'sqlite') await sql`drop trigger snapshots_no_update`.execute(db);
      else await sql`alter table snapshots disable trigger user`.execute(db);
      await sql`update snapshots set content = replace(content, 'tick', 'TICK') where id = ${snapshotB}`.execute(db);
      // The trigger back, for the tests after this one.
      if (dialect === 'sqlite') await sql`create trigger snapshots_no_update before update on snapshots begin select raise(abort, 'snapshots are immutable'); end`.execute(db);
      else await sql`alter table snapshots enable trigger user`.execute(db);
      const r = await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshotB });
      assert.equal(r.statusCode, 409);
      assert.match(r.json().detail, /no longer matches its hash/);
      assert.equal((await admin.get(`/api/instances/${instanceId}`)).json().targetSnapshotId, snapshotA, 'the instance is untouched');
      const failed = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.apply.failed`)).json().events;
      assert.equal(failed.length, 1);
      // Shown, compared or exported, the altered content is refused too, never passed off as the snapshot.
      const shown = await admin.get(`/api/snapshots/${snapshotB}`);
      assert.equal(shown.statusCode, 409);
      assert.match(shown.json().detail, /no longer matches its hash/);
      assert.equal((await admin.get(`/api/instances/${instanceId}/diff?from=${snapshotA}&to=${snapshotB}`)).statusCode, 409);
      assert.equal((await admin.post(`/api/snapshots/${snapshotB}/export`, { secret: 'transport secret 2026' })).statusCode, 409);
      const reads = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.integrity.failed`)).json().events.map((e: { details: string }) => JSON.parse(e.details).action);
      assert.deepEqual(reads.sort(), ['compare', 'export', 'show']);
    });

    test('export and import re-encrypt credentials; a wrong secret or an altered file is refused and audited', async () => {
      // Credentials as Node-RED keeps them, encrypted with the instance's own secret.
      const instance = (await t.context.applicationsStore.instanceById(instanceId))!;
      const credentials = encryptCredentials({ dbg1: { password: 'plc-pass' } }, t.context.applications.credentialSecret(instance));
      const withCreds = await t.context.snapshots.recordEditorDeploy(
        instance,
        { flows: FLOW_A, credentials, user: 'admin@plant.example' },
        { actor: { type: 'user', userId: null, label: 'admin@plant.example' }, ip: null, userAgent: null },
      );
      const exported = await admin.post(`/api/snapshots/${withCreds.id}/export`, { secret: 'transport secret 2026' });
      assert.equal(exported.statusCode, 200, exported.body);
      const file = exported.json();
      assert.equal(file.format, 'flowgate-snapshot');
      assert.ok(!JSON.stringify(file).includes('plc-pass'));

      const before = (await admin.get(`/api/instances/${instanceId}/snapshots`)).json().length;
      const wrong = await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'not the right secret', file });
      assert.equal(wrong.statusCode, 400);
      assert.match(wrong.json().detail, /not the one this file was exported under/);
      const altered = { ...file, content: { ...file.content, flows: FLOW_B } };
      const tampered = await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'transport secret 2026', file: altered });
      assert.equal(tampered.statusCode, 400);
      assert.match(tampered.json().detail, /altered: its content does not match its hash/);
      // Edited and hashed again: the hash matches, the seal (made with the secret) does not.
      const rehashed = { ...altered, hash: snapshotHash(altered.content) };
      const resealed = await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'transport secret 2026', file: rehashed });
      assert.equal(resealed.statusCode, 400);
      assert.match(resealed.json().detail, /or the file was altered after export/);
      assert.equal((await admin.get(`/api/instances/${instanceId}/snapshots`)).json().length, before, 'nothing imported by a refused file');
      const ok = await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'transport secret 2026', file });
      assert.equal(ok.statusCode, 201, ok.body);
      assert.equal((await admin.get(`/api/instances/${instanceId}/snapshots`)).json().length, before + 1);
      const refused = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.import.failed`)).json().events.map((e: { details: string }) => JSON.parse(e.details).reason);
      // With the file refused by the schema in an earlier test.
      assert.deepEqual(refused.sort(), ['hash mismatch', 'invalid request: body/file/content/flows/0 must be object', 'wrong secret', 'wrong secret']);

      // Without credentials, a wrong secret is refused all the same: the seal is checked, not only the credentials.
      const plain = (await admin.post(`/api/snapshots/${snapshotA}/export`, { secret: 'transport secret 2026' })).json();
      assert.equal(plain.content.credentials, null);
      const plainWrong = await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'not the right secret', file: plain });
      assert.equal(plainWrong.statusCode, 400);
      assert.equal(plainWrong.json().errors[0].field, 'secret');
      // An older file, with no seal: refused for its form, naming what is missing.
      const old = await admin.post(`/api/instances/${instanceId}/snapshots/import`, { secret: 'transport secret 2026', file: { ...plain, seal: undefined, version: 1 } });
      assert.equal(old.statusCode, 400);
      assert.equal((await admin.get(`/api/instances/${instanceId}/snapshots`)).json().length, before + 1);
    });

    test('a snapshot of an editor deploy holds the installed node modules; names that are not npm packages are refused, on import too', async () => {
      const instance = (await t.context.applicationsStore.instanceById(instanceId))!;
      const modules = [
        { name: 'node-red-contrib-modbus', version: '5.43.0' },
        { name: '@flowfuse/node-red-dashboard', version: '1.22.0' },
      ];
      const recorded = await t.context.snapshots.recordEditorDeploy(instance, { flows: FLOW_A, credentials: null, modules, user: null }, SYSTEM_CONTEXT);
      const held = t.context.snapshots.contentOf(recorded).modules;
      assert.deepEqual(held, [modules[1], modules[0]], 'by name, as the hash covers them');
      assert.equal(recorded.hash, snapshotHash(t.context.snapshots.contentOf(recorded)));
      // The change review names them beside the flows.
      const review = (await admin.get(`/api/instances/${instanceId}/diff?from=${snapshotA}&to=${recorded.id}`)).json();
      assert.deepEqual(review.modules, { added: [modules[1], modules[0]], removed: [], changed: [] });
      assert.deepEqual((await admin.get(`/api/snapshots/${recorded.id}`)).json().modules, held);
      await assert.rejects(
        t.context.snapshots.recordEditorDeploy(instance, { flows: FLOW_A, credentials: null, modules: [{ name: '../../etc', version: '1' }], user: null }, SYSTEM_CONTEXT),
        /"\.\.\/\.\.\/etc" is not an npm package name/,
      );

      const file = (await admin.post(`/api/snapshots/${recorded.id}/export`, { secret: 'transport secret 2026' })).json();
      assert.deepEqual(file.content.modules, held, 'exported with the snapshot');
      const content = { ...file.content, modules: [{ name: 'Evil Module', version: '1.0.0' }] };
      const bad = await admin.post(`/api/instances/${instanceId}/snapshots/import`, {
        secret: 'transport secret 2026',
        file: { ...file, content, hash: snapshotHash(content), seal: exportSeal('transport secret 2026', snapshotHash(content)) },
      });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().detail, /"Evil Module" is not an npm package name/);
      // Settings this platform does not record are refused too, named.
      const withSetting = { ...file.content, settings: { ...file.content.settings, httpNodeAuth: { user: 'x' } } };
      const unknownSetting = await admin.post(`/api/instances/${instanceId}/snapshots/import`, {
        secret: 'transport secret 2026',
        file: { ...file, content: withSetting, hash: snapshotHash(withSetting), seal: exportSeal('transport secret 2026', snapshotHash(withSetting)) },
      });
      assert.equal(unknownSetting.statusCode, 400);
      assert.match(unknownSetting.json().detail, /settings this platform does not know: httpNodeAuth/);
      // Variables: a secret one carrying a value (it would be stored in the clear), a name that is not one, one named twice.
      const badEnv = {
        ...file.content,
        env: [
          { name: 'API_KEY', value: 'leaked', secret: true },
          { name: 'NOT A NAME', value: '1', secret: false },
          { name: 'LINE', value: '3', secret: false },
          { name: 'LINE', value: '4', secret: false },
        ],
      };
      const envRefused = await admin.post(`/api/instances/${instanceId}/snapshots/import`, {
        secret: 'transport secret 2026',
        file: { ...file, content: badEnv, hash: snapshotHash(badEnv), seal: exportSeal('transport secret 2026', snapshotHash(badEnv)) },
      });
      assert.equal(envRefused.statusCode, 400);
      assert.equal(
        envRefused.json().detail,
        'The file\'s environment variables are not valid: API_KEY is secret, and a snapshot holds no secret value; "NOT A NAME" is not a variable name; LINE is named twice.',
      );
      assert.deepEqual(
        envRefused.json().errors.map((e: { field: string }) => e.field),
        ['content.env[0].value', 'content.env[1].name', 'content.env[3].name'],
      );
      const reasons = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.import.failed`)).json().events.map((e: { details: string }) => JSON.parse(e.details).reason);
      assert.ok(reasons.includes('invalid node modules'), 'the refused import is audited');
      assert.ok(reasons.includes('invalid settings'));

      // A team that keeps contributed nodes out: the snapshot holding modbus is not deployed.
      const settings = `/api/teams/${teamId}/application-settings`;
      const kept = (await admin.get(settings)).json();
      assert.equal((await admin.put(settings, { ...kept, paletteAllow: [], paletteDeny: ['node-red-contrib-*'] })).statusCode, 200);
      const targetBefore = (await admin.get(`/api/instances/${instanceId}`)).json().targetSnapshotId;
      const denied = await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: recorded.id });
      assert.equal(denied.statusCode, 409);
      assert.equal(
        denied.json().detail,
        "This snapshot holds node modules the team's palette lists do not allow (node-red-contrib-modbus): change the lists or deploy another snapshot.",
      );
      assert.equal((await admin.get(`/api/instances/${instanceId}`)).json().targetSnapshotId, targetBefore, 'the instance is untouched');
      const applyFailures = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.apply.failed`)).json().events.map((e: { details: string }) => JSON.parse(e.details).reason);
      assert.ok(applyFailures.includes("node modules the team's palette lists do not allow: node-red-contrib-modbus"), 'the refused deploy is audited');
      assert.equal((await admin.put(settings, kept)).statusCode, 200);
    });

    test('an editor deploy recorded after a deploy through the platform is kept, and the platform deploy stays the target', async () => {
      const instance = (await t.context.applicationsStore.instanceById(instanceId))!;
      const target = instance.target_snapshot_id!;
      assert.ok(target);
      // The editor deployed over an older snapshot; a deploy through the platform landed before the agent recorded it.
      const late = await t.context.snapshots.recordEditorDeploy(instance, { flows: FLOW_B, credentials: null, user: null, basedOn: snapshotB }, SYSTEM_CONTEXT);
      assert.equal(late.becameTarget, false);
      let now = (await admin.get(`/api/instances/${instanceId}`)).json();
      assert.equal(now.targetSnapshotId, target, 'the later decision stands');
      assert.equal(now.runningSnapshotId, late.id, 'what runs until the agent applies the target');
      const listed = ((await admin.get(`/api/instances/${instanceId}/snapshots`)).json() as Array<{ id: string; firstRanAt: string | null }>).find((s) => s.id === late.id);
      assert.ok(listed, 'kept in the history');
      assert.equal(listed.firstRanAt, late.created_at, 'Node-RED runs what the editor deployed: it ran here, an operator may come back to it');
      // Deployed over the target itself: it becomes the target.
      const onTop = await t.context.snapshots.recordEditorDeploy(instance, { flows: FLOW_A, credentials: null, user: null, basedOn: target }, SYSTEM_CONTEXT);
      assert.equal(onTop.becameTarget, true);
      now = (await admin.get(`/api/instances/${instanceId}`)).json();
      assert.equal(now.targetSnapshotId, onTop.id);
      const created = (await admin.get(`/api/teams/${teamId}/audit?event=snapshot.created`)).json().events.map((e: { details: string }) => JSON.parse(e.details));
      assert.deepEqual(
        created
          .filter((d: { hash: string }) => d.hash === late.hash || d.hash === onTop.hash)
          .map((d: { becameTarget: boolean }) => d.becameTarget)
          .sort(),
        [false, true],
      );
    });

    test('the editor and the endpoints of a stopped instance answer 503 to members, 404 to strangers', async () => {
      assert.equal((await operator.post(`/api/instances/${instanceId}/stop`)).statusCode, 202);
      // A stopped instance is started, not restarted: refused, and the attempt on record.
      assert.equal((await operator.post(`/api/instances/${instanceId}/restart`)).statusCode, 409);
      const restarts = (await admin.get(`/api/teams/${teamId}/audit?event=instance.restarted`)).json().events as Array<{ outcome: string; actorLabel: string }>;
      assert.deepEqual(
        restarts.map((e) => [e.outcome, e.actorLabel]),
        [['failure', 'olga@plant.example']],
      );
      // On the instance's own origin, where the platform's route with its one-time code signs the person in.
      const editor = await (await admin.onInstance(instanceId, 'editor')).get(`/instances/${instanceId}/editor/`);
      assert.equal(editor.statusCode, 503);
      const stranger = new Client(t);
      stranger.host = `${instanceId}.localhost:3000`;
      assert.equal((await stranger.get(`/instances/${instanceId}/app/status`)).statusCode, 401, 'endpoints are behind sign-in by default');
      const otherTeam = (await admin.post('/api/teams', { name: 'Other' })).json().id;
      const outsider = await addMember(t, admin, otherTeam, 'otto@plant.example', 'owner');
      assert.equal((await outsider.get(`/instances/${instanceId}/editor`)).statusCode, 404);
      assert.equal((await outsider.get(`/instances/${instanceId}/app`)).statusCode, 404, 'no code for the endpoints of a team one is not in');
      assert.equal((await outsider.get(`/api/instances/${instanceId}`)).statusCode, 404);
      // A platform admin who is not in the team sees the instance, but its editor is for the team's people.
      const ottoId = (await outsider.get('/api/account')).json().user.id as string;
      assert.equal((await admin.patch(`/api/platform/users/${ottoId}`, { platformRole: 'admin' })).statusCode, 200);
      assert.equal((await outsider.get(`/api/instances/${instanceId}`)).statusCode, 200);
      const refused = await outsider.get(`/instances/${instanceId}/editor`);
      assert.equal(refused.statusCode, 403);
      assert.match(refused.json().detail, /Only the team's people open its Node-RED editors \(instances:editor\): join the team first/);
      const [denied] = (await admin.get(`/api/teams/${teamId}/audit?event=auth.access.denied`)).json().events as Array<{ actorLabel: string; details: string }>;
      assert.equal(denied!.actorLabel, 'otto@plant.example');
      assert.equal(JSON.parse(denied!.details).reason, 'not a member');
    });
  });
}
