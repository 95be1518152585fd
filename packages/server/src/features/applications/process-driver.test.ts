import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registryAndProxyEnv } from './process-driver.ts';

test("the agent gets the platform's registry, proxy and CA settings, and nothing else of its environment", () => {
  const reachingNpm = {
    npm_config_registry: 'https://npm.plant.example/',
    'npm_config_@acme:registry': 'https://npm.acme.example/',
    npm_config_cafile: '/etc/ssl/plant-ca.pem',
    HTTPS_PROXY: 'http://proxy.plant.example:3128',
    no_proxy: 'localhost,127.0.0.1',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/plant-ca.pem',
  };
  // A registry token would be readable by the flows (Node-RED's process environment); the rest is the platform's own.
  const keptOut = {
    'npm_config_//npm.plant.example/:_authToken': 'npm-token-secret',
    npm_config_prefix: '/usr/local',
    FLOWGATE_MASTER_KEY: 'master-key-secret',
    DATABASE_URL: 'postgres://flowgate:pw@db/flowgate',
    PATH: '/usr/bin',
  };
  assert.deepEqual(registryAndProxyEnv({ ...reachingNpm, ...keptOut }), reachingNpm);
});
