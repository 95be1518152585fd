import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Where the other workspace packages live, found through module resolution rather than
 * relative paths, so the same code works from src/ (tsx) and from the bundle in dist/.
 */
const require = createRequire(import.meta.url);

export const AGENT_BIN = require.resolve('@flowgate/agent/bin');
export const AGENT_DIR = path.dirname(require.resolve('@flowgate/agent/package.json'));
export const WEB_DIST = path.join(path.dirname(require.resolve('@flowgate/web/package.json')), 'dist');
