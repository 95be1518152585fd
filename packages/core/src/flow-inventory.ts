import type { NodeRedNode } from './canonical-json.ts';

/**
 * What a flows file runs, read from the flows alone (no I/O): its tabs, the HTTP endpoints
 * it serves, its dashboards, and the systems its configuration nodes connect to. This is
 * the automatic inventory's view of an instance or device (IEC 62443-3-3 SR 7.8), and the
 * source of the conduits the compliance lead is offered: "line 3 talks Modbus/TCP to
 * 10.0.3.5:502" without anyone typing it.
 *
 * Never credentials: user names and passwords live in Node-RED's credentials file, which is
 * not read here, and a URL's user-info and query (where tokens hide) are dropped. A value
 * that comes from an environment variable (`${NAME}`, or a typed field set to `env`) or
 * from the message (an empty URL of an http request node) is reported as such, with the
 * variable's name, never guessed.
 */

/** literal: in the flow; env: an environment variable; msg: the message at run time; context: flow or global context. */
export type ValueSource = 'literal' | 'env' | 'msg' | 'context';

export type FlowTab = { id: string; label: string; disabled: boolean; nodes: number };

export type HttpEndpoint = { nodeId: string; tabId: string | null; method: string; url: string; name: string | null };

export type DashboardPart = {
  id: string;
  package: 'node-red-dashboard' | '@flowfuse/node-red-dashboard';
  kind: 'page' | 'group';
  name: string;
  /** The page a group is on; the path of a Dashboard 2 page. */
  page: string | null;
  path: string | null;
  /** The widgets placed in the group (0 for a page). */
  widgets: number;
};

export type Connection = {
  configNodeId: string;
  nodeType: string;
  name: string | null;
  /** MQTT, Modbus/TCP, Modbus/RTU, OPC UA, S7, PostgreSQL, MySQL, MSSQL, InfluxDB, MongoDB, HTTP, HTTPS, TCP, UDP, WebSocket. */
  protocol: string;
  /** Literal host (or serial port for Modbus/RTU); null when it is not literal in the flow. */
  host: string | null;
  port: number | null;
  /** Where host and port come from: the flow itself, an environment variable, or the message at run time. */
  source: ValueSource;
  /** The environment variables the address is read from, when source is 'env'. */
  env: string[];
  /** Whether TLS is configured (null: the node does not say). */
  tls: boolean | null;
  /** How many nodes use this config node (for an http request node: itself, 1). */
  usedBy: number;
  /** The tab it sits on, when it is scoped to one or is a flow node. */
  tabId: string | null;
};

export type FlowInventory = {
  tabs: FlowTab[];
  httpEndpoints: HttpEndpoint[];
  dashboards: DashboardPart[];
  connections: Connection[];
};

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A field's value as the flow holds it: a literal string, an env reference, or nothing. */
type Field = { value: string | null; env: string[]; context?: true };

function field(node: NodeRedNode, key: string, typeKey?: string): Field {
  const raw = node[key];
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  // A typed input (postgresql's hostFieldType, ...) set to env names the variable itself.
  const type = typeKey ? node[typeKey] : undefined;
  if (type === 'env' && text) return { value: null, env: [text] };
  if (typeKey && typeof type === 'string' && type !== 'str' && type !== 'num' && type !== '') return { value: null, env: [], context: true };
  const env = [...text.matchAll(ENV_REFERENCE)].map((m) => m[1]!);
  if (env.length > 0) return { value: null, env };
  return { value: text || null, env: [] };
}

function portOf(f: Field): number | null {
  if (f.value === null) return null;
  const n = Number(f.value);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : null;
}

/** Host and port of a URL, without its user-info, path or query (a token may hide there). */
function fromUrl(text: string, defaults: Record<string, number>): { protocol: string; host: string; port: number | null } | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const scheme = url.protocol.replace(/:$/, '');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) return null;
  return { protocol: scheme, host, port: url.port ? Number(url.port) : (defaults[scheme] ?? null) };
}

const URL_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443, mqtt: 1883, mqtts: 8883, 'opc.tcp': 4840 };

type Reading = Omit<Connection, 'configNodeId' | 'nodeType' | 'name' | 'usedBy' | 'tabId'>;

function reading(protocol: string, host: Field, port: Field | number | null, tls: boolean | null = null): Reading {
  const portField: Field = typeof port === 'number' || port === null ? { value: port === null ? null : String(port), env: [] } : port;
  const env = [...host.env, ...portField.env];
  const source: ValueSource = host.context || portField.context ? 'context' : env.length > 0 ? 'env' : 'literal';
  return { protocol, host: host.value, port: portOf(portField), source, env, tls };
}

