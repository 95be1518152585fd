import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { NodeRedNode } from '@flowgate/core';
import { editorToken, spawnAgent, stopAgent } from './test-support/agent-harness.ts';
import type { RunningAgent } from './test-support/agent-harness.ts';
import { FakePlatform } from './test-support/fake-platform.ts';

/**
 * A hosted agent in a Kubernetes Pod (the server's kubernetes-driver.ts): Node-RED listens on
 * the Pod's address at the port the Pod's NetworkPolicy opens, since the platform's proxy
 * reaches it from another Pod. The real CLI and a real Node-RED; this machine's own network
 * address stands in for the Pod's.
 */

const flows: NodeRedNode[] = [{ id: 'tab', type: 'tab', label: 'Line' }];
const platform = new FakePlatform();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-agent-pod-'));
let agent: RunningAgent | undefined;

after(async () => {
  if (agent) await stopAgent(agent, 10_000);
  await platform.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("with FLOWGATE_AGENT_NODE_RED_HOST=0.0.0.0 and _PORT, Node-RED answers on the machine's own address at that port, behind the same token gate", async (t) => {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((candidate) => candidate && candidate.family === 'IPv4' && !candidate.internal)?.address;
  if (!address) return t.skip('this machine has no network address but loopback');
  await platform.start();
  const ref = platform.addSnapshot({ flows, credentials: null, settings: {}, env: [], modules: [] });
  platform.setTarget(ref);
  const port = await freePort();
  agent = spawnAgent({
    platformUrl: platform.url,
    token: platform.token,
    dir,
    env: { FLOWGATE_AGENT_NODE_RED_HOST: '0.0.0.0', FLOWGATE_AGENT_NODE_RED_PORT: String(port) },
  });
  const status = await platform.waitForStatus('running', (s) => s.state === 'running' && s.runningHash === ref.hash, 0, 60_000);
  assert.equal(status.nodeRedPort, port, 'the port the NetworkPolicy opens, reported as such');
  const url = `http://${address}:${port}${platform.settings.httpAdminRoot}flows`;
  const tokenless = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(tokenless.status, 401, 'reachable from outside the machine, and gated as on loopback');
  const withToken = await fetch(url, { headers: { authorization: `Bearer ${editorToken(platform, 'read')}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(withToken.status, 200);
  assert.deepEqual(await withToken.json(), flows);
});
