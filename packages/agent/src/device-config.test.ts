import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentConfigError } from './config.ts';
import { loadDeviceConfig, PROVISION_FLAG_WARNING, readsTokenFromStdin } from './device.ts';

/** Where a device's provisioning token comes from: a file, standard input, the environment, or (warned about) the command line. */
describe("a device's provisioning token", () => {
  let dir: string;
  const platform = ['--platform', 'https://flowgate.example'];
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-device-config-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--token-file FILE: read from the file (a relative path from the working directory), its trailing newline dropped, no warning', () => {
    fs.writeFileSync(path.join(dir, 'token'), 'fgp_from-a-file\n', { mode: 0o600 });
    const warnings: string[] = [];
    const config = loadDeviceConfig([...platform, '--token-file', 'token', '--dir', 'agent'], {}, dir, { warn: (m) => warnings.push(m) });
    assert.equal(config?.provisionToken, 'fgp_from-a-file');
    assert.equal(config?.dir, path.join(dir, 'agent'));
    assert.deepEqual(warnings, []);
  });

  test('--token-file -: read from standard input, which the command line asks for', () => {
    assert.equal(readsTokenFromStdin(['--token-file', '-']), true);
    assert.equal(readsTokenFromStdin(['--token-file=-']), true);
    assert.equal(readsTokenFromStdin(['--token-file', 'token']), false);
    assert.equal(readsTokenFromStdin(['--name', '-']), false);
    const config = loadDeviceConfig([...platform, '--token-file', '-', '--dir', dir], {}, dir, { stdin: () => '  fgp_from-stdin\r\n' });
    assert.equal(config?.provisionToken, 'fgp_from-stdin');
  });

  test('--provision TOKEN still works, with a warning that says why and what to use', () => {
    const warnings: string[] = [];
    const config = loadDeviceConfig([...platform, '--provision', 'fgp_on-the-command-line', '--dir', dir], {}, dir, { warn: (m) => warnings.push(m) });
    assert.equal(config?.provisionToken, 'fgp_on-the-command-line');
    assert.deepEqual(warnings, [PROVISION_FLAG_WARNING]);
    assert.match(PROVISION_FLAG_WARNING, /every user of this machine can read it \(ps/);
    assert.match(PROVISION_FLAG_WARNING, /--token-file FILE, or pipe it in with --token-file -/);
  });

  test('FLOWGATE_AGENT_PROVISION: the environment, which ps does not show, without a warning', () => {
    const warnings: string[] = [];
    const config = loadDeviceConfig([...platform, '--dir', dir], { FLOWGATE_AGENT_PROVISION: 'fgp_from-env' }, dir, { warn: (m) => warnings.push(m) });
    assert.equal(config?.provisionToken, 'fgp_from-env');
    assert.deepEqual(warnings, []);
  });

  test('a missing or empty file, both flags at once, or no standard input are refused by name', () => {
    assert.throws(
      () => loadDeviceConfig([...platform, '--token-file', 'nowhere'], {}, dir),
      (err: Error) => err instanceof AgentConfigError && /cannot read nowhere \(ENOENT\)/.test(err.message),
    );
    fs.writeFileSync(path.join(dir, 'empty'), '\n');
    assert.throws(() => loadDeviceConfig([...platform, '--token-file', 'empty'], {}, dir), /empty holds no token/);
    assert.throws(() => loadDeviceConfig([...platform, '--token-file', '-'], {}, dir, { stdin: () => '' }), /standard input holds no token/);
    assert.throws(() => loadDeviceConfig([...platform, '--token-file', '-'], {}, dir), /standard input could not be read/);
    assert.throws(() => loadDeviceConfig([...platform, '--token-file', 'token', '--provision', 'fgp_x'], {}, dir), /--token-file or --provision, not both/);
    fs.writeFileSync(path.join(dir, 'other'), 'not-a-token\n');
    assert.throws(() => loadDeviceConfig([...platform, '--token-file', 'other'], {}, dir), /starts with fgp_/);
  });
});
