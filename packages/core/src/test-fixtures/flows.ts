import type { NodeRedNode } from '../canonical-json.ts';

/**
 * Realistic synthetic Node-RED flows for tests and benchmarks: config nodes (a TLS
 * config and two MQTT brokers), tabs of about 60 nodes, and on each tab chains as a
 * plant's flows have them (MQTT telemetry scaled and checked against a limit, polled
 * calculations, HTTP status endpoints, MQTT commands), with function nodes holding
 * multi-line code. The same node count and seed always give the same flow.
 */

/** mulberry32: small, fast, and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function idMaker(random: Random, taken: Set<string>): () => string {
  return () => {
    for (;;) {
      let id = '';
      for (let i = 0; i < 4; i++)
        id += Math.floor(random() * 0x10000)
          .toString(16)
          .padStart(4, '0');
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
  };
}

const AREAS = ['Filling', 'Packaging', 'Palletising', 'Mixing', 'Boiler house', 'Compressed air', 'Cooling water', 'Energy', 'Quality lab', 'Warehouse'];
const SIGNALS = [
  { name: 'temperature', unit: '°C', limit: 85 },
  { name: 'pressure', unit: 'bar', limit: 7.5 },
  { name: 'flow', unit: 'm³/h', limit: 120 },
  { name: 'vibration', unit: 'mm/s', limit: 11 },
  { name: 'current', unit: 'A', limit: 32 },
  { name: 'level', unit: '%', limit: 95 },
];

type Signal = (typeof SIGNALS)[number];

function scaleCode(random: Random, line: string, signal: Signal): string {
  const offset = int(random, 0, 400);
  const factor = (int(random, 1, 400) / 100).toFixed(2);
  const checks = Array.from({ length: int(random, 0, 6) }, (_, i) => {
    const limit = int(random, 1, 50) * 10;
    return `if (raw > ${limit}) {\n    flow.set('over_${i}_${signal.name}', (flow.get('over_${i}_${signal.name}') || 0) + 1);\n}`;
  });
  return [
    `// Scale the raw ${signal.name} reading of ${line} to ${signal.unit}`,
    `const raw = Number(msg.payload);`,
    `if (Number.isNaN(raw)) {`,
    '    node.warn(`non-numeric reading on ${msg.topic}`);',
    `    return null;`,
    `}`,
    ...checks,
    `const scaled = (raw - ${offset}) * ${factor};`,
    `msg.payload = {`,
    `    value: Math.round(scaled * 100) / 100,`,
    `    unit: '${signal.unit}',`,
    `    line: '${line}',`,
    `    ts: Date.now()`,
    `};`,
    `context.set('last', msg.payload.value);`,
    `return msg;`,
  ].join('\n');
}

function pollCode(random: Random, line: string): string {
  const shifts = int(random, 2, 3);
  const target = int(random, 200, 2000);
  return [
    `// Production rate of ${line} over the current shift`,
    `const counts = flow.get('counts') || [];`,
    `const now = new Date();`,
    `const shiftLength = 24 / ${shifts};`,
    `const shift = Math.floor(now.getHours() / shiftLength);`,
    `const sinceStart = (now.getHours() % shiftLength) + now.getMinutes() / 60;`,
    `let total = 0;`,
    `for (const c of counts) {`,
    `    if (c.shift === shift) total += c.units;`,
    `}`,
    `const rate = sinceStart > 0 ? total / sinceStart : 0;`,
    `msg.payload = { line: '${line}', shift, total, rate, target: ${target} };`,
    `msg.topic = 'rate/${line.toLowerCase().replace(/ /g, '-')}';`,
    `if (rate < ${target} * 0.8) {`,
    `    node.status({ fill: 'yellow', shape: 'ring', text: 'below target' });`,
    `} else {`,
    `    node.status({ fill: 'green', shape: 'dot', text: rate.toFixed(1) + '/h' });`,
    `}`,
    `return msg;`,
  ].join('\n');
}

function statusCode(line: string): string {
  return [
    `// Status of ${line} for the MES`,
    `const last = flow.get('last') || {};`,
    `msg.payload = {`,
    `    line: '${line}',`,
    `    running: Boolean(last.running),`,
    `    since: last.since || null,`,
    `    alarms: (flow.get('alarms') || []).length`,
    `};`,
    `msg.statusCode = 200;`,
    `return msg;`,
  ].join('\n');
}

function commandCode(line: string): string {
  return [
    `// Accept only known commands for ${line}; others go to the second output`,
    `const allowed = ['start', 'stop', 'reset'];`,
    `const command = String(msg.payload && msg.payload.command || '').toLowerCase();`,
    `if (!allowed.includes(command)) {`,
    `    msg.payload = { rejected: command, reason: 'unknown command' };`,
    `    return [null, msg];`,
    `}`,
    `msg.payload = { command, line: '${line}', requestedBy: msg.payload.user || 'unknown' };`,
    `return [msg, null];`,
  ].join('\n');
}

type Context = { random: Random; id: () => string; tab: string; line: string; brokers: string[] };
/** A chain: node factories and, per node, its outputs as indices into the chain. */
type NodeBody = { type: string; [key: string]: unknown };
type Chain = Array<{ make: () => NodeBody; wires: number[][] }>;

