import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Client,
  createManualClock,
  DIALECTS,
  freePort,
  restartTestApp,
  setupAdmin,
  startTestApp,
  teamWithDevices,
  type RegisteredDevice,
  type TestApp,
} from '../../../test/harness.ts';

/**
 * A platform restart loses no device state that matters: reports kept in memory (a
 * heartbeat writes nothing) are written when the server closes, and a rollout's engine,
 * whose state is all in the database, carries on where it was.
 */
for (const dialect of DIALECTS) {
  describe(`the fleet across a platform restart on ${dialect}`, () => {
    const clock = createManualClock();
    let t: TestApp;
    let port: number;
    let owner: Client;
    let teamId: string;
    let snapshotId: string;
    let devices: RegisteredDevice[];
    const as = (d: RegisteredDevice) => Object.assign(new Client(t), { bearer: d.credential });
    const report = async (d: RegisteredDevice, body: Record<string, unknown>) => {
      const r = await as(d).post('/api/fleet/v1/check-in', { agentVersion: '0.1.0', nodeRedVersion: '4.1.8', ...body });
      assert.equal(r.statusCode, 200, r.body);
    };
    const restart = () => restartTestApp(t, port, async () => {}, { clock });

    before(async () => {
      t = await startTestApp(dialect, {}, { clock });
      port = await freePort();
      await t.app.listen({ host: '127.0.0.1', port });
      owner = await setupAdmin(t);
      ({ teamId, snapshotId, devices } = await teamWithDevices(t, owner, ['gw-1', 'gw-2']));
    });
    after(() => t.close());

    test('what devices reported just before the server closed is there after it starts again', async () => {
      const [gw1] = devices as [RegisteredDevice];
      const stored = () => t.db.database.db.selectFrom('devices').select(['state', 'last_seen_at']).where('id', '=', gw1.id).executeTakeFirstOrThrow();
      const registered = await stored();
      clock.advance(5_000);
      await report(gw1, { state: 'running', runningSnapshotId: null, cpuPercent: 7, memoryMb: 210 });
      const before = (await owner.get(`/api/devices/${gw1.id}`)).json();
      assert.equal(before.state, 'running');
      assert.notEqual(before.lastSeenAt, registered.last_seen_at);
      // Nothing of it is written yet: the report waits in memory for its batch.
      assert.deepEqual(await stored(), registered, 'a heartbeat writes nothing at once');

      await restart();
      const after = (await owner.get(`/api/devices/${gw1.id}`)).json();
      assert.deepEqual(
        { state: after.state, lastSeenAt: after.lastSeenAt, cpu: after.cpuPercent, memory: after.memoryMb },
        { state: 'running', lastSeenAt: before.lastSeenAt, cpu: 7, memory: 210 },
      );
    });

    test('a rollout carries on after a restart from where it was', async () => {
      const groupId = (await owner.post(`/api/teams/${teamId}/device-groups`, { name: 'Gateways' })).json().id as string;
      for (const d of devices) assert.equal((await owner.patch(`/api/devices/${d.id}`, { groupId })).statusCode, 200);
      const started = await owner.post(`/api/device-groups/${groupId}/rollouts`, { snapshotId, batchSize: 1, healthSeconds: 30 });
      assert.equal(started.statusCode, 201, started.body);
      const id = started.json().id as string;
      const waveOf = async () => (await owner.get(`/api/rollouts/${id}/devices`)).json() as Array<{ deviceId: string; wave: number; state: string }>;
      const [one, two] = (await waveOf()).sort((a, b) => a.wave - b.wave);
      assert.equal(one!.state, 'updating');
      await report(
        devices.find((d) => d.id === one!.deviceId)!,
        { state: 'running', runningSnapshotId: snapshotId },
      );
      await t.context.deployments.tick();
      assert.equal((await waveOf()).find((r) => r.deviceId === one!.deviceId)!.state, 'verifying');

      await restart();
      clock.advance(31_000);
      await t.context.deployments.tick();
      const rows = await waveOf();
      assert.equal(rows.find((r) => r.deviceId === one!.deviceId)!.state, 'healthy', 'its health window ran across the restart');
      assert.equal(rows.find((r) => r.deviceId === two!.deviceId)!.state, 'updating', 'the next wave started on the new server');
      await report(
        devices.find((d) => d.id === two!.deviceId)!,
        { state: 'running', runningSnapshotId: snapshotId },
      );
      await t.context.deployments.tick();
      clock.advance(31_000);
      await t.context.deployments.tick();
      assert.equal((await owner.get(`/api/rollouts/${id}`)).json().rollout.state, 'completed');
    });
  });
}
