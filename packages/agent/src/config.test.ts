import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentConfigError, loadAgentConfig } from './config.ts';

const env = { FLOWGATE_AGENT_PLATFORM: 'http://127.0.0.1:3000/', FLOWGATE_AGENT_TOKEN: 'fgi_env', FLOWGATE_AGENT_DIR: 'data/agent' };

describe('agent configuration', () => {
  test('from the environment, the directory made absolute, the URL without a trailing slash', () => {
    assert.deepEqual(loadAgentConfig([], env, '/srv'), {
      platformUrl: 'http://127.0.0.1:3000',
      token: 'fgi_env',
      dir: '/srv/data/agent',
      nodeRedDir: null,
      nodeRedPort: null,
      nodeRedHost: '127.0.0.1',
    });
    assert.equal(loadAgentConfig([], { ...env, FLOWGATE_AGENT_NODE_RED_DIR: 'data/node-red' }, '/srv').nodeRedDir, '/srv/data/node-red', 'other Node-RED versions, when given');
  });

  test('flags win over the environment', () => {
    const config = loadAgentConfig(['--platform', 'https://flowgate.example.com/base/', '--token', 'fgi_flag', '--dir', '/var/lib/agent'], env, '/srv');
    assert.deepEqual(config, {
      platformUrl: 'https://flowgate.example.com/base',
      token: 'fgi_flag',
      dir: '/var/lib/agent',
      nodeRedDir: null,
      nodeRedPort: null,
      nodeRedHost: '127.0.0.1',
    });
  });

  test("in a Kubernetes Pod: Node-RED on the Pod's address at a fixed port, which the NetworkPolicy lets the platform reach", () => {
    const config = loadAgentConfig([], { ...env, FLOWGATE_AGENT_NODE_RED_HOST: '0.0.0.0', FLOWGATE_AGENT_NODE_RED_PORT: '1880' });
    assert.equal(config.nodeRedHost, '0.0.0.0');
    assert.equal(config.nodeRedPort, 1880);
    assert.throws(() => loadAgentConfig([], { ...env, FLOWGATE_AGENT_NODE_RED_PORT: '70000' }), /FLOWGATE_AGENT_NODE_RED_PORT must be a port/);
    assert.throws(() => loadAgentConfig([], { ...env, FLOWGATE_AGENT_NODE_RED_HOST: 'anywhere' }), /FLOWGATE_AGENT_NODE_RED_HOST must be an IP address/);
  });

  test('missing or wrong values are named', () => {
    assert.throws(() => loadAgentConfig([], {}), /missing FLOWGATE_AGENT_PLATFORM/);
    assert.throws(() => loadAgentConfig([], { ...env, FLOWGATE_AGENT_TOKEN: ' ' }), /missing FLOWGATE_AGENT_TOKEN/);
    assert.throws(() => loadAgentConfig([], { ...env, FLOWGATE_AGENT_PLATFORM: 'ftp://x' }), /http or https/);
    assert.throws(() => loadAgentConfig(['--verbose'], env), AgentConfigError);
  });
});
