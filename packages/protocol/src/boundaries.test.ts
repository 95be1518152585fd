import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

/**
 * The protocol has one owner: the platform and the agent share what they say to each other
 * through @flowgate/protocol, and neither imports the other (eslint.config.js), and every
 * workspace declares the workspaces it imports.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('workspace boundaries', () => {
  test('eslint refuses the platform importing the agent and the reverse; the protocol is allowed to both', async () => {
    // The files linted are made up: no tsconfig holds them, so the type-aware rules are off here.
    const eslint = new ESLint({
      cwd: root,
      overrideConfig: {
        languageOptions: { parserOptions: { projectService: false } },
        rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
      },
    });
    const refusals = async (file: string, code: string) =>
      (await eslint.lintText(code, { filePath: path.join(root, file) }))[0]!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
    assert.equal(await refusals('packages/server/src/features/x.ts', "import { TunnelSession } from '@flowgate/agent/tunnel';\nexport { TunnelSession };\n"), 1);
    assert.equal(await refusals('packages/server/src/features/x.ts', "import { startAgent } from '@flowgate/agent';\nexport { startAgent };\n"), 1);
    assert.equal(
      await refusals('packages/server/src/features/fleet/x.ts', "import { createEditorTunnel } from '../../../../agent/src/tunnel.ts';\nexport { createEditorTunnel };\n"),
      1,
    );
    assert.equal(await refusals('packages/agent/src/x.ts', "import { buildApp } from '@flowgate/server';\nexport { buildApp };\n"), 1);
    assert.equal(await refusals('packages/server/src/features/x.ts', "import { TunnelSession } from '@flowgate/protocol/tunnel';\nexport { TunnelSession };\n"), 0);
    assert.equal(await refusals('packages/agent/src/x.ts', "import { DesiredState } from '@flowgate/protocol';\nexport { DesiredState };\n"), 0);
  });

  test('every workspace declares the workspaces its code imports or resolves', () => {
    const packagesDir = path.join(root, 'packages');
    for (const name of fs.readdirSync(packagesDir)) {
      const manifestFile = path.join(packagesDir, name, 'package.json');
      if (!fs.existsSync(manifestFile)) continue;
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { name: string; dependencies?: Record<string, string> };
      const used = new Set<string>();
      const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          if (entry.name === 'node_modules' || entry.name === 'dist') continue;
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) walk(full);
          // This file's own examples are not imports.
          else if (/\.(ts|tsx|js|cjs|mjs)$/.test(entry.name) && full !== fileURLToPath(import.meta.url)) {
            for (const match of fs.readFileSync(full, 'utf8').matchAll(/(?:from |import\(|require\(|require\.resolve\()'(@flowgate\/[a-z-]+)/g)) used.add(match[1]!);
          }
        }
      };
      walk(path.join(packagesDir, name, 'src'));
      used.delete(manifest.name);
      const declared = Object.keys(manifest.dependencies ?? {});
      const undeclared = [...used].filter((dependency) => !declared.includes(dependency));
      assert.deepEqual(undeclared, [], `${manifest.name} uses ${undeclared.join(', ')} without declaring it`);
    }
  });
});
