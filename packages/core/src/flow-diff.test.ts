import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, type NodeRedNode } from './canonical-json.ts';
import { canonicalEqual, diffEnv, diffFlows, diffLines, diffSettings, type FlowDiff, type LineHunk, diffModules } from './flow-diff.ts';
import { makeFlow, mutateFlow, seededRandom } from './test-fixtures/flows.ts';

const EMPTY_SUMMARY = { added: 0, removed: 0, changed: 0, moved: 0, rewired: 0 };
const FILLING = { id: 'tab1', label: 'Filling' };

const FUNC = [
  '// Scale the raw temperature reading',
  'const raw = Number(msg.payload);',
  'if (Number.isNaN(raw)) {',
  '    return null;',
  '}',
  'const scaled = (raw - 400) * 0.25;',
  'msg.payload = { value: scaled, unit: "°C" };',
  "context.set('last', scaled);",
  'node.status({ text: String(scaled) });',
  'return msg;',
].join('\n');

/** A small flow as Node-RED exports it: two tabs, a broker, a chain on each tab. */
function smallFlow(): NodeRedNode[] {
  return [
    { id: 'tab1', type: 'tab', label: 'Filling', disabled: false, info: '' },
    { id: 'tab2', type: 'tab', label: 'Boiler', disabled: false, info: '' },
    { id: 'broker1', type: 'mqtt-broker', name: 'site broker', broker: 'mqtt.plant.local', port: '8883' },
    { id: 'in1', type: 'mqtt in', z: 'tab1', name: 'temperature', topic: 'plant/filling/temp', qos: '1', broker: 'broker1', x: 120, y: 80, wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 'tab1', name: 'scale', func: FUNC, outputs: 1, initialize: '', finalize: '', libs: [], x: 300, y: 80, wires: [['sw1']] },
    {
      id: 'sw1',
      type: 'switch',
      z: 'tab1',
      name: 'too hot?',
      property: 'payload.value',
      rules: [{ t: 'gt', v: '85', vt: 'num' }, { t: 'else' }],
      outputs: 2,
      x: 480,
      y: 80,
      wires: [['alarm1'], ['dbg1']],
    },
    { id: 'alarm1', type: 'mqtt out', z: 'tab1', name: 'alarm', topic: 'alarms/filling', broker: 'broker1', x: 660, y: 60, wires: [] },
    { id: 'dbg1', type: 'debug', z: 'tab1', name: '', active: true, x: 660, y: 100, wires: [] },
    { id: 'inj2', type: 'inject', z: 'tab2', name: 'every minute', repeat: '60', props: [{ p: 'payload' }], x: 120, y: 40, wires: [['resp2']] },
    { id: 'resp2', type: 'http response', z: 'tab2', name: 'reply', headers: { 'content-type': 'application/json' }, x: 320, y: 40, wires: [] },
  ];
}

function copy(flow: NodeRedNode[]): NodeRedNode[] {
  return structuredClone(flow);
}

function node(flow: NodeRedNode[], id: string): NodeRedNode {
  const found = flow.find((n) => n.id === id);
  assert.ok(found, `no node ${id}`);
  return found;
}

function ids(list: Array<{ id: string }>): string[] {
  return list.map((n) => n.id);
}

function assertEmpty(diff: FlowDiff): void {
  assert.deepEqual(diff, { added: [], removed: [], changed: [], moved: [], tabs: { added: [], removed: [], renamed: [] }, summary: EMPTY_SUMMARY });
}

test('identical flows give an empty diff', () => {
  assertEmpty(diffFlows(smallFlow(), smallFlow()));
  const flow = makeFlow(300, 11);
  assertEmpty(diffFlows(flow, flow));
  assertEmpty(diffFlows(flow, copy(flow)));
});

test('key order and undefined properties are not changes', () => {
  const before = smallFlow();
  const after = copy(before).map((n) => Object.fromEntries(Object.entries(n).reverse()) as NodeRedNode);
  node(after, 'dbg1').statusVal = undefined;
  assertEmpty(diffFlows(before, after));
});

