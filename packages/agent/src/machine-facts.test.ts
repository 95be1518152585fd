import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { installedModuleVersions, machineFacts } from './machine-facts.ts';
import { createPlatformClient } from './platform-client.ts';

function write(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

test('the modules installed in the user directory, with the version installed, not the one asked for', () => {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-facts-'));
  try {
    assert.deepEqual(installedModuleVersions(userDir), [], 'nothing installed yet');
    write(path.join(userDir, 'package.json'), {
      name: 'node-red-project',
      dependencies: { 'node-red-contrib-modbus': '^5.40.0', 'node-red-dashboard': '3.6.5', 'listed-not-installed': '1.0.0' },
    });
    write(path.join(userDir, 'node_modules/node-red-contrib-modbus/package.json'), { name: 'node-red-contrib-modbus', version: '5.43.0', 'node-red': { nodes: {} } });
    write(path.join(userDir, 'node_modules/node-red-dashboard/package.json'), { name: 'node-red-dashboard', version: '3.6.5', 'node-red': { nodes: {} } });
    // Put there by hand, not in package.json: Node-RED loads it all the same.
    write(path.join(userDir, 'node_modules/@acme/node-red-s7/package.json'), { name: '@acme/node-red-s7', version: '1.2.3', 'node-red': { nodes: {} } });
    // A dependency of a module: installed, but not a Node-RED module of its own.
    write(path.join(userDir, 'node_modules/jsmodbus/package.json'), { name: 'jsmodbus', version: '4.0.6' });
    assert.deepEqual(installedModuleVersions(userDir), [
      { name: '@acme/node-red-s7', version: '1.2.3' },
      { name: 'node-red-contrib-modbus', version: '5.43.0' },
      { name: 'node-red-dashboard', version: '3.6.5' },
    ]);
    const facts = machineFacts(userDir, '4.1.8');
    assert.deepEqual(facts.os, { type: os.type(), release: os.release(), arch: os.arch() });
    assert.equal(facts.nodeVersion, process.version);
    assert.equal(facts.nodeRedVersion, '4.1.8');
    assert.equal(facts.modules.length, 3);
  } finally {
    fs.rmSync(userDir, { recursive: true, force: true });
  }
});

test('a device checking in to a platform older than the facts is refused once, then checks in without them', async () => {
  const bodies: Array<Record<string, unknown>> = [];
  // An older platform's check-in: a closed schema, so a field it does not know is a 400 naming it.
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      bodies.push(body);
      if ('facts' in body) {
        res.writeHead(400, { 'content-type': 'application/problem+json' });
        return void res.end(
          JSON.stringify({ type: 'validation', title: 'Invalid request', status: 400, detail: 'facts: must NOT have additional properties', errors: [{ field: 'facts' }] }),
        );
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ deviceId: 'd1', checkInSeconds: 30, generation: 0, target: null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = createPlatformClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'fgd_test', protocol: 'device' });
    const report = {
      state: 'running' as const,
      runningSnapshotId: null,
      runningHash: null,
      nodeRedPort: null,
      nodeRedVersion: '4.1.8',
      agentVersion: '0.1.0',
      error: null,
      facts: machineFacts(os.tmpdir(), '4.1.8'),
    };
    await client.postStatus(report, new AbortController().signal);
    await client.postStatus(report, new AbortController().signal);
    assert.deepEqual(
      bodies.map((b) => 'facts' in b),
      [true, false, false],
      'refused with the facts once, then without them from then on',
    );
  } finally {
    server.close();
  }
});
