import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeRedNode } from './canonical-json.ts';
import { analyseFlows, connectionKey } from './flow-inventory.ts';

// A line's flows as Node-RED exports them: config nodes as the palette packages write them.
const line3: NodeRedNode[] = [
  { id: 'tab-line3', type: 'tab', label: 'Line 3 press', disabled: false, info: '' },
  { id: 'tab-old', type: 'tab', label: 'Old test', disabled: true, info: '' },
  {
    id: 'broker-plant',
    type: 'mqtt-broker',
    name: 'Plant broker',
    broker: 'mqtt.plant.local',
    port: '8883',
    clientid: 'line3',
    usetls: true,
    protocolVersion: '5',
    keepalive: '60',
  },
  {
    id: 'modbus-press',
    type: 'modbus-client',
    name: 'Press PLC',
    clienttype: 'tcp',
    bufferCommands: true,
    tcpHost: '10.0.3.5',
    tcpPort: '502',
    tcpType: 'DEFAULT',
    serialPort: '/dev/ttyUSB',
    serialBaudrate: '9600',
    unit_id: 1,
    commandDelay: 1,
    clientTimeout: 1000,
  },
  { id: 'modbus-scale', type: 'modbus-client', name: 'Scale', clienttype: 'serial', serialPort: '/dev/ttyUSB0', serialBaudrate: '19200', tcpHost: '127.0.0.1', tcpPort: '502' },
  {
    id: 'opc-1',
    type: 'OpcUa-Endpoint',
    endpoint: 'opc.tcp://operator:secret@10.0.3.20:4840/UA/Press?token=abc',
    secpol: 'Basic256Sha256',
    securityMode: 'SignAndEncrypt',
    none: false,
    login: true,
  },
  { id: 's7-1', type: 's7 endpoint', transport: 'iso-on-tcp', address: '10.0.3.30', port: '102', rack: '0', slot: '1', cycletime: 1000, timeout: 2000, name: 'S7-1500' },
  { id: 'pg-1', type: 'postgreSQLConfig', name: 'MES', host: 'PG_HOST', hostFieldType: 'env', port: '5432', portFieldType: 'num', database: 'mes', ssl: 'false' },
  { id: 'mysql-1', type: 'MySQLdatabase', name: '', host: '${DB_HOST}', port: '${DB_PORT}', db: 'quality', tz: '', charset: 'UTF8' },
  { id: 'influx-1', type: 'influxdb', hostname: '10.0.9.9', port: '8086', protocol: 'http', database: 'line3', name: 'Historian', usetls: false, influxdbVersion: '1.x' },
  { id: 'influx-2', type: 'influxdb', influxdbVersion: '2.0', url: 'https://influx.cloud.example:8086', name: 'Cloud' },
  { id: 'ui-tab-1', type: 'ui_tab', name: 'Press', icon: 'dashboard', order: 1 },
  { id: 'ui-grp-1', type: 'ui_group', name: 'Counters', tab: 'ui-tab-1', order: 1, disp: true, width: '6' },
  { id: 'ui-base-2', type: 'ui-base', name: 'Line dashboard', path: '/dashboard' },
  { id: 'ui-page-2', type: 'ui-page', name: 'Overview', ui: 'ui-base-2', path: '/overview', layout: 'grid' },
  { id: 'ui-group-2', type: 'ui-group', name: 'OEE', page: 'ui-page-2', width: '6' },
  { id: 'in-1', type: 'mqtt in', z: 'tab-line3', topic: 'line3/#', qos: '1', broker: 'broker-plant', x: 120, y: 80, wires: [['fn-1']] },
  { id: 'out-1', type: 'mqtt out', z: 'tab-line3', topic: 'line3/state', broker: 'broker-plant', x: 520, y: 80, wires: [] },
  { id: 'mb-read', type: 'modbus-read', z: 'tab-line3', server: 'modbus-press', adr: '0', quantity: '10', x: 120, y: 160, wires: [['fn-1'], []] },
  { id: 'fn-1', type: 'function', z: 'tab-line3', func: 'return msg;', x: 320, y: 120, wires: [['gauge-1', 'chart-2']] },
  { id: 'gauge-1', type: 'ui_gauge', z: 'tab-line3', group: 'ui-grp-1', x: 520, y: 120, wires: [] },
  { id: 'chart-2', type: 'ui-chart', z: 'tab-line3', group: 'ui-group-2', x: 520, y: 160, wires: [[]] },
  { id: 'http-1', type: 'http in', z: 'tab-line3', url: '/api/counters', method: 'get', x: 120, y: 240, wires: [['resp-1']] },
  { id: 'http-2', type: 'http in', z: 'tab-line3', url: '/api/reset', method: 'post', x: 120, y: 280, wires: [['resp-1']] },
  { id: 'resp-1', type: 'http response', z: 'tab-line3', x: 320, y: 260, wires: [] },
  { id: 'req-1', type: 'http request', z: 'tab-line3', method: 'GET', url: 'https://erp.example.com/api/orders?apikey=SECRET', x: 320, y: 320, wires: [[]] },
  { id: 'req-2', type: 'http request', z: 'tab-line3', method: 'use', url: '', x: 320, y: 360, wires: [[]] },
  { id: 'req-3', type: 'http request', z: 'tab-old', method: 'GET', url: 'http://{{{payload.host}}}/status', x: 320, y: 400, wires: [[]] },
];