test('added and removed nodes carry type, name or fallback label, and tab', () => {
  const before = smallFlow();
  const after = copy(before).filter((n) => n.id !== 'alarm1');
  node(after, 'sw1').wires = [[], ['dbg1']];
  after.push({ id: 'c0ffee00aa', type: 'debug', z: 'tab2', x: 500, y: 40, wires: [] });
  after.push({ id: 'tab3', type: 'tab', label: 'Packaging' });

  const diff = diffFlows(before, after);
  assert.deepEqual(diff.removed, [{ id: 'alarm1', type: 'mqtt out', name: 'alarm', tab: { id: 'tab1', label: 'Filling' } }]);
  assert.deepEqual(diff.added, [
    { id: 'tab3', type: 'tab', name: 'Packaging', tab: null },
    { id: 'c0ffee00aa', type: 'debug', name: 'debug c0ffee', tab: { id: 'tab2', label: 'Boiler' } },
  ]);
  assert.deepEqual(diff.tabs.added, [{ id: 'tab3', type: 'tab', name: 'Packaging', tab: null }]);
  assert.deepEqual(ids(diff.changed), ['sw1']);
  // The removed node is named from the before side.
  assert.deepEqual(diff.changed[0]!.wiring, [
    { output: 0, added: [], removed: ['alarm1'], via: 'wires', addedNodes: [], removedNodes: [{ id: 'alarm1', type: 'mqtt out', name: 'alarm', tab: FILLING }] },
  ]);
  assert.deepEqual(diff.summary, { added: 2, removed: 1, changed: 1, moved: 0, rewired: 1 });
});

test('changed properties are listed by dotted path, with what was added and removed', () => {
  const before = smallFlow();
  const after = copy(before);
  const sw = node(after, 'sw1');
  sw.rules = [{ t: 'gt', v: '90', vt: 'num' }, { t: 'else' }];
  sw.checkall = 'false';
  const resp = node(after, 'resp2');
  resp.headers = { 'content-type': 'text/plain', 'x-line': 'boiler' };
  delete resp.name;
  node(after, 'broker1').port = '1883';

  const diff = diffFlows(before, after);
  assert.deepEqual(ids(diff.changed), ['broker1', 'resp2', 'sw1']);
  const [broker, response, swtch] = diff.changed;
  assert.deepEqual(broker!.properties, [{ path: 'port', kind: 'changed', before: '8883', after: '1883' }]);
  assert.equal(broker!.tab, null);
  assert.equal(response!.name, 'http response resp2');
  assert.deepEqual(response!.properties, [
    { path: 'headers["content-type"]', kind: 'changed', before: 'application/json', after: 'text/plain' },
    { path: 'headers["x-line"]', kind: 'added', before: undefined, after: 'boiler' },
    { path: 'name', kind: 'removed', before: 'reply', after: undefined },
  ]);
  assert.deepEqual(swtch!.properties, [
    { path: 'checkall', kind: 'added', before: undefined, after: 'false' },
    { path: 'rules.0.v', kind: 'changed', before: '85', after: '90' },
  ]);
  for (const changed of diff.changed) {
    assert.equal(changed.moved, false);
    assert.deepEqual(changed.code, []);
    assert.deepEqual(changed.wiring, []);
  }
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 3, moved: 0, rewired: 0 });
});

test('a function body edit is a line diff with the changed line and three lines of context', () => {
  const before = smallFlow();
  const after = copy(before);
  const fn = node(after, 'fn1');
  fn.func = (fn.func as string).replace('(raw - 400) * 0.25', '(raw - 400) * 0.3');
  fn.initialize = "context.set('last', null);";

  const diff = diffFlows(before, after);
  assert.equal(diff.changed.length, 1);
  const changed = diff.changed[0]!;
  assert.deepEqual(
    { id: changed.id, name: changed.name, tab: changed.tab, properties: changed.properties },
    { id: 'fn1', name: 'scale', tab: { id: 'tab1', label: 'Filling' }, properties: [] },
  );
  assert.deepEqual(changed.code, [
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
            { op: ' ', text: 'if (Number.isNaN(raw)) {' },
            { op: ' ', text: '    return null;' },
            { op: ' ', text: '}' },
            { op: '-', text: 'const scaled = (raw - 400) * 0.25;' },
            { op: '+', text: 'const scaled = (raw - 400) * 0.3;' },
            { op: ' ', text: 'msg.payload = { value: scaled, unit: "°C" };' },
            { op: ' ', text: "context.set('last', scaled);" },
            { op: ' ', text: 'node.status({ text: String(scaled) });' },
          ],
        },
      ],
    },
    {
      path: 'initialize',
      linesAdded: 1,
      linesRemoved: 0,
      hunks: [{ beforeStart: 0, beforeCount: 0, afterStart: 1, afterCount: 1, lines: [{ op: '+', text: "context.set('last', null);" }] }],
    },
  ]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1, moved: 0, rewired: 0 });
});

