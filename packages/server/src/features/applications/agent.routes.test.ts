import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DesiredState } from '@flowgate/protocol';
import { checkDesiredState } from '@flowgate/protocol/check';
import { sha256Hex } from '../../security/crypto.ts';
import { Client, setupAdmin, startTestApp, type TestApp } from '../../../test/harness.ts';

const FLOW = [
  { id: 'tab1', type: 'tab', label: 'Line 1' },
  { id: 'inj1', type: 'inject', z: 'tab1', name: 'tick', x: 100, y: 80, wires: [] },
];

/**
 * The hosted agents' protocol against @flowgate/protocol, the schemas the agent checks the
 * platform's answers with: what the platform sends is what the agent takes, field for
 * field, without the defaults the agent gives an older platform's answers.
 */
describe('the agent protocol keeps to @flowgate/protocol', () => {
  let t: TestApp;
  let admin: Client;
  let instanceId: string;
  const agent = () => {
    const client = new Client(t);
    client.bearer = token;
    return client;
  };
  const token = `fgi_test_${randomBytes(16).toString('hex')}`;

  before(async () => {
    t = await startTestApp('sqlite');
    admin = await setupAdmin(t);
    const teamId = (await admin.post('/api/teams', { name: 'Bottling' })).json().id;
    const application = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Filler telemetry' })).json().id;
    const [nodeRedVersion] = (await admin.get('/api/node-red-versions')).json() as string[];
    const instance = await admin.post(`/api/applications/${application}/instances`, { name: 'prod', nodeRedVersion });
    assert.equal(instance.statusCode, 201, instance.body);
    instanceId = instance.json().id;
    assert.equal(
      (
        await admin.put(`/api/instances/${instanceId}/env`, {
          env: [
            { name: 'LINE', value: '7', secret: false },
            { name: 'OPCUA_PASSWORD', value: 's3cret', secret: true },
          ],
        })
      ).statusCode,
      204,
    );
    // The token a spawn gives the instance's agent (no port here, so no agent is spawned).
    await t.db.database.db
      .updateTable('instances')
      .set({ agent_token_hash: sha256Hex(token) })
      .where('id', '=', instanceId)
      .execute();
  });
  after(() => t.close());

  const assertDesired = (body: unknown) => {
    assert.deepEqual(
      [...Value.Errors(DesiredState, body)].map((e) => `${e.path}: ${e.message}`),
      [],
      'the answer matches the protocol schema as it is',
    );
    const checked = checkDesiredState(body);
    assert.ok(checked.ok, checked.ok ? '' : checked.error);
    assert.deepEqual(checked.value, body, 'the agent takes it as it came');
  };

  test('the desired state, with no target and with one, is a DesiredState; a hosted instance is never asked for a tunnel', async () => {
    const none = await agent().get('/api/agent/v1/desired');
    assert.equal(none.statusCode, 200, none.body);
    assertDesired(none.json());
    assert.equal(none.json().snapshot, null);
    assert.equal(none.json().editorTunnel, false);
    assert.deepEqual(none.json().env, [
      { name: 'LINE', value: '7' },
      { name: 'OPCUA_PASSWORD', value: 's3cret' },
    ]);

    const snapshot = await admin.post(`/api/instances/${instanceId}/snapshots`, { name: 'v1', flows: FLOW });
    assert.equal(snapshot.statusCode, 201, snapshot.body);
    assert.equal((await admin.post(`/api/instances/${instanceId}/deploy`, { snapshotId: snapshot.json().id })).statusCode, 202);
    const targeted = await agent().get('/api/agent/v1/desired');
    assertDesired(targeted.json());
    assert.deepEqual(targeted.json().snapshot, { id: snapshot.json().id, hash: snapshot.json().hash });
  });

  test('a status report outside the protocol is refused', async () => {
    const report = { state: 'running', runningSnapshotId: null, runningHash: null, nodeRedPort: 41_000, nodeRedVersion: '4.1.8', agentVersion: '0.1.0', error: null };
    assert.equal((await agent().post('/api/agent/v1/status', report)).statusCode, 204);
    assert.equal((await agent().post('/api/agent/v1/status', { ...report, state: 'sleeping' })).statusCode, 400);
  });
});
