import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CanonicalJsonError, MAX_FLOW_NODES, canonicalJson, snapshotHash, validateFlows, validateModules, type NodeRedNode, type SnapshotContent } from './canonical-json.ts';
import { makeFlow } from './test-fixtures/flows.ts';

function errorsOf(input: unknown): string[] {
  const result = validateFlows(input);
  assert.equal(result.ok, false, 'expected the flows to be refused');
  return result.ok ? [] : result.errors;
}

// ---------------------------------------------------------------------------------------
// canonicalJson

test('canonicalJson does not depend on key order, at any depth', () => {
  const one = { b: 1, a: { d: [3, 1, 2], c: 'é' } };
  const two = { a: { c: 'é', d: [3, 1, 2] }, b: 1 };
  assert.equal(canonicalJson(one), '{"a":{"c":"é","d":[3,1,2]},"b":1}');
  assert.equal(canonicalJson(two), canonicalJson(one));
  // Hash of the exact text above, computed independently with node -e and createHash.
  assert.equal(createHash('sha256').update(canonicalJson(two)).digest('hex'), '8448394d884815c2d84ef2850011ecaf289a043de9a639310420a6539707f5d8');
});

test('canonicalJson sorts keys by UTF-16 code units and writes numbers as JSON does', () => {
  assert.equal(canonicalJson({ é: 4, a: 2, _: 3, B: 1, 9: 6, 10: 5 }), '{"10":5,"9":6,"B":1,"_":3,"a":2,"é":4}');
  assert.equal(canonicalJson([1e21, -0, 0.1, 5e-7, -3]), '[1e+21,0,0.1,5e-7,-3]');
  assert.equal(canonicalJson('line 1\nline "2"'), '"line 1\\nline \\"2\\""');
  assert.equal(canonicalJson([true, false, null, [], {}]), '[true,false,null,[],{}]');
});

test('canonicalJson leaves out undefined properties, keeps array order and shared references', () => {
  const shared = { p: 'payload' };
  assert.equal(canonicalJson({ a: undefined, b: [shared, shared], c: [3, 2, 1] }), '{"b":[{"p":"payload"},{"p":"payload"}],"c":[3,2,1]}');
  assert.equal(canonicalJson({ at: new Date('2025-01-02T03:04:05.000Z') }), '{"at":"2025-01-02T03:04:05.000Z"}');
});

test('canonicalJson rejects NaN, infinities and undefined in arrays, naming where', () => {
  assert.throws(
    () => canonicalJson({ flows: [{ x: NaN }] }),
    (error: unknown) => {
      assert.ok(error instanceof CanonicalJsonError);
      assert.equal(error.path, '$.flows[0].x');
      assert.match(error.message, /NaN is not a finite number at \$\.flows\[0\]\.x/);
      return true;
    },
  );
  assert.throws(() => canonicalJson({ 'rate/s': Infinity }), /Infinity is not a finite number at \$\["rate\/s"\]/);
  assert.throws(() => canonicalJson(-Infinity), /-Infinity is not a finite number at \$/);
  assert.throws(() => canonicalJson({ list: [1, undefined, 3] }), /undefined is not allowed in an array at \$\.list\[1\]/);
  assert.throws(() => canonicalJson(undefined), /undefined cannot be written as JSON at \$/);
});

test('canonicalJson rejects what JSON would silently change', () => {
  assert.throws(() => canonicalJson({ n: 10n }), /a BigInt cannot be written as JSON at \$\.n/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /a function cannot be written/);
  assert.throws(() => canonicalJson({ m: new Map([['a', 1]]) }), /a Map is not plain JSON data at \$\.m/);
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), /refers to itself \(a cycle\) at \$\.self/);
});

// ---------------------------------------------------------------------------------------
// snapshotHash

const SNAPSHOT: SnapshotContent = {
  modules: [{ version: '1.0.2', name: 'node-red-contrib-modbus' }],
  flows: [
    { type: 'tab', id: 't1', label: 'Line 1' },
    { wires: [[]], id: 'n1', z: 't1', type: 'inject', name: 'tick' },
  ],
  settings: { uiPort: 1880, flowFilePretty: true },
  env: [{ secret: true, name: 'API_KEY', value: null }],
  credentials: null,
};