test('template nodes and any multi-line text are line diffs too', () => {
  const before: NodeRedNode[] = [
    { id: 't', type: 'tab', label: 'UI', info: 'Dashboard for line 1\nOwner: OT team' },
    { id: 'tpl', type: 'ui_template', z: 't', name: 'gauge', template: '<div>{{msg.payload}}</div>', wires: [[]] },
    { id: 'note', type: 'comment', z: 't', name: 'readme', options: { text: 'first\nsecond' }, wires: [] },
  ];
  const after = copy(before);
  node(after, 't').info = 'Dashboard for line 1\nOwner: maintenance';
  node(after, 'tpl').template = '<div class="big">{{msg.payload}}</div>';
  node(after, 'note').options = { text: 'first\nsecond\nthird' };

  const diff = diffFlows(before, after);
  const code = Object.fromEntries(diff.changed.map((c) => [c.id, c.code.map((k) => ({ path: k.path, lines: k.hunks.flatMap((h) => h.lines) }))]));
  assert.deepEqual(code, {
    t: [
      {
        path: 'info',
        lines: [
          { op: ' ', text: 'Dashboard for line 1' },
          { op: '-', text: 'Owner: OT team' },
          { op: '+', text: 'Owner: maintenance' },
        ],
      },
    ],
    tpl: [
      {
        path: 'template',
        lines: [
          { op: '-', text: '<div>{{msg.payload}}</div>' },
          { op: '+', text: '<div class="big">{{msg.payload}}</div>' },
        ],
      },
    ],
    note: [
      {
        path: 'options.text',
        lines: [
          { op: ' ', text: 'first' },
          { op: ' ', text: 'second' },
          { op: '+', text: 'third' },
        ],
      },
    ],
  });
  for (const changed of diff.changed) assert.deepEqual(changed.properties, []);
});

test('moving a node is reported as moved, not changed', () => {
  const before = smallFlow();
  const after = copy(before);
  node(after, 'in1').x = 140;
  node(after, 'in1').y = 100;

  const diff = diffFlows(before, after);
  assert.deepEqual(diff.changed, []);
  assert.deepEqual(diff.moved, [{ id: 'in1', type: 'mqtt in', name: 'temperature', tab: { id: 'tab1', label: 'Filling' } }]);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 0, moved: 1, rewired: 0 });
});

test('a node both moved and edited is changed with moved: true, and counted in both', () => {
  const before = smallFlow();
  const after = copy(before);
  const inject = node(after, 'inj2');
  inject.x = 200;
  inject.repeat = '30';

  const diff = diffFlows(before, after);
  assert.deepEqual(ids(diff.changed), ['inj2']);
  assert.equal(diff.changed[0]!.moved, true);
  assert.deepEqual(diff.changed[0]!.properties, [{ path: 'repeat', kind: 'changed', before: '60', after: '30' }]);
  assert.deepEqual(ids(diff.moved), ['inj2']);
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 1, moved: 1, rewired: 0 });
});

test('rewiring is reported per output with the nodes named, not as a property change', () => {
  const before = smallFlow();
  const after = copy(before);
  node(after, 'sw1').wires = [['dbg1'], ['alarm1', 'dbg1']];
  node(after, 'in1').wires = [['fn1', 'dbg1']];
  const alarm = { id: 'alarm1', type: 'mqtt out', name: 'alarm', tab: FILLING };
  const debug = { id: 'dbg1', type: 'debug', name: 'debug dbg1', tab: FILLING };

  const diff = diffFlows(before, after);
  assert.deepEqual(
    diff.changed.map((c) => ({ id: c.id, properties: c.properties, wiring: c.wiring })),
    [
      { id: 'in1', properties: [], wiring: [{ output: 0, added: ['dbg1'], removed: [], via: 'wires', addedNodes: [debug], removedNodes: [] }] },
      {
        id: 'sw1',
        properties: [],
        wiring: [
          { output: 0, added: ['dbg1'], removed: ['alarm1'], via: 'wires', addedNodes: [debug], removedNodes: [alarm] },
          { output: 1, added: ['alarm1'], removed: [], via: 'wires', addedNodes: [alarm], removedNodes: [] },
        ],
      },
    ],
  );
  assert.deepEqual(diff.summary, { added: 0, removed: 0, changed: 2, moved: 0, rewired: 2 });
});

