import assert from 'node:assert/strict';
import { test } from 'node:test';
import { moduleAllowed, nodeRedPaletteLists, refusedModules } from './palette.ts';

test('empty lists allow every module', () => {
  assert.deepEqual(nodeRedPaletteLists({ allow: [], deny: [] }), { allowList: ['*'], denyList: [] });
  assert.equal(moduleAllowed('node-red-contrib-modbus', { allow: [], deny: [] }), true);
});

test('a deny list alone takes out what it names, patterns included', () => {
  const lists = { allow: [], deny: ['node-red-contrib-bad', '@evil/*'] };
  assert.equal(moduleAllowed('node-red-contrib-bad', lists), false);
  assert.equal(moduleAllowed('@evil/nodes', lists), false);
  assert.equal(moduleAllowed('node-red-contrib-badger', lists), true, 'a name is matched whole, not as a prefix');
  assert.equal(moduleAllowed('node-red-dashboard', lists), true);
});

test('a non-empty allow list allows only what it names; Node-RED gets a deny-all rule behind it', () => {
  const lists = { allow: ['node-red-dashboard', '@flowgate/*'], deny: [] };
  assert.deepEqual(nodeRedPaletteLists(lists), { allowList: ['node-red-dashboard', '@flowgate/*'], denyList: ['*'] });
  assert.equal(moduleAllowed('node-red-dashboard', lists), true);
  assert.equal(moduleAllowed('@flowgate/s7', lists), true);
  assert.equal(moduleAllowed('node-red-contrib-modbus', lists), false);
  // A dot is a dot, not any character (Node-RED's own pattern would let "nodexred" in).
  assert.equal(moduleAllowed('nodexred', { allow: ['node.red'], deny: [] }), false);
});

test('matched by both lists, the more specific rule wins', () => {
  const lists = { allow: ['node-red-contrib-*'], deny: ['node-red-contrib-bad', 'node-red-*'] };
  assert.equal(moduleAllowed('node-red-contrib-bad', lists), false, 'an exact deny beats a pattern allow');
  assert.equal(moduleAllowed('node-red-contrib-modbus', lists), true, 'the later wildcard of the allow rule beats node-red-*');
  assert.equal(moduleAllowed('node-red-dashboard', lists), false);
  assert.deepEqual(refusedModules([{ name: 'node-red-contrib-bad' }, { name: 'node-red-contrib-s7' }, { name: 'node-red-dashboard' }], lists), [
    'node-red-contrib-bad',
    'node-red-dashboard',
  ]);
});