test('snapshotHash is the SHA-256 of the canonical content, stable across key order', () => {
  assert.equal(
    canonicalJson(SNAPSHOT),
    '{"credentials":null,"env":[{"name":"API_KEY","secret":true,"value":null}],' +
      '"flows":[{"id":"t1","label":"Line 1","type":"tab"},{"id":"n1","name":"tick","type":"inject","wires":[[]],"z":"t1"}],' +
      '"modules":[{"name":"node-red-contrib-modbus","version":"1.0.2"}],"settings":{"flowFilePretty":true,"uiPort":1880}}',
  );
  // Computed independently: node -e with createHash('sha256') over the string above.
  const expected = 'b8e158ab85dc1bc13be371bda6ab55febecc2d001d623c6ad1f55f53d1d23902';
  assert.equal(snapshotHash(SNAPSHOT), expected);

  const reordered: SnapshotContent = {
    credentials: null,
    env: [{ name: 'API_KEY', value: null, secret: true }],
    flows: [
      { id: 't1', label: 'Line 1', type: 'tab' },
      { id: 'n1', name: 'tick', type: 'inject', wires: [[]], z: 't1' },
    ],
    settings: { flowFilePretty: true, uiPort: 1880 },
    modules: [{ name: 'node-red-contrib-modbus', version: '1.0.2' }],
  };
  assert.equal(snapshotHash(reordered), expected);
});

test('snapshotHash changes with any content, including array order', () => {
  const base = snapshotHash(SNAPSHOT);
  assert.notEqual(snapshotHash({ ...SNAPSHOT, credentials: 'b64:AAAA' }), base);
  assert.notEqual(snapshotHash({ ...SNAPSHOT, flows: [...SNAPSHOT.flows].reverse() }), base);
  assert.notEqual(snapshotHash({ ...SNAPSHOT, env: [{ name: 'API_KEY', value: null, secret: false }] }), base);
  assert.match(base, /^[0-9a-f]{64}$/);
});

test('snapshotHash of a realistic flow is the same for a structural copy', () => {
  const flows = makeFlow(300, 3);
  const content: SnapshotContent = { flows, credentials: null, settings: {}, env: [], modules: [] };
  assert.equal(snapshotHash(content), snapshotHash(JSON.parse(JSON.stringify(content)) as SnapshotContent));
});

// ---------------------------------------------------------------------------------------
// validateFlows

test('validateFlows accepts a realistic flow and returns it', () => {
  const flows = makeFlow(300, 1);
  const result = validateFlows(flows);
  assert.equal(result.ok, true);
  assert.equal(result.ok && result.flows, flows);
});

test('validateFlows accepts subflows, global config nodes with an empty z, and nodes without wires', () => {
  const flows = [
    { id: 'sf', type: 'subflow', name: 'debounce', in: [], out: [] },
    { id: 'inner', type: 'function', z: 'sf', func: 'return msg;', wires: [[]] },
    { id: 'broker', type: 'mqtt-broker', z: '', broker: 'localhost' },
    { id: 't', type: 'tab', label: 'Main' },
    { id: 'use', type: 'subflow:sf', z: 't', wires: [['dbg']] },
    { id: 'dbg', type: 'debug', z: 't' },
  ];
  assert.deepEqual(validateFlows(flows), { ok: true, flows });
});

test('validateFlows refuses what is not an array', () => {
  assert.deepEqual(errorsOf({ flows: [] }), ['Flows must be a JSON array of nodes, but this is an object.']);
  assert.deepEqual(errorsOf('[]'), ['Flows must be a JSON array of nodes, but this is a string.']);
  assert.deepEqual(errorsOf(null), ['Flows must be a JSON array of nodes, but this is null.']);
});

test('validateFlows names nodes that are not objects or lack an id or type', () => {
  assert.deepEqual(errorsOf([{ id: 't', type: 'tab' }, 42, { type: 'inject' }, { id: '', type: 'debug' }, { id: 'n9' }, { id: 'n10', type: 7 }]), [
    'Node at index 1 must be an object, but it is a number.',
    'Node at index 2 has no id (a non-empty string is required).',
    'Node at index 3 has no id (a non-empty string is required).',
    'Node "n9" (index 4) has no type (a non-empty string is required).',
    'Node "n10" (index 5) has no type (a non-empty string is required).',
  ]);
});

test('validateFlows refuses duplicate ids', () => {
  assert.deepEqual(
    errorsOf([
      { id: 't', type: 'tab' },
      { id: 'a', type: 'inject', z: 't' },
      { id: 'a', type: 'debug', z: 't' },
    ]),
    ['Node "a" (index 2) has the same id as the node at index 1; ids must be unique.'],
  );
});