test('the same targets in another order, or wired twice, are not a rewiring', () => {
  const before = smallFlow();
  const after = copy(before);
  node(after, 'sw1').wires = [['alarm1', 'alarm1'], ['dbg1']];
  node(before, 'in1').wires = [['fn1', 'dbg1']];
  node(after, 'in1').wires = [['dbg1', 'fn1']];
  assertEmpty(diffFlows(before, after));
});

test('a tab rename is a change of the tab, listed under tabs, and nodes show the new label', () => {
  const before = smallFlow();
  const after = copy(before);
  node(after, 'tab2').label = 'Boiler house';
  node(after, 'inj2').repeat = '120';

  const diff = diffFlows(before, after);
  assert.deepEqual(diff.tabs.renamed, [{ id: 'tab2', type: 'tab', before: 'Boiler', after: 'Boiler house' }]);
  assert.deepEqual(ids(diff.changed), ['tab2', 'inj2']);
  assert.deepEqual(diff.changed[0]!.properties, [{ path: 'label', kind: 'changed', before: 'Boiler', after: 'Boiler house' }]);
  assert.deepEqual(diff.changed[1]!.tab, { id: 'tab2', label: 'Boiler house' });
});

test('removed tabs are listed under tabs and their nodes keep the old tab label', () => {
  const before = smallFlow();
  const after = copy(before).filter((n) => n.id !== 'tab2' && n.z !== 'tab2');

  const diff = diffFlows(before, after);
  assert.deepEqual(diff.tabs.removed, [{ id: 'tab2', type: 'tab', name: 'Boiler', tab: null }]);
  assert.deepEqual(
    diff.removed.map((r) => [r.id, r.tab?.label ?? null]),
    [
      ['tab2', null],
      ['inj2', 'Boiler'],
      ['resp2', 'Boiler'],
    ],
  );
});

test('order is by tab label, then name, then id, whatever the input order', () => {
  const before = smallFlow();
  const after = copy(before);
  for (const n of after) if (n.type !== 'tab') n.changedBy = 'ann';
  const forward = diffFlows(before, after);
  const shuffled = diffFlows(copy(before).reverse(), copy(after).reverse());
  assert.deepEqual(shuffled, forward);
  // Global nodes first, then tab "Boiler" before "Filling"; on each tab by name, an
  // unnamed node by its fallback label ("debug dbg1").
  assert.deepEqual(ids(forward.changed), ['broker1', 'inj2', 'resp2', 'alarm1', 'dbg1', 'fn1', 'in1', 'sw1']);
});

test('a 300-node realistic flow: known mutations give exactly their counts', () => {
  const before = makeFlow(300, 5);
  assert.equal(before.length, 300);
  const { after, expected, ids: mutated } = mutateFlow(before, { add: 6, remove: 4, change: 5, move: 4, rewire: 2, rename: 1 }, 3);

  const diff = diffFlows(before, after);
  assert.deepEqual(diff.summary, expected);
  assert.deepEqual(expected, { added: 6, removed: 4, changed: 8, moved: 4, rewired: 2 });
  assert.deepEqual(ids(diff.added).sort(), [...mutated.added].sort());
  assert.deepEqual(ids(diff.removed).sort(), [...mutated.removed].sort());
  assert.deepEqual(ids(diff.changed).sort(), [...mutated.changed].sort());
  assert.deepEqual(ids(diff.moved).sort(), [...mutated.moved].sort());
  assert.deepEqual(
    diff.tabs.renamed.map((r) => r.id),
    mutated.renamed,
  );
  for (const changed of diff.changed) {
    if (changed.type !== 'function') continue;
    assert.equal(changed.code.length, 1);
    assert.equal(changed.code[0]!.path, 'func');
    assert.equal(changed.code[0]!.linesAdded, 1);
    assert.equal(changed.code[0]!.linesRemoved, 1);
    assert.match(changed.code[0]!.hunks[0]!.lines.find((l) => l.op === '+')!.text, /\/\/ reviewed in MoC$/);
  }
});

