import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeRedNode } from './canonical-json.ts';
import { diffFlows, type FlowNodeRef } from './flow-diff.ts';
import { PLANT, SCALE_TEMPERATURE, plantFlow } from './test-fixtures/plant-flow.ts';

// Diffs of a hand-written Node-RED 4 flow (test-fixtures/plant-flow.ts) against the
// edits an engineer makes in the editor, each made the way the editor saves it (links
// kept on both ends, a group's `nodes` and its member's `g` together).

const FILLING = { id: PLANT.tabFilling, label: 'Line 1 — Filling' };
const ALARMS = { id: PLANT.tabAlarms, label: 'Alarms & services' };
const LIMIT_ALARM = { id: PLANT.sfLimit, label: 'Limit alarm' };

const REF = {
  tabFilling: { id: PLANT.tabFilling, type: 'tab', name: 'Line 1 — Filling', tab: null },
  tabAlarms: { id: PLANT.tabAlarms, type: 'tab', name: 'Alarms & services', tab: null },
  sfLimit: { id: PLANT.sfLimit, type: 'subflow', name: 'Limit alarm', tab: null },
  sfCompare: { id: PLANT.sfCompare, type: 'change', name: 'compare with LIMIT', tab: LIMIT_ALARM },
  broker: { id: PLANT.broker, type: 'mqtt-broker', name: 'site broker', tab: null },
  junction: { id: PLANT.junction, type: 'junction', name: 'junction 4631c5', tab: FILLING },
  dbgScaled: { id: PLANT.dbgScaled, type: 'debug', name: 'scaled temperature', tab: FILLING },
  grpState: { id: PLANT.grpState, type: 'group', name: 'Machine state', tab: FILLING },
  dbgUnknown: { id: PLANT.dbgUnknown, type: 'debug', name: 'unknown state', tab: FILLING },
  linkOutTemp: { id: PLANT.linkOutTemp, type: 'link out', name: 'temperature alarm', tab: FILLING },
  linkOutFault: { id: PLANT.linkOutFault, type: 'link out', name: 'fault alarm', tab: FILLING },
  linkCallState: { id: PLANT.linkCallState, type: 'link call', name: 'line state', tab: FILLING },
  sfInstance: { id: PLANT.sfInstance, type: `subflow:${PLANT.sfLimit}`, name: 'Limit alarm', tab: FILLING },
  readme: { id: PLANT.readme, type: 'comment', name: 'Read me', tab: FILLING },
  linkInAlarms: { id: PLANT.linkInAlarms, type: 'link in', name: 'alarms', tab: ALARMS },
  linkInMaintenance: { id: PLANT.linkInMaintenance, type: 'link in', name: 'maintenance log', tab: ALARMS },
  linkInState: { id: PLANT.linkInState, type: 'link in', name: 'line state', tab: ALARMS },
} satisfies Record<string, FlowNodeRef>;

const NO_TABS = { added: [], removed: [], renamed: [] };

function node(flow: NodeRedNode[], id: string): NodeRedNode {
  const found = flow.find((n) => n.id === id);
  assert.ok(found, `no node ${id}`);
  return found;
}

function edit(change: (flow: NodeRedNode[]) => NodeRedNode[] | void): { before: NodeRedNode[]; after: NodeRedNode[] } {
  const after = plantFlow();
  const result = change(after) ?? after;
  assertConsistent(result);
  return { before: plantFlow(), after: result };
}

/** What Node-RED keeps true of a flows file, so an edit here is one the editor could have saved. */
function assertConsistent(flow: NodeRedNode[]): void {
  const byId = new Map(flow.map((n) => [n.id, n]));
  assert.equal(byId.size, flow.length, 'ids are unique');
  const ids = (value: unknown): string[] => (Array.isArray(value) ? value : []);
  for (const n of flow) {
    if (n.z !== undefined) assert.ok(['tab', 'subflow'].includes(byId.get(n.z)?.type ?? ''), `${n.id} sits on a tab or subflow`);
    for (const output of n.wires ?? []) for (const target of output) assert.equal(byId.get(target)?.z, n.z, `${n.id} → ${target} on one tab`);
    if (typeof n.g === 'string') assert.ok(ids(byId.get(n.g)?.nodes).includes(n.id), `${n.id} listed by its group`);
    if (n.type === 'group') for (const member of ids(n.nodes)) assert.equal(byId.get(member)?.g, n.id, `${member} points at its group`);
    if (n.type === 'link out' || n.type === 'link in') {
      const other = n.type === 'link out' ? 'link in' : 'link out';
      for (const peer of ids(n.links)) {
        assert.equal(byId.get(peer)?.type, other, `${n.id} links to a ${other}`);
        assert.ok(ids(byId.get(peer)?.links).includes(n.id), `link ${n.id} ↔ ${peer} kept on both ends`);
      }
    }
    if (n.type === 'link call') for (const target of ids(n.links)) assert.equal(byId.get(target)?.type, 'link in');
    if (n.type.startsWith('subflow:')) assert.equal(byId.get(n.type.slice('subflow:'.length))?.type, 'subflow');
    if (n.type.startsWith('mqtt ')) assert.equal(byId.get(n.broker as string)?.type, 'mqtt-broker', `${n.id} uses a broker`);
  }
}

