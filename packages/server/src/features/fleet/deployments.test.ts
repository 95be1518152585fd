import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { snapshotHash, type SnapshotContent } from '@flowgate/core';
import { DesiredState } from '@flowgate/protocol';
import { addMember, Client, createManualClock, DIALECTS, reportAsAgent, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

type Device = { id: string; credential: string; name: string };
type Rollout = { id: string; state: string; currentWave: number; waveCount: number; detail: string | null };
type Progress = Array<{ siteId: string; state: string; devices: number }>;

/**
 * Targets and rollouts through the API, with devices speaking the device protocol by hand
 * (the real agent on a device is device-agent.test.ts). The clock is moved by hand, and
 * the rollout engine is run by the test (its timer starts only when the server listens).
 */
for (const dialect of DIALECTS) {
  describe(`device targets and rollouts on ${dialect}`, () => {
    const clock = createManualClock();
    let t: TestApp;
    let owner: Client;
    let operator: Client;
    let viewer: Client;
    let teamId: string;
    let siteAachen: string;
    let siteBremen: string;
    let groupId: string;
    let v1: { id: string; hash: string };
    let v2: { id: string; hash: string };
    let solo: Device;
    let applicationId: string;
    let instanceId: string;
    const line: Device[] = [];
    const wire = new Map<string, Client>();

    const as = (d: Device) => {
      let client = wire.get(d.id);
      if (!client) {
        client = new Client(t);
        client.bearer = d.credential;
        wire.set(d.id, client);
      }
      return client;
    };
    const report = async (d: Device, body: Record<string, unknown>) => {
      const r = await as(d).post('/api/fleet/v1/check-in', { agentVersion: '0.1.0', nodeRedVersion: '4.1.8', ...body });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { generation: number; target: { id: string; hash: string } | null };
    };
    const desired = async (d: Device, query = '') => {
      const r = await as(d).get(`/api/fleet/v1/desired${query}`);
      assert.equal(r.statusCode, 200, r.body);
      // What the device's agent checks it against (@flowgate/protocol), as it came.
      assert.deepEqual(
        [...Value.Errors(DesiredState, r.json())].map((e) => `${e.path}: ${e.message}`),
        [],
      );
      return r.json() as { generation: number; instanceId: string; snapshot: { id: string; hash: string } | null; settings: { httpAdminRoot: string; credentialSecret: string } };
    };
    const register = async (siteId: string, name: string, inGroup: boolean): Promise<Device> => {
      const made = await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId, ...(inGroup ? { groupId } : {}) });
      assert.equal(made.statusCode, 201, made.body);
      const r = await new Client(t).post('/api/fleet/v1/register', { token: made.json().token, name, agentVersion: '0.1.0' });
      assert.equal(r.statusCode, 201, r.body);
      return { id: r.json().deviceId, credential: r.json().credential, name };
    };
    const rollout = async (id: string) => (await viewer.get(`/api/rollouts/${id}`)).json() as { rollout: Rollout; progress: Progress };
    const bySite = (progress: Progress, siteId: string) => Object.fromEntries(progress.filter((p) => p.siteId === siteId).map((p) => [p.state, p.devices]));
    const events = async (event: string) => (await owner.get(`/api/audit?event=${event}`)).json().events as Array<{ targetId: string; outcome: string; details: string }>;
    const engine = () => t.context.deployments.tick();

    before(async () => {
      t = await startTestApp(dialect, {}, { clock });
      owner = await setupAdmin(t);
      teamId = (await owner.post('/api/teams', { name: 'Packaging' })).json().id;
      operator = await addMember(t, owner, teamId, 'olga@plant.example', 'operator');
      viewer = await addMember(t, owner, teamId, 'vic@plant.example', 'viewer');
      siteAachen = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Aachen', timeZone: 'Europe/Berlin' })).json().id;
      siteBremen = (await owner.post(`/api/teams/${teamId}/sites`, { name: 'Plant Bremen', timeZone: 'Europe/Berlin' })).json().id;
      groupId = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'Fillers' })).json().id;
      applicationId = (await owner.post(`/api/teams/${teamId}/applications`, { name: 'Filler control' })).json().id;
      const nodeRedVersion = ((await owner.get('/api/node-red-versions')).json() as string[])[0];
      instanceId = (await owner.post(`/api/applications/${applicationId}/instances`, { name: 'dev', nodeRedVersion })).json().id;
      const snap = async (name: string) => {
        const r = await owner.post(`/api/instances/${instanceId}/snapshots`, { name, flows: [{ id: 't1', type: 'tab', label: name }] });
        assert.equal(r.statusCode, 201, r.body);
        return { id: r.json().id as string, hash: r.json().hash as string };
      };
      v1 = await snap('v1');
      v2 = await snap('v2');
      solo = await register(siteAachen, 'bench-gw', false);
      // Registered out of name order: waves go site by site, then by name.
      line.push(
        await register(siteBremen, 'filler-b2', true),
        await register(siteAachen, 'filler-a2', true),
        await register(siteBremen, 'filler-b1', true),
        await register(siteAachen, 'filler-a1', true),
      );
    });
    after(() => t.close());

    test('a device given a target learns it from its long poll, may download only that snapshot, and its reports show', async () => {
      assert.equal((await viewer.put(`/api/devices/${solo.id}/target`, { snapshotId: v1.id })).statusCode, 403, 'a viewer deploys nothing');
      const first = await desired(solo);
      assert.equal(first.snapshot, null);
      assert.equal(first.instanceId, solo.id);
      assert.equal(first.settings.httpAdminRoot, `/devices/${solo.id}/editor/`);

      // The long poll waits for a change, and answers as soon as the operator sets a target.
      const waiting = desired(solo, `?generation=${first.generation}&wait=10`);
      const set = await operator.put(`/api/devices/${solo.id}/target`, { snapshotId: v2.id });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().state, 'updating');
      const answered = await waiting;
      assert.equal(answered.generation, first.generation + 1);
      assert.deepEqual(answered.snapshot, v2);

      const download = await as(solo).get(`/api/fleet/v1/snapshots/${v2.id}`);
      assert.equal(download.statusCode, 200);
      assert.equal(snapshotHash(download.json() as SnapshotContent), v2.hash, 'what it downloads hashes to what it was told');
      assert.equal((await as(solo).get(`/api/fleet/v1/snapshots/${v1.id}`)).statusCode, 404, 'not its target');
      // Claiming to run a snapshot does not open it: only the target downloads.
      await report(solo, { state: 'running', runningSnapshotId: v1.id });
      assert.equal((await as(solo).get(`/api/fleet/v1/snapshots/${v1.id}`)).statusCode, 404, 'not by saying it runs it');
      assert.equal((await as(line[0]!).get(`/api/fleet/v1/snapshots/${v2.id}`)).statusCode, 404, "another device's target");

      const checked = await report(solo, { state: 'running', runningSnapshotId: v2.id, runningHash: v2.hash, error: null, cpuPercent: 12.5, memoryMb: 512 });
      assert.deepEqual(checked.target, v2);
      const shown = (await viewer.get(`/api/devices/${solo.id}`)).json();
      assert.deepEqual(
        { state: shown.state, running: shown.runningSnapshotId, target: shown.targetSnapshotId, cpu: shown.cpuPercent, memory: shown.memoryMb },
        { state: 'running', running: v2.id, target: v2.id, cpu: 12.5, memory: 512 },
      );

      // A snapshot refused on the device (its hash did not match) is a failure on record.
      await report(solo, { state: 'error', runningSnapshotId: v2.id, error: `snapshot ${v2.id} refused: its content hashes to 00ff, not to ${v2.hash}` });
      const failed = (await events('device.status.failed')).filter((e) => e.targetId === solo.id);
      assert.equal(failed.length, 1);
      assert.match(JSON.parse(failed[0]!.details).error, /refused: its content hashes to/);
      assert.equal((await events('device.target.set')).filter((e) => e.targetId === solo.id).length, 1);
    });

    test('bad input is refused with what was wrong', async () => {
      const refused = await operator.put(`/api/devices/${solo.id}/target`, { snapshotId: '00000000-0000-4000-8000-000000000000' });
      assert.equal(refused.statusCode, 400);
      assert.deepEqual(refused.json().errors, [{ field: 'snapshotId', message: 'unknown snapshot' }]);
      assert.equal((await operator.put(`/api/devices/${solo.id}/target`, { snapshotId: 'v2' })).statusCode, 400);
      assert.equal((await operator.put(`/api/devices/${solo.id}/target`, {})).statusCode, 400);
      const both = await operator.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: v1.id, batchSize: 2, batchPercent: 50 });
      assert.equal(both.statusCode, 400);
      assert.match(both.json().detail, /not both/);
      const empty = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'Spare' })).json().id;
      const none = await operator.post(`/api/device-groups/${empty}/rollouts`, { snapshotId: v1.id });
      assert.equal(none.statusCode, 409);
      assert.match(none.json().detail, /no devices/);
      const wrongState = await as(solo).post('/api/fleet/v1/check-in', { agentVersion: '0.1.0', state: 'exploded' });
      assert.equal(wrongState.statusCode, 400);
      const forged = new Client(t);
      forged.bearer = 'fgd_forged';
      assert.equal((await forged.get('/api/fleet/v1/desired')).statusCode, 401);
    });

    test('a rollout goes in waves, site by site, each gated on health; paused, it starts no wave; then it completes', async () => {
      const started = await operator.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: v2.id, batchSize: 2, healthSeconds: 30 });
      assert.equal(started.statusCode, 201, started.body);
      const id = started.json().id as string;
      assert.deepEqual({ state: started.json().state, wave: started.json().currentWave, waves: started.json().waveCount }, { state: 'running', wave: 1, waves: 2 });
      assert.equal((await operator.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: v1.id })).statusCode, 409, 'one rollout at a time');
      assert.equal((await operator.put(`/api/devices/${line[0]!.id}/target`, { snapshotId: v1.id })).statusCode, 409, 'no direct target inside a rollout');
      assert.equal((await operator.get(`/api/devices/${line[0]!.id}`)).json().allowed.setTarget, false, 'and none is offered (devices.policy.ts)');
      assert.equal((await operator.get(`/api/devices/${solo.id}`)).json().allowed.setTarget, true, 'a device outside the rollout is offered one');

      let progress = (await rollout(id)).progress;
      assert.deepEqual(bySite(progress, siteAachen), { updating: 2 }, 'the first wave is one plant');
      assert.deepEqual(bySite(progress, siteBremen), { pending: 2 });
      const [b2, a2, b1, a1] = line as [Device, Device, Device, Device];
      assert.deepEqual((await desired(a1)).snapshot, v2);
      assert.equal((await desired(b1)).snapshot, null, 'the next wave waits');

      await report(a1, { state: 'running', runningSnapshotId: v2.id });
      await report(a2, { state: 'running', runningSnapshotId: v2.id });
      await engine();
      assert.deepEqual(bySite((await rollout(id)).progress, siteAachen), { verifying: 2 });
      clock.advance(29_000);
      await engine();
      assert.equal((await rollout(id)).rollout.currentWave, 1, 'not before the health window has passed');
      clock.advance(2_000);
      await engine();
      ({ progress } = await rollout(id));
      assert.deepEqual(bySite(progress, siteAachen), { healthy: 2 });
      assert.deepEqual(bySite(progress, siteBremen), { updating: 2 });

      // What the rollout says may be done now is what the server then does (rollouts.policy.ts).
      assert.deepEqual((await viewer.get(`/api/rollouts/${id}`)).json().rollout.allowed, { pause: false, resume: false, abort: false }, 'a viewer is offered nothing');
      assert.deepEqual((await operator.get(`/api/rollouts/${id}`)).json().rollout.allowed, { pause: true, resume: false, abort: true });
      assert.equal((await viewer.post(`/api/rollouts/${id}/pause`)).statusCode, 403);
      const paused = (await operator.post(`/api/rollouts/${id}/pause`)).json();
      assert.deepEqual({ state: paused.state, allowed: paused.allowed }, { state: 'paused', allowed: { pause: false, resume: true, abort: true } });
      assert.equal((await operator.post(`/api/rollouts/${id}/pause`)).statusCode, 409, 'what is not offered is refused');
      await report(b1, { state: 'running', runningSnapshotId: v2.id });
      await report(b2, { state: 'running', runningSnapshotId: v2.id });
      clock.advance(60_000);
      await engine();
      assert.deepEqual(bySite((await rollout(id)).progress, siteBremen), { updating: 2 }, 'a paused rollout judges nothing');
      assert.equal((await operator.post(`/api/rollouts/${id}/resume`)).json().state, 'running');
      clock.advance(31_000);
      await engine();
      const done = await rollout(id);
      assert.equal(done.rollout.state, 'completed', JSON.stringify(done));
      assert.deepEqual(bySite(done.progress, siteBremen), { healthy: 2 });
      assert.deepEqual(
        (await events('rollout.wave.started'))
          .filter((e) => e.targetId === id)
          .map((e) => JSON.parse(e.details).wave)
          .sort(),
        [1, 2],
      );
      assert.equal((await events('rollout.completed')).filter((e) => e.targetId === id).length, 1);
      const finished = (await events('rollout.wave.finished')).filter((e) => e.targetId === id).map((e) => JSON.parse(e.details));
      assert.deepEqual(
        finished.sort((a, b) => a.wave - b.wave),
        [
          { wave: 1, of: 2, healthy: 2, failed: 0, skipped: 0 },
          { wave: 2, of: 2, healthy: 2, failed: 0, skipped: 0 },
        ],
      );
      const group = ((await viewer.get(`/api/teams/${teamId}/device-groups`)).json() as Array<{ id: string; targetSnapshotId: string | null }>).find((g) => g.id === groupId);
      assert.equal(group?.targetSnapshotId, v2.id, 'the completed rollout made it the group target');

      // A device that joins the group later runs what the group's rollout brought.
      const late = await register(siteBremen, 'filler-b3', true);
      assert.deepEqual((await desired(late)).snapshot, v2);
      line.push(late);
    });

    test('a failed device halts the rollout before the next wave; aborted, the rest keep what they run', async () => {
      const started = await operator.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: v1.id, batchSize: 1, maxFailures: 0, healthSeconds: 5 });
      assert.equal(started.statusCode, 201, started.body);
      const id = started.json().id as string;
      const first = line.find((d) => d.name === 'filler-a1')!;
      assert.deepEqual((await desired(first)).snapshot, v1);
      // Its agent found the snapshot failing its health check and went back to the last good one.
      await report(first, {
        state: 'error',
        runningSnapshotId: v2.id,
        error: `snapshot ${v1.id} failed its health check: Node-RED exited; reverted to the last good snapshot ${v2.id}`,
      });
      await engine();
      const halted = await rollout(id);
      assert.equal(halted.rollout.state, 'halted');
      assert.match(halted.rollout.detail!, /1 device\(s\) failed; the rollout allows 0/);
      const failedRows = (await viewer.get(`/api/rollouts/${id}/devices?state=failed`)).json() as Array<{ name: string; detail: string }>;
      assert.deepEqual(
        failedRows.map((r) => r.name),
        ['filler-a1'],
      );
      assert.match(failedRows[0]!.detail, /failed its health check/);
      const failures = (await events('rollout.devices.failed')).filter((e) => e.targetId === id);
      assert.equal(failures.length, 1);
      assert.equal(failures[0]!.outcome, 'failure');
      assert.deepEqual(
        JSON.parse(failures[0]!.details).devices.map((d: { deviceId: string }) => d.deviceId),
        [first.id],
      );
      assert.match(JSON.parse(failures[0]!.details).devices[0].reason, /failed its health check/);
      clock.advance(60_000);
      await engine();
      assert.deepEqual((await desired(line.find((d) => d.name === 'filler-a2')!)).snapshot, v2, 'no next wave after a halt');

      // Resumed, it accepts the failure so far and goes on with the next wave.
      const resumed = await operator.post(`/api/rollouts/${id}/resume`);
      assert.equal(resumed.json().state, 'running');
      assert.equal(resumed.json().maxFailures, 1, 'the one failure so far, plus the none it first allowed');
      await engine();
      assert.equal((await rollout(id)).rollout.state, 'running', 'not halted again by the failure it accepted');
      assert.deepEqual((await desired(line.find((d) => d.name === 'filler-a2')!)).snapshot, v1, 'the next wave started');

      const aborted = await operator.post(`/api/rollouts/${id}/abort`);
      assert.equal(aborted.json().state, 'aborted');
      assert.equal((await operator.post(`/api/rollouts/${id}/resume`)).statusCode, 409, 'an aborted rollout is over');
      const after = await rollout(id);
      assert.equal(
        after.progress.filter((p) => p.state === 'skipped').reduce((n, p) => n + p.devices, 0),
        line.length - 2,
        'all but the two waves reached',
      );
      assert.equal((await events('rollout.halted')).filter((e) => e.targetId === id).length, 1);
      assert.equal((await events('rollout.aborted')).filter((e) => e.targetId === id).length, 1);
      // The group is free again: a device can be set directly.
      assert.equal((await operator.put(`/api/devices/${first.id}/target`, { snapshotId: v2.id })).statusCode, 200);
    });

    test('a device that never answers fails when its wave times out; a revoked one is skipped and refused', async () => {
      const started = await operator.post(`/api/device-groups/${groupId}/rollouts`, {
        snapshotId: v1.id,
        batchPercent: 100,
        maxFailures: 10,
        healthSeconds: 0,
        waveTimeoutSeconds: 60,
      });
      assert.equal(started.statusCode, 201, started.body);
      const id = started.json().id as string;
      const revoked = line.find((d) => d.name === 'filler-b3')!;
      assert.equal((await owner.post(`/api/devices/${revoked.id}/revoke`)).statusCode, 200);
      assert.equal((await as(revoked).get('/api/fleet/v1/desired')).statusCode, 401);
      for (const d of line.filter((x) => x !== revoked && x.name !== 'filler-b1')) await report(d, { state: 'running', runningSnapshotId: v1.id });
      await engine();
      clock.advance(61_000);
      await engine();
      const done = await rollout(id);
      assert.equal(done.rollout.state, 'completed');
      const rows = (await viewer.get(`/api/rollouts/${id}/devices`)).json() as Array<{ name: string; state: string; detail: string | null }>;
      assert.deepEqual(Object.fromEntries(rows.map((r) => [r.name, r.state])), {
        'filler-a1': 'healthy',
        'filler-a2': 'healthy',
        'filler-b1': 'failed',
        'filler-b2': 'healthy',
        'filler-b3': 'skipped',
      });
      assert.match(rows.find((r) => r.name === 'filler-b1')!.detail!, /not healthy within 60 s/);
      const [finished] = (await events('rollout.wave.finished')).filter((e) => e.targetId === id).map((e) => JSON.parse(e.details));
      assert.deepEqual(finished, { wave: 1, of: 1, healthy: 3, failed: 1, skipped: 1 });
      const [failures] = (await events('rollout.devices.failed')).filter((e) => e.targetId === id).map((e) => JSON.parse(e.details));
      assert.deepEqual(
        failures.devices.map((d: { deviceId: string }) => d.deviceId),
        [line.find((d) => d.name === 'filler-b1')!.id],
      );
      assert.match(failures.devices[0].reason, /not healthy within 60 s/);
    });

    test('the device list comes in pages, filtered by site, group, state and name', async () => {
      const list = async (query: string) => {
        const r = await viewer.get(`/api/teams/${teamId}/devices?${query}`);
        assert.equal(r.statusCode, 200, r.body);
        return { names: (r.json() as Array<{ name: string }>).map((d) => d.name), total: Number(r.headers['x-total-count']) };
      };
      assert.deepEqual(await list(`siteId=${siteAachen}`), { names: ['bench-gw', 'filler-a1', 'filler-a2'], total: 3 });
      assert.deepEqual(await list(`groupId=${groupId}&q=FILLER-B`), { names: ['filler-b1', 'filler-b2', 'filler-b3'], total: 3 });
      assert.deepEqual(await list('q=filler-b&revoked=false'), { names: ['filler-b1', 'filler-b2'], total: 2 });
      assert.deepEqual(await list('limit=2&offset=2'), { names: ['filler-a2', 'filler-b1'], total: 6 });
      assert.deepEqual(await list('q=%25'), { names: [], total: 0 }, 'a % typed is a % looked for, not a wildcard');
      assert.deepEqual((await list('state=running')).names, ['filler-a1', 'filler-a2', 'filler-b2']);
      assert.equal((await viewer.get(`/api/teams/${teamId}/devices?state=exploded`)).statusCode, 400);
      assert.equal((await viewer.get(`/api/teams/${teamId}/devices?limit=100000`)).statusCode, 400);
    });

    test('the instance whose snapshots devices run cannot be deleted, nor its application', async () => {
      const refused = await owner.delete(`/api/instances/${instanceId}`);
      assert.equal(refused.statusCode, 409, refused.body);
      assert.match(refused.json().detail, /use snapshots of this instance/);
      assert.equal((await owner.delete(`/api/applications/${applicationId}`)).statusCode, 409);
      assert.equal((await owner.get(`/api/snapshots/${v1.id}`)).statusCode, 200);
    });

    test('a group given a target directly: every live device at once, and one joining later; not while a rollout holds it', async () => {
      assert.equal((await viewer.put(`/api/device-groups/${groupId}/target`, { snapshotId: v2.id })).statusCode, 403, 'a viewer deploys nothing');
      const unknown = await operator.put(`/api/device-groups/${groupId}/target`, { snapshotId: '00000000-0000-4000-8000-000000000000' });
      assert.equal(unknown.statusCode, 400);
      assert.deepEqual(unknown.json().errors, [{ field: 'snapshotId', message: 'unknown snapshot' }]);

      const set = await operator.put(`/api/device-groups/${groupId}/target`, { snapshotId: v2.id });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().targetSnapshotId, v2.id);
      const live = line.filter((d) => d.name !== 'filler-b3');
      for (const d of live) assert.deepEqual((await desired(d)).snapshot, v2, d.name);
      const [event] = (await events('device.group.target.set')).filter((e) => e.targetId === groupId).map((e) => JSON.parse(e.details));
      assert.deepEqual(event, { from: v1.id, to: v2.id, devices: live.length }, 'from what the last completed rollout brought');
      assert.deepEqual((await desired(await register(siteAachen, 'filler-a3', true))).snapshot, v2, 'a device joining later gets it');

      assert.equal((await operator.put(`/api/device-groups/${groupId}/target`, { snapshotId: null })).json().targetSnapshotId, null);
      for (const d of live) assert.equal((await desired(d)).snapshot, null, `${d.name}: cleared, the empty flow`);

      const held = (await operator.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId: v1.id, batchSize: 1 })).json().id as string;
      const refused = await operator.put(`/api/device-groups/${groupId}/target`, { snapshotId: v2.id });
      assert.equal(refused.statusCode, 409);
      assert.match(refused.json().detail, new RegExp(`rollout ${held}`));
      assert.equal((await operator.post(`/api/rollouts/${held}/abort`)).statusCode, 200);
    });

    test('a group whose rollout has not ended cannot be deleted', async () => {
      const cappers = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'Cappers' })).json().id as string;
      const made = (await owner.post(`/api/teams/${teamId}/provisioning-tokens`, { siteId: siteAachen, groupId: cappers })).json();
      const r = await new Client(t).post('/api/fleet/v1/register', { token: made.token, name: 'capper-1', agentVersion: '0.1.0' });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal((await owner.post(`/api/provisioning-tokens/${made.provisioningToken.id}/revoke`)).statusCode, 200);
      const held = (await operator.post(`/api/device-groups/${cappers}/rollouts`, { snapshotId: v1.id })).json().id as string;
      const refused = await owner.delete(`/api/device-groups/${cappers}`);
      assert.equal(refused.statusCode, 409, refused.body);
      assert.match(refused.json().detail, /abort it first/);
      assert.equal((await viewer.get(`/api/rollouts/${held}`)).json().rollout.state, 'running', 'the rollout is still there');
      assert.equal((await operator.post(`/api/rollouts/${held}/abort`)).statusCode, 200);
      assert.equal((await owner.delete(`/api/device-groups/${cappers}`)).statusCode, 204);
    });

    test('a snapshot says where it runs now, by its hash: a named copy of what runs runs there too', async () => {
      await report(solo, { state: 'running', runningSnapshotId: v2.id, runningHash: v2.hash, error: null });
      // Reported states are written within STATUS_FLUSH_MS; here at once.
      await t.context.fleet.flushStatus();
      await reportAsAgent(t, instanceId, 'running', v1.id);
      // Named afterwards, from the same flows as v2: the same hash.
      const copy = (await owner.post(`/api/instances/${instanceId}/snapshots`, { name: 'v2 release', flows: [{ id: 't1', type: 'tab', label: 'v2' }] })).json() as {
        id: string;
        hash: string;
      };
      assert.equal(copy.hash, v2.hash);

      type Listed = { id: string; runsNow: { instance: boolean; devices: number } };
      const listed = (await viewer.get(`/api/instances/${instanceId}/snapshots`)).json() as Listed[];
      const runsNow = (id: string) => listed.find((s) => s.id === id)!.runsNow;
      const devices = (await viewer.get(`/api/teams/${teamId}/devices?state=running&limit=100`)).json() as Array<{ runningSnapshotId: string | null }>;
      const runningV2 = devices.filter((d) => d.runningSnapshotId === v2.id).length;
      assert.ok(runningV2 >= 1, 'solo runs v2');
      assert.deepEqual(runsNow(v1.id).instance, true, 'the instance runs v1');
      assert.deepEqual(runsNow(v2.id), { instance: false, devices: runningV2 });
      assert.deepEqual(runsNow(copy.id), { instance: false, devices: runningV2 }, 'the copy runs wherever v2 does');
      assert.deepEqual((await viewer.get(`/api/snapshots/${copy.id}`)).json().snapshot.runsNow, { instance: false, devices: runningV2 });

      // A stopped instance runs nothing: "runs now" is while it runs.
      await reportAsAgent(t, instanceId, 'crashed', v1.id);
      const after = (await viewer.get(`/api/instances/${instanceId}/snapshots`)).json() as Listed[];
      assert.equal(after.find((s) => s.id === v1.id)!.runsNow.instance, false);
    });
  });
}