test('a 10,000-node flow: known mutations give exactly their counts', () => {
  const before = makeFlow(10_000, 9);
  assert.equal(before.length, 10_000);
  const { after, expected, ids: mutated } = mutateFlow(before, { add: 50, remove: 50, change: 100, move: 200, rewire: 50, rename: 3 }, 4);

  const diff = diffFlows(before, after);
  assert.deepEqual(diff.summary, expected);
  assert.equal(expected.added, 50);
  assert.ok(expected.removed >= 50 && expected.removed < 58, `removed ${expected.removed}`);
  assert.equal(expected.changed, 153);
  assert.equal(expected.moved, 200);
  assert.equal(expected.rewired, 50);
  assert.deepEqual(new Set(ids(diff.changed)), new Set(mutated.changed));
  assert.deepEqual(new Set(ids(diff.removed)), new Set(mutated.removed));
  assert.deepEqual(diff.tabs.renamed.length, 3);
});

test('canonicalEqual agrees with canonicalJson', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: null }, false],
    [[1, 2], [2, 1], false],
    [[], {}, false],
    [{ 0: 'a' }, ['a'], false],
    ['1', 1, false],
    [null, {}, false],
    [{ a: { b: { c: [true] } } }, { a: { b: { c: [false] } } }, false],
  ];
  for (const [a, b, equal] of cases) {
    assert.equal(canonicalEqual(a, b), equal, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(canonicalEqual(b, a), equal, `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
    assert.equal(canonicalJson(a) === canonicalJson(b), equal);
  }
});

// ---------------------------------------------------------------------------------------
// diffLines

function lcsLength(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diagonal + 1 : Math.max(row[j]!, row[j - 1]!);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function sides(hunks: LineHunk[]): { before: string; after: string; edits: number } {
  const lines = hunks.flatMap((h) => h.lines);
  return {
    before: lines
      .filter((l) => l.op !== '+')
      .map((l) => l.text)
      .join('\n'),
    after: lines
      .filter((l) => l.op !== '-')
      .map((l) => l.text)
      .join('\n'),
    edits: lines.filter((l) => l.op !== ' ').length,
  };
}

test('diffLines finds a shortest edit script (checked against LCS on random texts)', () => {
  const random = seededRandom(42);
  for (let round = 0; round < 400; round++) {
    const alphabet = 1 + Math.floor(random() * 5);
    const text = (): string[] => Array.from({ length: Math.floor(random() * 25) }, () => String.fromCharCode(97 + Math.floor(random() * alphabet)));
    const a = text();
    const b = random() < 0.3 ? a.map((line) => (random() < 0.2 ? 'x' : line)) : text();
    const whole = diffLines(a.join('\n'), b.join('\n'), Infinity);
    const { before, after, edits } = sides(whole);
    if (a.join('\n') === b.join('\n')) {
      assert.deepEqual(whole, []);
      continue;
    }
    assert.equal(before, a.join('\n'));
    assert.equal(after, b.join('\n'));
    assert.equal(edits, a.length + b.length - 2 * lcsLength(a, b), `${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  }
});

test('diffLines keeps three lines of context, merges close changes and numbers hunks from 1', () => {
  const before = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
  const after = [...before];
  after[4] = 'line 5 changed';
  after[9] = 'line 10 changed'; // 4 unchanged lines after line 5: merged into one hunk
  after.splice(30, 1); // line 31 removed: a hunk of its own
  after.push('line 41');

  const hunks = diffLines(before.join('\n'), after.join('\n'));
  assert.deepEqual(
    hunks.map((h) => [h.beforeStart, h.beforeCount, h.afterStart, h.afterCount, h.lines.map((l) => l.op).join('')]),
    [
      [2, 12, 2, 12, '   -+    -+   '],
      [28, 7, 28, 6, '   -   '],
      [38, 3, 37, 4, '   +'],
    ],
  );
  assert.deepEqual(hunks[1]!.lines[3], { op: '-', text: 'line 31' });
});

test('diffLines handles empty texts and whole insertions or removals', () => {
  assert.deepEqual(diffLines('same\ntext', 'same\ntext'), []);
  assert.deepEqual(diffLines('', 'a\nb'), [
    {
      beforeStart: 0,
      beforeCount: 0,
      afterStart: 1,
      afterCount: 2,
      lines: [
        { op: '+', text: 'a' },
        { op: '+', text: 'b' },
      ],
    },
  ]);
  assert.deepEqual(diffLines('a', ''), [{ beforeStart: 1, beforeCount: 1, afterStart: 0, afterCount: 0, lines: [{ op: '-', text: 'a' }] }]);
  assert.deepEqual(diffLines('a\nb\n', 'a\nb'), [
    {
      beforeStart: 1,
      beforeCount: 3,
      afterStart: 1,
      afterCount: 2,
      lines: [
        { op: ' ', text: 'a' },
        { op: ' ', text: 'b' },
        { op: '-', text: '' },
      ],
    },
  ]);
});

test('diffLines on thousands of lines with scattered edits stays minimal', () => {
  const random = seededRandom(7);
  const before = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? '}' : `    const v${i} = read(${Math.floor(random() * 1000)});`));
  const after = [...before];
  for (let i = 0; i < 40; i++) after[Math.floor(random() * after.length)] = `    // edited ${i}`;
  after.splice(1500, 0, 'inserted a', 'inserted b');
  after.splice(200, 30);
  const { edits } = sides(diffLines(before.join('\n'), after.join('\n'), Infinity));
  assert.equal(edits, before.length + after.length - 2 * lcsLength(before, after));
});

