import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { renderRolesDoc, ROLES_DOC_PATH } from '../../../scripts/generate-roles-doc.ts';

test('docs/roles.md matches the permission catalogue in packages/core', () => {
  const committed = fs.existsSync(ROLES_DOC_PATH) ? fs.readFileSync(ROLES_DOC_PATH, 'utf8') : '';
  assert.ok(committed === renderRolesDoc(), 'docs/roles.md is stale: run npm run docs:roles');
});