test('a line\u2019s flows: tabs, HTTP endpoints, both dashboards and every connection its config nodes make', () => {
  const inventory = analyseFlows(line3);
  assert.deepEqual(inventory.tabs, [
    { id: 'tab-line3', label: 'Line 3 press', disabled: false, nodes: 11 },
    { id: 'tab-old', label: 'Old test', disabled: true, nodes: 1 },
  ]);
  assert.deepEqual(
    inventory.httpEndpoints.map((e) => `${e.method} ${e.url}`),
    ['GET /api/counters', 'POST /api/reset'],
  );
  assert.deepEqual(
    inventory.dashboards.map((d) => [d.package, d.kind, d.name, d.page, d.widgets]),
    [
      ['node-red-dashboard', 'page', 'Press', null, 0],
      ['node-red-dashboard', 'group', 'Counters', 'Press', 1],
      ['@flowfuse/node-red-dashboard', 'page', 'Overview', null, 0],
      ['@flowfuse/node-red-dashboard', 'group', 'OEE', 'Overview', 1],
    ],
  );
  const byId = new Map(inventory.connections.map((c) => [c.configNodeId, c]));
  assert.deepEqual(byId.get('modbus-press'), {
    configNodeId: 'modbus-press',
    nodeType: 'modbus-client',
    name: 'Press PLC',
    protocol: 'Modbus/TCP',
    host: '10.0.3.5',
    port: 502,
    source: 'literal',
    env: [],
    tls: null,
    usedBy: 1,
    tabId: null,
  });
  assert.equal(connectionKey(byId.get('modbus-press')!), 'Modbus/TCP 10.0.3.5:502');
  assert.deepEqual(
    [byId.get('broker-plant')!.protocol, byId.get('broker-plant')!.host, byId.get('broker-plant')!.port, byId.get('broker-plant')!.tls, byId.get('broker-plant')!.usedBy],
    ['MQTT', 'mqtt.plant.local', 8883, true, 2],
  );
  assert.deepEqual([byId.get('modbus-scale')!.protocol, byId.get('modbus-scale')!.host, byId.get('modbus-scale')!.port], ['Modbus/RTU', '/dev/ttyUSB0', null]);
  assert.deepEqual([byId.get('s7-1')!.protocol, byId.get('s7-1')!.host, byId.get('s7-1')!.port], ['S7', '10.0.3.30', 102]);
  assert.deepEqual([byId.get('influx-1')!.host, byId.get('influx-1')!.port], ['10.0.9.9', 8086]);
  assert.deepEqual([byId.get('influx-2')!.host, byId.get('influx-2')!.port, byId.get('influx-2')!.tls], ['influx.cloud.example', 8086, true]);
  assert.equal(byId.get('req-1')!.protocol, 'HTTPS');
  assert.equal(byId.get('req-1')!.tabId, 'tab-line3');
});

test('never a credential: user-info and query of a URL are dropped, and nothing of the credentials is read', () => {
  const inventory = analyseFlows(line3);
  const opc = inventory.connections.find((c) => c.configNodeId === 'opc-1')!;
  assert.deepEqual([opc.protocol, opc.host, opc.port, opc.tls], ['OPC UA', '10.0.3.20', 4840, true]);
  const text = JSON.stringify(inventory);
  for (const secret of ['operator', 'secret', 'SECRET', 'apikey', 'token=abc', '/UA/Press']) assert.ok(!text.includes(secret), `${secret} must not be in the inventory`);
});

test('addresses from environment variables or the message are reported as such, not guessed', () => {
  const byId = new Map(analyseFlows(line3).connections.map((c) => [c.configNodeId, c]));
  assert.deepEqual([byId.get('pg-1')!.source, byId.get('pg-1')!.env, byId.get('pg-1')!.host, byId.get('pg-1')!.port], ['env', ['PG_HOST'], null, 5432]);
  assert.deepEqual([byId.get('mysql-1')!.source, byId.get('mysql-1')!.env, byId.get('mysql-1')!.host, byId.get('mysql-1')!.port], ['env', ['DB_HOST', 'DB_PORT'], null, null]);
  assert.deepEqual([byId.get('req-2')!.source, byId.get('req-2')!.host], ['msg', null], 'an empty URL: msg.url decides');
  assert.deepEqual([byId.get('req-3')!.source, byId.get('req-3')!.host], ['msg', null], 'a mustache template: the message decides');
  assert.equal(connectionKey(byId.get('pg-1')!), null, 'nothing to draw a line to');
  const context = analyseFlows([{ id: 'p', type: 'postgreSQLConfig', host: 'dbHost', hostFieldType: 'global', port: '5432', portFieldType: 'num' }]).connections[0]!;
  assert.deepEqual([context.source, context.host], ['context', null]);
});

test('MQTT broker given as a URL (Node-RED 3), unused config nodes, and flows with nothing to report', () => {
  const [broker] = analyseFlows([{ id: 'b', type: 'mqtt-broker', broker: 'mqtts://user:pw@broker.example:8884', port: '1883' }]).connections;
  assert.deepEqual([broker!.host, broker!.port, broker!.tls, broker!.usedBy], ['broker.example', 8884, true, 0]);
  assert.deepEqual(analyseFlows([]), { tabs: [], httpEndpoints: [], dashboards: [], connections: [] });
  const odd = analyseFlows([{ id: 'm', type: 'modbus-client', clienttype: 'tcp', tcpHost: '', tcpPort: 'not a port' }]).connections[0]!;
  assert.deepEqual([odd.host, odd.port, odd.source], [null, null, 'literal']);
});
