#!/usr/bin/env node
// Runs the TypeScript agent through tsx, as packages/server/bin/flowgate.js runs the server: no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
