import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countFlowNodes } from './flow-nodes.ts';

test('nodes on the flows are counted; tabs, subflow definitions and what is inside them, config nodes, groups and junctions are not', () => {
  const flows = [
    { id: 't1', type: 'tab', label: 'Line 3' },
    { id: 't2', type: 'tab', label: 'Empty' },
    { id: 'sf', type: 'subflow', name: 'Scale', in: [], out: [] },
    { id: 'sf-fn', type: 'function', z: 'sf', func: 'return msg;', wires: [[]] },
    { id: 'broker', type: 'mqtt-broker', broker: 'plc.local' },
    { id: 'scoped-tls', type: 'tls-config', z: 't1', name: 'Line TLS' },
    { id: 'g1', type: 'group', z: 't1', nodes: ['in1', 'fn1'], x: 10, y: 10, w: 200, h: 100 },
    { id: 'in1', type: 'mqtt in', z: 't1', g: 'g1', broker: 'broker', x: 100, y: 40, wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 't1', g: 'g1', func: 'return msg;', x: 250, y: 40, wires: [['j1']] },
    { id: 'j1', type: 'junction', z: 't1', x: 320, y: 40, wires: [['use-sf', 'out1']] },
    { id: 'use-sf', type: 'subflow:sf', z: 't1', x: 400, y: 40, wires: [[]] },
    { id: 'out1', type: 'debug', z: 't1', x: 400, y: 80, wires: [] },
    { id: 'link1', type: 'link out', z: 't1', links: [], x: 400, y: 120 },
  ];
  assert.equal(countFlowNodes(flows), 5, 'mqtt in, function, the subflow used once, debug, link out');
  assert.equal(flows.length, 13);
});

test('nodes without coordinates (flows written by hand or by the API) count by their wires', () => {
  assert.equal(
    countFlowNodes([
      { id: 't1', type: 'tab' },
      { id: 'a', type: 'http in', z: 't1', url: '/hello', method: 'get', wires: [['b']] },
      { id: 'b', type: 'http response', z: 't1', wires: [] },
    ]),
    2,
  );
  assert.equal(countFlowNodes([]), 0);
  assert.equal(countFlowNodes([{ id: 'n', type: 'debug', z: 'gone', wires: [] }]), 0, 'a node on no flow of the file is on no flow');
});