function urlReading(node: NodeRedNode, key: string, protocolOf: (scheme: string) => string): Reading | null {
  const f = field(node, key);
  if (f.env.length > 0) return { protocol: protocolOf(''), host: null, port: null, source: 'env', env: f.env, tls: null };
  if (f.value === null) return null;
  const parsed = fromUrl(f.value, URL_PORTS);
  if (!parsed) return null;
  return {
    protocol: protocolOf(parsed.protocol),
    host: parsed.host,
    port: parsed.port,
    source: 'literal',
    env: [],
    tls: ['https', 'wss', 'mqtts'].includes(parsed.protocol) ? true : null,
  };
}

/** The config nodes (and flow nodes) that connect somewhere, by type: how each says where. */
const READERS: Record<string, (node: NodeRedNode) => Reading | null> = {
  // Node-RED's own MQTT broker: `broker` is a host, or (Node-RED 3) a URL.
  'mqtt-broker': (node) => {
    const tls = node.usetls === true || node.usetls === 'true';
    const broker = field(node, 'broker');
    if (broker.value && /^[a-z]+:\/\//i.test(broker.value)) {
      const parsed = fromUrl(broker.value, URL_PORTS);
      if (parsed) return { protocol: 'MQTT', host: parsed.host, port: parsed.port, source: 'literal', env: [], tls: tls || ['mqtts', 'wss'].includes(parsed.protocol) };
    }
    return reading('MQTT', broker, field(node, 'port'), tls);
  },
  // node-red-contrib-modbus: TCP, or a serial line (its "host" is the serial port).
  'modbus-client': (node) => {
    const type = typeof node.clienttype === 'string' ? node.clienttype : 'tcp';
    if (type === 'serial' || type === 'serial-buffered') return reading('Modbus/RTU', field(node, 'serialPort'), null);
    return reading('Modbus/TCP', field(node, 'tcpHost'), field(node, 'tcpPort'));
  },
  // node-red-contrib-opcua
  'OpcUa-Endpoint': (node) => {
    const r = urlReading(node, 'endpoint', () => 'OPC UA');
    if (r) r.tls = typeof node.securityMode === 'string' ? node.securityMode !== 'None' : null;
    return r;
  },
  // node-red-contrib-s7
  's7 endpoint': (node) => (node.transport === 'mpi-s7' ? reading('S7 (MPI)', field(node, 'mpiAddress'), null) : reading('S7', field(node, 'address'), field(node, 'port'))),
  // node-red-contrib-postgresql, node-red-contrib-postgres-multi, node-red-node-mysql, node-red-contrib-mssql-plus
  postgreSQLConfig: (node) =>
    reading('PostgreSQL', field(node, 'host', 'hostFieldType'), field(node, 'port', 'portFieldType'), node.ssl === true || node.ssl === 'true' ? true : null),
  postgresdb: (node) => reading('PostgreSQL', field(node, 'hostname'), field(node, 'port'), node.ssl === true ? true : null),
  MySQLdatabase: (node) => reading('MySQL', field(node, 'host'), field(node, 'port'), node.tls === true ? true : null),
  'MSSQL-CN': (node) => reading('MSSQL', field(node, 'server'), field(node, 'port'), node.encyption === true || node.encryption === true ? true : null),
  // node-red-contrib-influxdb: 1.x by host and port, 2.x by URL.
  influxdb: (node) => {
    if (node.influxdbVersion === '2.0' || node.influxdbVersion === '1.8-flux') return urlReading(node, 'url', () => 'InfluxDB');
    return reading('InfluxDB', field(node, 'hostname'), field(node, 'port'), node.usetls === true ? true : null);
  },
  // node-red-node-mongodb
  mongodb: (node) => reading('MongoDB', field(node, 'hostname'), field(node, 'port')),
  // Node-RED's own network nodes that reach out (flow nodes, not config nodes).
  'http request': (node) => {
    const url = field(node, 'url');
    // Empty: msg.url decides; a mustache template: part of it does.
    if (url.env.length === 0 && (url.value === null || url.value.includes('{{'))) return { protocol: 'HTTP', host: null, port: null, source: 'msg', env: [], tls: null };
    return urlReading(node, 'url', (scheme) => (scheme === 'https' ? 'HTTPS' : 'HTTP'));
  },
  'websocket-client': (node) => urlReading(node, 'path', () => 'WebSocket'),
  'tcp request': (node) => {
    const server = field(node, 'server');
    if (server.value === null && server.env.length === 0) return { protocol: 'TCP', host: null, port: null, source: 'msg', env: [], tls: null };
    return reading('TCP', server, field(node, 'port'));
  },
  'tcp out': (node) => (node.beserver === 'client' ? reading('TCP', field(node, 'host'), field(node, 'port')) : null),
  'tcp in': (node) => (node.server === 'client' ? reading('TCP', field(node, 'host'), field(node, 'port')) : null),
  'udp out': (node) => {
    const addr = field(node, 'addr');
    if (addr.value === null && addr.env.length === 0) return { protocol: 'UDP', host: null, port: null, source: 'msg', env: [], tls: null };
    return reading('UDP', addr, field(node, 'outport'));
  },
};