test('diffLines on two nearly unrelated large texts still returns a correct diff', () => {
  // Past its work budget the search gives up on minimality, never on correctness.
  for (const common of ['}', null]) {
    const a = Array.from({ length: 6000 }, (_, i) => (common && i % 50 === 0 ? common : `a${i}`)).join('\n');
    const b = Array.from({ length: 6000 }, (_, i) => (common && i % 70 === 0 ? common : `b${i}`)).join('\n');
    const { before, after } = sides(diffLines(a, b, Infinity));
    assert.equal(before, a);
    assert.equal(after, b);
  }
});

test('diffModules names node modules added, removed and at another version', () => {
  const before = [
    { name: 'node-red-contrib-modbus', version: '5.40.0' },
    { name: 'node-red-node-serialport', version: '2.0.2' },
  ];
  const after = [
    { name: '@flowfuse/node-red-dashboard', version: '1.22.0' },
    { name: 'node-red-contrib-modbus', version: '5.43.0' },
  ];
  assert.deepEqual(diffModules(before, after), {
    added: [{ name: '@flowfuse/node-red-dashboard', version: '1.22.0' }],
    removed: [{ name: 'node-red-node-serialport', version: '2.0.2' }],
    changed: [{ name: 'node-red-contrib-modbus', before: '5.40.0', after: '5.43.0' }],
  });
  assert.deepEqual(diffModules(after, after), { added: [], removed: [], changed: [] });
});

test('diffSettings names each setting that differs, null for a side without it', () => {
  assert.deepEqual(diffSettings({ nodeRedVersion: '4.1.8' }, { nodeRedVersion: '5.0.2' }), [{ name: 'nodeRedVersion', before: '4.1.8', after: '5.0.2' }]);
  assert.deepEqual(diffSettings({}, { nodeRedVersion: '4.1.8' }), [{ name: 'nodeRedVersion', before: null, after: '4.1.8' }], 'a snapshot from before settings were recorded');
  assert.deepEqual(diffSettings({ a: { x: 1, y: 2 } }, { a: { y: 2, x: 1 } }), [], 'compared as canonical JSON');
});

test('diffEnv names variables added, removed, changed in value, and turned secret; a secret has no value to compare', () => {
  const before = [
    { name: 'LINE', value: '3', secret: false },
    { name: 'API_KEY', value: null, secret: true },
    { name: 'OLD', value: 'x', secret: false },
    { name: 'TOKEN', value: 'plain', secret: false },
  ];
  const after = [
    { name: 'LINE', value: '4', secret: false },
    { name: 'API_KEY', value: null, secret: true },
    { name: 'NEW', value: 'y', secret: false },
    { name: 'TOKEN', value: null, secret: true },
  ];
  assert.deepEqual(diffEnv(before, after), {
    added: [{ name: 'NEW', value: 'y', secret: false }],
    removed: [{ name: 'OLD', value: 'x', secret: false }],
    changed: [
      { name: 'LINE', before: before[0], after: after[0] },
      { name: 'TOKEN', before: before[3], after: after[3] },
    ],
  });
});
