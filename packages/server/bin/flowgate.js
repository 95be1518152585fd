#!/usr/bin/env -S node --max-old-space-size=1024
// The heap cap is the one `npm start` runs with (docs/fleet.md, "Memory"): without it V8
// sizes the heap for the machine and lets it grow to four times the live data.
// Runs the TypeScript CLI through tsx, so there is no separate build step for the server.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