function functionNode(name: string, func: string, outputs: number): NodeBody {
  return { type: 'function', name, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [] };
}

function debugNode(name: string): NodeBody {
  return {
    type: 'debug',
    name,
    active: true,
    tosidebar: true,
    console: false,
    tostatus: false,
    complete: 'payload',
    targetType: 'msg',
    statusVal: '',
    statusType: 'auto',
  };
}

function telemetryChain(c: Context): Chain {
  const signal = pick(c.random, SIGNALS);
  const topic = `plant/${c.line.toLowerCase().replace(/ /g, '-')}/${signal.name}/${int(c.random, 1, 12)}`;
  const broker = pick(c.random, c.brokers);
  return [
    {
      make: () => ({ type: 'mqtt in', name: `${signal.name} raw`, topic, qos: '1', datatype: 'auto-detect', broker, nl: false, rap: true, rh: 0, inputs: 0 }),
      wires: [[1]],
    },
    { make: () => functionNode(`scale ${signal.name}`, scaleCode(c.random, c.line, signal), 1), wires: [[2]] },
    {
      make: () => ({
        type: 'switch',
        name: `over ${signal.limit} ${signal.unit}?`,
        property: 'payload.value',
        propertyType: 'msg',
        rules: [{ t: 'gt', v: String(signal.limit), vt: 'num' }, { t: 'else' }],
        checkall: 'true',
        repair: false,
        outputs: 2,
      }),
      wires: [[3], [5]],
    },
    {
      make: () => ({
        type: 'change',
        name: 'raise alarm',
        rules: [
          { t: 'set', p: 'topic', pt: 'msg', to: `alarms/${signal.name}`, tot: 'str' },
          { t: 'set', p: 'payload.severity', pt: 'msg', to: 'high', tot: 'str' },
        ],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
      }),
      wires: [[4]],
    },
    {
      make: () => ({
        type: 'mqtt out',
        name: 'publish alarm',
        topic: '',
        qos: '1',
        retain: 'false',
        respTopic: '',
        contentType: '',
        userProps: '',
        correl: '',
        expiry: '',
        broker,
      }),
      wires: [],
    },
    { make: () => debugNode(`${signal.name} ok`), wires: [] },
  ];
}

function pollChain(c: Context): Chain {
  return [
    {
      make: () => ({
        type: 'inject',
        name: 'every minute',
        props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }],
        repeat: String(pick(c.random, [15, 30, 60, 300])),
        crontab: '',
        once: false,
        onceDelay: 0.1,
        topic: 'tick',
        payload: '',
        payloadType: 'date',
      }),
      wires: [[1]],
    },
    { make: () => functionNode('shift rate', pollCode(c.random, c.line), 1), wires: [[2]] },
    {
      make: () => ({
        type: 'change',
        name: 'tag for historian',
        rules: [{ t: 'set', p: 'measurement', pt: 'msg', to: 'production_rate', tot: 'str' }],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
      }),
      wires: [[3]],
    },
    { make: () => debugNode('rate'), wires: [] },
  ];
}

function apiChain(c: Context): Chain {
  const path = `/api/${c.line.toLowerCase().replace(/ /g, '-')}/status/${int(c.random, 1, 99)}`;
  return [
    { make: () => ({ type: 'http in', name: `GET ${path}`, url: path, method: 'get', upload: false, swaggerDoc: '' }), wires: [[1]] },
    { make: () => functionNode('build status', statusCode(c.line), 1), wires: [[2]] },
    {
      make: () => ({
        type: 'change',
        name: 'no caching',
        rules: [{ t: 'set', p: 'headers', pt: 'msg', to: '{"cache-control":"no-store"}', tot: 'json' }],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
      }),
      wires: [[3]],
    },
    { make: () => ({ type: 'http response', name: '', statusCode: '', headers: { 'content-type': 'application/json' } }), wires: [] },
  ];
}