test('the plant flow is a consistent Node-RED flow, and diffs against itself as nothing', () => {
  const flow = plantFlow();
  assertConsistent(flow);
  assert.deepEqual(JSON.parse(JSON.stringify(flow)), flow, 'plain JSON');
  const empty = { added: [], removed: [], changed: [], moved: [], tabs: NO_TABS, summary: { added: 0, removed: 0, changed: 0, moved: 0, rewired: 0 } };
  assert.deepEqual(diffFlows(flow, flow), empty);
  assert.deepEqual(diffFlows(plantFlow(), plantFlow()), empty);
  // Node-RED does not keep the order of nodes, keys or ids in `links` and a group's `nodes`.
  const shuffled = plantFlow()
    .reverse()
    .map((n) => Object.fromEntries(Object.entries(n).reverse()) as NodeRedNode);
  for (const n of shuffled) {
    if (Array.isArray(n.links)) n.links = [...(n.links as string[])].reverse();
    if (Array.isArray(n.nodes)) n.nodes = [...(n.nodes as string[])].reverse();
  }
  assert.deepEqual(diffFlows(flow, shuffled), empty);
});

test('plant: a function code edit is a line diff of the changed line with its context', () => {
  const { before, after } = edit((flow) => {
    node(flow, PLANT.fnScale).func = SCALE_TEMPERATURE.replace('const OFFSET = 0.4; // calibration of 2024-03, MoC-118', 'const OFFSET = 0.7; // calibration of 2025-02, MoC-131');
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, [
    {
      id: PLANT.fnScale,
      type: 'function',
      name: 'scale temperature',
      tab: FILLING,
      moved: false,
      properties: [],
      wiring: [],
      code: [
        {
          path: 'func',
          linesAdded: 1,
          linesRemoved: 1,
          hunks: [
            {
              beforeStart: 3,
              beforeCount: 7,
              afterStart: 3,
              afterCount: 7,
              lines: [
                { op: ' ', text: 'const RAW_MAX = 27648;' },
                { op: ' ', text: 'const T_MIN = -50; // °C at 4 mA' },
                { op: ' ', text: 'const T_MAX = 150; // °C at 20 mA' },
                { op: '-', text: 'const OFFSET = 0.4; // calibration of 2024-03, MoC-118' },
                { op: '+', text: 'const OFFSET = 0.7; // calibration of 2025-02, MoC-131' },
                { op: ' ', text: '' },
                { op: ' ', text: 'const raw = Number(msg.payload);' },
                { op: ' ', text: 'if (!Number.isFinite(raw) || raw < RAW_MIN || raw > RAW_MAX) {' },
              ],
            },
          ],
        },
      ],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1, moved: 0, rewired: 0 });
});

test('plant: a link out moved to another link in is a wiring change on all three link nodes, with names and tabs', () => {
  // "fault alarm" goes to the maintenance log instead of the alarms; the editor updates both link ins.
  const { before, after } = edit((flow) => {
    node(flow, PLANT.linkOutFault).links = [PLANT.linkInMaintenance];
    node(flow, PLANT.linkInAlarms).links = [PLANT.linkOutTemp];
    node(flow, PLANT.linkInMaintenance).links = [PLANT.linkOutFault];
  });
  const diff = diffFlows(before, after);
  const unchanged = { moved: false, properties: [], code: [] };
  assert.deepEqual(diff.changed, [
    {
      ...REF.linkInAlarms,
      ...unchanged,
      wiring: [{ output: 0, added: [], removed: [PLANT.linkOutFault], via: 'links', addedNodes: [], removedNodes: [REF.linkOutFault] }],
    },
    {
      ...REF.linkInMaintenance,
      ...unchanged,
      wiring: [{ output: 0, added: [PLANT.linkOutFault], removed: [], via: 'links', addedNodes: [REF.linkOutFault], removedNodes: [] }],
    },
    {
      ...REF.linkOutFault,
      ...unchanged,
      wiring: [{ output: 0, added: [PLANT.linkInMaintenance], removed: [PLANT.linkInAlarms], via: 'links', addedNodes: [REF.linkInMaintenance], removedNodes: [REF.linkInAlarms] }],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 3, moved: 0, rewired: 3 });
});

test('plant: a link call made dynamic loses its target; the link in, which does not list callers, is unchanged', () => {
  const { before, after } = edit((flow) => {
    const call = node(flow, PLANT.linkCallState);
    call.linkType = 'dynamic';
    call.links = [];
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, [
    {
      ...REF.linkCallState,
      moved: false,
      properties: [{ path: 'linkType', kind: 'changed', before: 'static', after: 'dynamic' }],
      code: [],
      wiring: [{ output: 0, added: [], removed: [PLANT.linkInState], via: 'links', addedNodes: [], removedNodes: [REF.linkInState] }],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1, moved: 0, rewired: 1 });
});

test('plant: a node moved into a group is a member added to the group and a group set on the node, both moved', () => {
  const { before, after } = edit((flow) => {
    const debug = node(flow, PLANT.dbgUnknown);
    debug.g = PLANT.grpState;
    debug.y = 320;
    const group = node(flow, PLANT.grpState);
    group.nodes = [PLANT.swState, PLANT.chgState, PLANT.dbgUnknown];
    group.h = 162;
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, [
    {
      ...REF.grpState,
      moved: true,
      properties: [{ path: 'nodes', kind: 'added', before: undefined, after: PLANT.dbgUnknown, afterNode: REF.dbgUnknown }],
      code: [],
      wiring: [],
    },
    {
      ...REF.dbgUnknown,
      moved: true,
      properties: [{ path: 'g', kind: 'added', before: undefined, after: PLANT.grpState, afterNode: REF.grpState }],
      code: [],
      wiring: [],
    },
  ]);
  assert.deepEqual(diff.moved, [REF.grpState, REF.dbgUnknown]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 2, moved: 2, rewired: 0 });
});

test('plant: a node taken out of a group is a member removed and its group removed', () => {
  const { before, after } = edit((flow) => {
    const change = node(flow, PLANT.chgState);
    delete change.g;
    change.x = 800;
    node(flow, PLANT.grpState).nodes = [PLANT.swState];
  });
  const diff = diffFlows(before, after);
  const storeState = { id: PLANT.chgState, type: 'change', name: 'store state', tab: FILLING };
  assert.deepEqual(
    diff.changed.map((c) => ({ id: c.id, properties: c.properties })),
    [
      { id: PLANT.grpState, properties: [{ path: 'nodes', kind: 'removed', before: PLANT.chgState, after: undefined, beforeNode: storeState }] },
      { id: PLANT.chgState, properties: [{ path: 'g', kind: 'removed', before: PLANT.grpState, after: undefined, beforeNode: REF.grpState }] },
    ],
  );
  assert.deepEqual(diff.moved, [storeState]);
});

test('plant: a change inside a subflow is listed on the subflow, by its name', () => {
  const { before, after } = edit((flow) => {
    const compare = node(flow, PLANT.sfCompare);
    compare.rules = [{ t: 'set', p: 'alarm', pt: 'msg', to: "payload.value >= $number($env('LIMIT'))", tot: 'jsonata' }];
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, [
    {
      ...REF.sfCompare,
      moved: false,
      properties: [{ path: 'rules.0.to', kind: 'changed', before: "payload.value > $number($env('LIMIT'))", after: "payload.value >= $number($env('LIMIT'))" }],
      code: [],
      wiring: [],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1, moved: 0, rewired: 0 });
});

test("plant: a subflow's ports: a new output and a status port are wiring by port, a moved input port is a move", () => {
  const statusId = '6f0d2b9e81c4a357';
  const { before, after } = edit((flow) => {
    const subflow = node(flow, PLANT.sfLimit);
    subflow.in = [{ x: 80, y: 80, wires: [{ id: PLANT.sfCompare }] }];
    subflow.out = [
      { x: 540, y: 80, wires: [{ id: PLANT.sfOnChange, port: 0 }] },
      { x: 540, y: 140, wires: [{ id: PLANT.sfCompare, port: 0 }] },
    ];
    subflow.status = { x: 540, y: 200, wires: [{ id: statusId, port: 0 }] };
    flow.push({ id: statusId, type: 'status', z: PLANT.sfLimit, name: 'node status', scope: null, x: 210, y: 200, wires: [[]] });
    // The editor gives the instance its second output, not wired.
    node(flow, PLANT.sfInstance).wires = [[PLANT.linkOutTemp], []];
  });
  const diff = diffFlows(before, after);
  const status = { id: statusId, type: 'status', name: 'node status', tab: LIMIT_ALARM };
  assert.deepEqual(diff.added, [status]);
  assert.deepEqual(diff.changed, [
    {
      ...REF.sfLimit,
      moved: true,
      properties: [
        { path: 'out.length', kind: 'changed', before: 1, after: 2 },
        { path: 'status', kind: 'added', before: undefined, after: { wires: [{ id: statusId, port: 0 }] } },
      ],
      code: [],
      wiring: [
        { output: 1, added: [PLANT.sfCompare], removed: [], via: 'subflow-out', addedNodes: [{ ...REF.sfCompare, port: 0 }], removedNodes: [] },
        { output: 0, added: [statusId], removed: [], via: 'subflow-status', addedNodes: [{ ...status, port: 0 }], removedNodes: [] },
      ],
    },
  ]);
  assert.deepEqual(diff.moved, [REF.sfLimit]);
  assert.deepEqual(diff.summary, { added: 1, removed: 0, changed: 1, moved: 1, rewired: 1 });
});

test('plant: a removed node is listed with its tab, and the junction that fed it is rewired to it by name', () => {
  const { before, after } = edit((flow) => {
    node(flow, PLANT.junction).wires = [[PLANT.sfInstance]];
    return flow.filter((n) => n.id !== PLANT.dbgScaled);
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.removed, [REF.dbgScaled]);
  assert.deepEqual(diff.changed, [
    {
      ...REF.junction,
      moved: false,
      properties: [],
      code: [],
      wiring: [{ output: 0, added: [], removed: [PLANT.dbgScaled], via: 'wires', addedNodes: [], removedNodes: [REF.dbgScaled] }],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 1, changed: 1, moved: 0, rewired: 1 });
});

test('plant: a removed link out is gone from the link in it fed, named from the before side', () => {
  const { before, after } = edit((flow) => {
    node(flow, PLANT.sfInstance).wires = [[]];
    node(flow, PLANT.linkInAlarms).links = [PLANT.linkOutFault];
    return flow.filter((n) => n.id !== PLANT.linkOutTemp);
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.removed, [REF.linkOutTemp]);
  assert.deepEqual(
    diff.changed.map((c) => ({ id: c.id, wiring: c.wiring })),
    [
      { id: PLANT.linkInAlarms, wiring: [{ output: 0, added: [], removed: [PLANT.linkOutTemp], via: 'links', addedNodes: [], removedNodes: [REF.linkOutTemp] }] },
      { id: PLANT.sfInstance, wiring: [{ output: 0, added: [], removed: [PLANT.linkOutTemp], via: 'wires', addedNodes: [], removedNodes: [REF.linkOutTemp] }] },
    ],
  );
  assert.deepEqual(diff.summary, { added: 0, removed: 1, changed: 2, moved: 0, rewired: 2 });
});

test('plant: a changed config node is a global change of its properties', () => {
  const { before, after } = edit((flow) => {
    const broker = node(flow, PLANT.broker);
    broker.broker = 'mqtt-tls.plant.local';
    broker.port = '8883';
    broker.usetls = true;
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, [
    {
      ...REF.broker,
      moved: false,
      properties: [
        { path: 'broker', kind: 'changed', before: 'mqtt.plant.local', after: 'mqtt-tls.plant.local' },
        { path: 'port', kind: 'changed', before: '1883', after: '8883' },
        { path: 'usetls', kind: 'changed', before: false, after: true },
      ],
      code: [],
      wiring: [],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1, moved: 0, rewired: 0 });
});

test('plant: a node moved to another tab names both tabs', () => {
  const { before, after } = edit((flow) => {
    node(flow, PLANT.readme).z = PLANT.tabAlarms;
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, [
    {
      ...REF.readme,
      tab: ALARMS,
      moved: false,
      properties: [{ path: 'z', kind: 'changed', before: PLANT.tabFilling, after: PLANT.tabAlarms, beforeNode: REF.tabFilling, afterNode: REF.tabAlarms }],
      code: [],
      wiring: [],
    },
  ]);
});

test('plant: layout only (a group dragged with its members, a subflow port moved) is moved, not changed', () => {
  const { before, after } = edit((flow) => {
    for (const id of [PLANT.grpState, PLANT.swState, PLANT.chgState]) {
      const n = node(flow, id);
      n.x = (n.x as number) + 20;
      n.y = (n.y as number) + 40;
    }
    const subflow = node(flow, PLANT.sfLimit);
    subflow.out = [{ x: 560, y: 100, wires: [{ id: PLANT.sfOnChange, port: 0 }] }];
  });
  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, []);
  assert.deepEqual(
    diff.moved.map((ref) => ref.name),
    ['Limit alarm', 'Machine state', 'machine state', 'store state'],
  );
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 0, moved: 4, rewired: 0 });
});
