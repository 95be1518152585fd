import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowNode } from '../../types.ts';
import { openByDefault, snapshotContents } from './snapshot-contents.ts';

const flows: FlowNode[] = [
  { id: 't1', type: 'tab', label: 'Filling' },
  { id: 't2', type: 'tab', label: 'Spare', disabled: true },
  { id: 's1', type: 'subflow', name: 'Scale reading' },
  { id: 'b1', type: 'mqtt-broker', broker: 'mqtt.plant', port: '1883' },
  { id: 'n1', type: 'function', z: 't1', name: 'Scale' },
  { id: 'n2', type: 'debug', z: 't1', d: true },
  { id: 'n3', type: 'http in', z: 't1', method: 'get', url: '/status' },
  { id: 'n4', type: 'subflow:s1', z: 't1' },
  { id: 'n5', type: 'mqtt in', z: 's1', topic: 'line/1/temp' },
  { id: 'n6', type: 'inject', z: 'gone' },
];

test('groups nodes per flow and subflow, configuration nodes apart, lost flows kept', () => {
  const c = snapshotContents(flows);
  assert.deepEqual(
    c.tabs.map((t) => [t.label, t.disabled, t.nodes.length]),
    [
      ['Filling', false, 4],
      ['Spare', true, 0],
    ],
  );
  assert.deepEqual(
    c.subflows.map((s) => [s.label, s.nodes.map((n) => n.label)]),
    [['Scale reading', ['line/1/temp']]],
  );
  assert.deepEqual(
    c.config.map((n) => [n.type, n.label, n.named]),
    [['mqtt-broker', 'mqtt.plant:1883', false]],
  );
  assert.deepEqual(
    c.missing.map((m) => m.nodes.map((n) => n.id)),
    [['n6']],
  );
  assert.equal(c.flowNodes, 6);
});

test('labels nodes by name, or by what they show in the editor; subflow instances by the subflow', () => {
  const filling = snapshotContents(flows).tabs[0]!;
  const byId = new Map(filling.nodes.map((n) => [n.id, n]));
  assert.deepEqual([byId.get('n1')!.label, byId.get('n1')!.named], ['Scale', true]);
  assert.deepEqual([byId.get('n2')!.label, byId.get('n2')!.disabled], ['', true]);
  assert.equal(byId.get('n3')!.label, '[GET] /status');
  assert.equal(byId.get('n4')!.typeLabel, 'subflow “Scale reading”');
  // By type, then label.
  assert.deepEqual(
    filling.nodes.map((n) => n.typeLabel),
    ['debug', 'function', 'http in', 'subflow “Scale reading”'],
  );
});

test('opens every flow of a small snapshot, only the small flows of a big one', () => {
  const small = snapshotContents(flows);
  assert.ok(openByDefault(small.tabs[0]!, small));
  const big: FlowNode[] = [
    { id: 'a', type: 'tab', label: 'Big' },
    { id: 'b', type: 'tab', label: 'Small' },
  ];
  for (let i = 0; i < 200; i++) big.push({ id: `a${i}`, type: 'inject', z: 'a' });
  big.push({ id: 'b1', type: 'debug', z: 'b' });
  const c = snapshotContents(big);
  assert.equal(openByDefault(c.tabs[0]!, c), false);
  assert.equal(openByDefault(c.tabs[1]!, c), true);
});