function commandChain(c: Context): Chain {
  const broker = pick(c.random, c.brokers);
  const base = `plant/${c.line.toLowerCase().replace(/ /g, '-')}`;
  return [
    { make: () => ({ type: 'mqtt in', name: 'commands', topic: `${base}/cmd`, qos: '2', datatype: 'json', broker, nl: false, rap: true, rh: 0, inputs: 0 }), wires: [[1]] },
    { make: () => functionNode('validate command', commandCode(c.line), 2), wires: [[2], [3]] },
    {
      make: () => ({
        type: 'mqtt out',
        name: 'to PLC gateway',
        topic: `${base}/plc/cmd`,
        qos: '2',
        retain: 'false',
        respTopic: '',
        contentType: '',
        userProps: '',
        correl: '',
        expiry: '',
        broker,
      }),
      wires: [],
    },
    { make: () => debugNode('rejected command'), wires: [] },
  ];
}

const CHAINS = [telemetryChain, telemetryChain, pollChain, apiChain, commandChain];
const NODES_PER_TAB = 60;

/** A flows file of exactly `nodeCount` nodes (tabs and config nodes included). */
export function makeFlow(nodeCount: number, seed = 1): NodeRedNode[] {
  const random = seededRandom(seed);
  const id = idMaker(random, new Set());
  const flow: NodeRedNode[] = [];

  const tls = id();
  const brokers = [id(), id()];
  const config: NodeRedNode[] = [
    {
      id: tls,
      type: 'tls-config',
      name: 'plant CA',
      cert: '',
      key: '',
      ca: '',
      certname: '',
      keyname: '',
      caname: 'plant-ca.pem',
      servername: '',
      verifyservercert: true,
      alpnprotocol: '',
    },
    ...brokers.map((broker, i) => ({
      id: broker,
      type: 'mqtt-broker',
      name: i === 0 ? 'site broker' : 'cloud bridge',
      broker: i === 0 ? 'mqtt.plant.local' : 'bridge.example.net',
      port: '8883',
      tls,
      clientid: '',
      autoConnect: true,
      usetls: true,
      protocolVersion: '5',
      keepalive: '60',
      cleansession: true,
      autoUnsubscribe: true,
      birthTopic: '',
      closeTopic: '',
      willTopic: '',
    })),
  ];
  flow.push(...config.slice(0, nodeCount));

  let remaining = nodeCount - flow.length;
  const tabCount = Math.ceil(remaining / (NODES_PER_TAB + 1));
  for (let t = 0; t < tabCount && remaining > 0; t++) {
    const share = Math.ceil(remaining / (tabCount - t));
    const tab = id();
    const line = tabCount <= AREAS.length ? AREAS[t]! : `${AREAS[t % AREAS.length]} ${Math.floor(t / AREAS.length) + 1}`;
    flow.push({ id: tab, type: 'tab', label: `Line ${t + 1} — ${line}`, disabled: false, info: '', env: [] });
    remaining--;
    let budget = share - 1;
    const context: Context = { random, id, tab, line: `Line ${t + 1}`, brokers };
    let row = 0;
    while (budget > 0) {
      const chain = pick(random, CHAINS)(context).slice(0, budget);
      const ids = chain.map(() => id());
      chain.forEach((link, i) => {
        const wires = link.wires.map((targets) => targets.filter((target) => target < chain.length).map((target) => ids[target]!));
        flow.push({ id: ids[i]!, z: tab, ...link.make(), x: 150 + i * 190, y: 40 + row * 60 + (i > 3 ? 60 : 0), wires });
      });
      row += chain.length > 4 ? 2 : 1;
      budget -= chain.length;
      remaining -= chain.length;
    }
  }
  return flow;
}

// ---------------------------------------------------------------------------------------
// Known mutations, for checking a diff's counts against what was done.

export type MutationPlan = {
  /** Nodes to add: inject → debug pairs on an existing tab. */
  add: number;
  /** Nodes to remove, at least: whole HTTP endpoint chains, so no wire dangles. */
  remove: number;
  /** Function nodes whose code gets one line edited. */
  change: number;
  /** Inject nodes moved by (40, 20). */
  move: number;
  /** Switch nodes whose two outputs are swapped. */
  rewire: number;
  /** Tabs renamed. */
  rename: number;
};