test('validateFlows refuses a z that names no tab or subflow', () => {
  assert.deepEqual(
    errorsOf([
      { id: 't', type: 'tab' },
      { id: 'a', type: 'inject', z: 'gone' },
      { id: 'b', type: 'debug', z: 'a' },
      { id: 'c', type: 'debug', z: 5 },
    ]),
    [
      'Node "a" (index 1) sits on "gone", which is not a tab or subflow in these flows.',
      'Node "b" (index 2) sits on "a", which is a node of type "inject", not a tab or subflow.',
      'Node "c" (index 3) has a z of a number; it must be the id of a tab or subflow.',
    ],
  );
});

test('validateFlows refuses dangling and malformed wires', () => {
  assert.deepEqual(
    errorsOf([
      { id: 't', type: 'tab' },
      { id: 'a', type: 'inject', z: 't', wires: [['b', 'nowhere']] },
      { id: 'b', type: 'switch', z: 't', wires: [[], 'c'] },
      { id: 'c', type: 'change', z: 't', wires: { 0: ['b'] } },
      { id: 'd', type: 'change', z: 't', wires: [[null]] },
    ]),
    [
      'Node "a" (index 1): output 1 is wired to "nowhere", which is not in these flows.',
      'Node "b" (index 2): output 2 must be an array of node ids, but it is a string.',
      'Node "c" (index 3) has wires of an object; they must be an array with one array of node ids per output.',
      'Node "d" (index 4): output 1 lists null where a node id belongs.',
    ],
  );
});

test('validateFlows refuses more than 50,000 nodes', () => {
  const nodes = (count: number): NodeRedNode[] => Array.from({ length: count }, (_, i) => ({ id: `n${i}`, type: 'comment' }));
  assert.equal(MAX_FLOW_NODES, 50_000);
  assert.equal(validateFlows(nodes(50_000)).ok, true);
  assert.deepEqual(errorsOf(nodes(50_001)), ['Flows have 50,001 nodes; at most 50,000 are allowed.']);
});

test('validateFlows lists at most 100 problems, then a count of the rest', () => {
  const errors = errorsOf(Array.from({ length: 150 }, (_, i) => ({ id: `n${i}`, type: 'debug', z: 'missing' })));
  assert.equal(errors.length, 101);
  assert.equal(errors[0], 'Node "n0" (index 0) sits on "missing", which is not a tab or subflow in these flows.');
  assert.equal(errors[100], '…and 50 more problems.');
});

test('validateModules puts node modules in canonical order and names what is not one', () => {
  assert.deepEqual(
    validateModules([
      { name: 'node-red-contrib-modbus', version: '5.43.0' },
      { name: '@flowfuse/node-red-dashboard', version: '^1.22.0' },
      { name: 'node-red-contrib-s7', version: '~3.1.0-beta.2' },
    ]),
    {
      ok: true,
      modules: [
        { name: '@flowfuse/node-red-dashboard', version: '^1.22.0' },
        { name: 'node-red-contrib-modbus', version: '5.43.0' },
        { name: 'node-red-contrib-s7', version: '~3.1.0-beta.2' },
      ],
    },
  );
  assert.deepEqual(validateModules([]), { ok: true, modules: [] });
  assert.deepEqual(validateModules('node-red-dashboard'), { ok: false, errors: ['modules must be an array of { name, version }.'] });
  const result = validateModules([
    { name: 'Not A Package', version: '1.0.0' },
    { name: 'node-red-*', version: '1.0.0' },
    { name: 'ok', version: '1 .0' },
    { name: 'ok', version: 'file:../../evil' },
    { name: 'ok', version: 'https://example.com/ok.tgz' },
    { name: 'ok', version: '1.0.0' },
    { name: 'ok', version: '1.0.1' },
    { name: 'ok' },
    null,
  ]);
  assert.deepEqual(result, {
    ok: false,
    errors: [
      'modules[0]: "Not A Package" is not an npm package name.',
      'modules[1]: "node-red-*" is not an npm package name.',
      'modules[2] (ok): "1 .0" is not a registry version (1.2.3, ~1.2.3 or ^1.2.3).',
      'modules[3] (ok): "file:../../evil" is not a registry version (1.2.3, ~1.2.3 or ^1.2.3).',
      'modules[4] (ok): "https://example.com/ok.tgz" is not a registry version (1.2.3, ~1.2.3 or ^1.2.3).',
      'modules[6]: ok is listed twice.',
      'modules[7] is not { name, version }.',
      'modules[8] is not { name, version }.',
    ],
  });
});