/** The connection types the inventory reads: what the docs list as seen. */
export const INVENTORY_CONNECTION_TYPES = Object.keys(READERS);

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

export function analyseFlows(flows: readonly NodeRedNode[]): FlowInventory {
  const byId = new Map(flows.map((n) => [n.id, n]));
  const tabNodes = flows.filter((n) => n.type === 'tab');
  const tabIds = new Set(tabNodes.map((n) => n.id));

  // How many nodes point at each id (config nodes are referenced by a property holding their id).
  const references = new Map<string, number>();
  for (const node of flows) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'id' || key === 'z' || key === 'g' || key === 'wires' || typeof value !== 'string') continue;
      if (byId.has(value) && value !== node.id) references.set(value, (references.get(value) ?? 0) + 1);
    }
  }

  const tabs: FlowTab[] = tabNodes.map((t) => ({
    id: t.id,
    label: str(t.label) ?? t.id,
    disabled: t.disabled === true,
    nodes: flows.filter((n) => n.z === t.id && n.type !== 'group' && n.type !== 'junction' && (Array.isArray(n.wires) || typeof n.x === 'number')).length,
  }));

  const httpEndpoints: HttpEndpoint[] = flows
    .filter((n) => n.type === 'http in' || n.type === 'websocket-listener')
    .map((n) => ({
      nodeId: n.id,
      tabId: typeof n.z === 'string' && tabIds.has(n.z) ? n.z : null,
      method: n.type === 'websocket-listener' ? 'WEBSOCKET' : (str(n.method) ?? 'get').toUpperCase(),
      url: str(n.type === 'websocket-listener' ? n.path : n.url) ?? '/',
      name: str(n.name),
    }))
    .sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));

  const dashboards: DashboardPart[] = [];
  const widgetsIn = (groupId: string) => flows.filter((n) => n.group === groupId).length;
  for (const n of flows) {
    if (n.type === 'ui_tab') dashboards.push({ id: n.id, package: 'node-red-dashboard', kind: 'page', name: str(n.name) ?? n.id, page: null, path: null, widgets: 0 });
    if (n.type === 'ui_group') {
      const tab = typeof n.tab === 'string' ? byId.get(n.tab) : undefined;
      dashboards.push({
        id: n.id,
        package: 'node-red-dashboard',
        kind: 'group',
        name: str(n.name) ?? n.id,
        page: tab ? (str(tab.name) ?? tab.id) : null,
        path: null,
        widgets: widgetsIn(n.id),
      });
    }
    if (n.type === 'ui-page')
      dashboards.push({ id: n.id, package: '@flowfuse/node-red-dashboard', kind: 'page', name: str(n.name) ?? n.id, page: null, path: str(n.path), widgets: 0 });
    if (n.type === 'ui-group') {
      const page = typeof n.page === 'string' ? byId.get(n.page) : undefined;
      dashboards.push({
        id: n.id,
        package: '@flowfuse/node-red-dashboard',
        kind: 'group',
        name: str(n.name) ?? n.id,
        page: page ? (str(page.name) ?? page.id) : null,
        path: null,
        widgets: widgetsIn(n.id),
      });
    }
  }

  const connections: Connection[] = [];
  for (const node of flows) {
    const read = READERS[node.type];
    if (!read) continue;
    const r = read(node);
    if (!r) continue;
    const isFlowNode = Array.isArray(node.wires);
    connections.push({
      configNodeId: node.id,
      nodeType: node.type,
      name: str(node.name),
      ...r,
      usedBy: isFlowNode ? 1 : (references.get(node.id) ?? 0),
      tabId: typeof node.z === 'string' && tabIds.has(node.z) ? node.z : null,
    });
  }
  connections.sort((a, b) => a.protocol.localeCompare(b.protocol) || (a.host ?? '').localeCompare(b.host ?? '') || (a.port ?? 0) - (b.port ?? 0));
  return { tabs, httpEndpoints, dashboards, connections };
}

/**
 * The key a suggested conduit is confirmed or dismissed by: protocol, host and port. Null
 * for a connection whose address is not literal (nothing to draw a line to).
 */
export function connectionKey(c: Pick<Connection, 'protocol' | 'host' | 'port'>): string | null {
  if (c.host === null) return null;
  return `${c.protocol} ${c.host}${c.port === null ? '' : `:${c.port}`}`;
}