export type MutationResult = {
  after: NodeRedNode[];
  expected: { added: number; removed: number; changed: number; moved: number; rewired: number };
  ids: { added: string[]; removed: string[]; changed: string[]; moved: string[]; rewired: string[]; renamed: string[] };
};

function takeRandom<T>(random: Random, items: readonly T[], count: number, what: string): T[] {
  if (items.length < count) throw new Error(`mutateFlow: wanted ${count} ${what}, the flow has ${items.length}`);
  const pool = [...items];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}

/** Applies the planned mutations to disjoint sets of nodes of a copy of `before`; `expected` is what a correct diff reports. */
export function mutateFlow(before: readonly NodeRedNode[], plan: MutationPlan, seed = 7): MutationResult {
  const random = seededRandom(seed);
  const after = structuredClone(before) as NodeRedNode[];
  const byId = new Map(after.map((node) => [node.id, node]));
  const ids: MutationResult['ids'] = { added: [], removed: [], changed: [], moved: [], rewired: [], renamed: [] };

  // Remove whole HTTP endpoint chains (http in and everything downstream of it).
  const removed = new Set<string>();
  const candidates = after.filter((n) => n.type === 'http in');
  while (removed.size < plan.remove) {
    const [start] = takeRandom(
      random,
      candidates.filter((n) => !removed.has(n.id)),
      1,
      'more http endpoints to remove',
    );
    const queue = [start!.id];
    while (queue.length > 0) {
      const next = queue.pop()!;
      if (removed.has(next)) continue;
      removed.add(next);
      for (const output of byId.get(next)!.wires ?? []) queue.push(...output);
    }
  }
  ids.removed = [...removed];
  const kept = after.filter((n) => !removed.has(n.id));

  for (const node of takeRandom(
    random,
    kept.filter((n) => n.type === 'function'),
    plan.change,
    'function nodes',
  )) {
    const lines = (node.func as string).split('\n');
    lines[1] = `${lines[1]} // reviewed in MoC`;
    node.func = lines.join('\n');
    ids.changed.push(node.id);
  }
  for (const node of takeRandom(
    random,
    kept.filter((n) => n.type === 'inject'),
    plan.move,
    'inject nodes',
  )) {
    node.x = (node.x as number) + 40;
    node.y = (node.y as number) + 20;
    ids.moved.push(node.id);
  }
  const swappable = kept.filter((n) => n.type === 'switch' && n.wires?.length === 2 && n.wires[0]!.length > 0 && n.wires[1]!.length > 0);
  for (const node of takeRandom(random, swappable, plan.rewire, 'switch nodes wired on both outputs')) {
    node.wires = [node.wires![1]!, node.wires![0]!];
    ids.rewired.push(node.id);
  }
  for (const node of takeRandom(
    random,
    kept.filter((n) => n.type === 'tab'),
    plan.rename,
    'tabs',
  )) {
    node.label = `${node.label as string} (v2)`;
    ids.renamed.push(node.id);
  }

  const taken = new Set(after.map((n) => n.id));
  const newId = idMaker(random, taken);
  const tabs = kept.filter((n) => n.type === 'tab');
  const addedNodes: NodeRedNode[] = [];
  for (let i = 0; i < plan.add; i += 2) {
    const z = pick(random, tabs).id;
    const debug: NodeRedNode = { id: newId(), z, ...debugNode(`added ${i}`), x: 900, y: 2000 + i * 30, wires: [] };
    if (i + 1 < plan.add) {
      const inject: NodeRedNode = {
        id: newId(),
        type: 'inject',
        z,
        name: `test ${i}`,
        props: [{ p: 'payload' }],
        repeat: '',
        crontab: '',
        once: false,
        onceDelay: 0.1,
        topic: '',
        payload: 'test',
        payloadType: 'str',
        x: 700,
        y: 2000 + i * 30,
        wires: [[debug.id]],
      };
      addedNodes.push(inject);
    }
    addedNodes.push(debug);
  }
  ids.added = addedNodes.map((n) => n.id);
  ids.changed.push(...ids.rewired, ...ids.renamed);

  return {
    after: [...kept, ...addedNodes],
    expected: {
      added: ids.added.length,
      removed: ids.removed.length,
      changed: ids.changed.length,
      moved: ids.moved.length,
      rewired: ids.rewired.length,
    },
    ids,
  };
}
