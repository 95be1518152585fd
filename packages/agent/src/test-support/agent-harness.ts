import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mintEditorToken } from '../editor-token.ts';
import type { EditorPermissions } from '../editor-token.ts';
import type { FakePlatform } from './fake-platform.ts';

/** Runs the real agent CLI (bin/flowgate-agent.js) as a child process, as the server will. */

const BIN = fileURLToPath(new URL('../../bin/flowgate-agent.js', import.meta.url));

export type RunningAgent = {
  process: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export function spawnAgent(options: { platformUrl: string; token: string; dir: string; env?: Record<string, string> }): RunningAgent {
  const child = spawn(process.execPath, [BIN, '--platform', options.platformUrl, '--dir', options.dir], {
    // A clean environment: the token as the server passes it, nothing from the test runner.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FLOWGATE_AGENT_TOKEN: options.token, FLOWGATE_TEST_MARKER: 'must-not-reach-node-red', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (process.env.FLOWGATE_AGENT_TEST_VERBOSE) process.stderr.write(chunk);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { process: child, output, exited };
}

/**
 * Node-RED processes the agent `pid` runs (Linux /proc). Filtered by command line: tsx
 * may run an esbuild service as another child of the agent.
 */
export function nodeRedPids(pid: number): number[] {
  return childPids(pid).filter((child) => {
    try {
      return fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('node-red');
    } catch {
      return false;
    }
  });
}

export function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may contain spaces, inside parentheses).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export async function stopAgent(agent: RunningAgent, timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (agent.process.exitCode === null && agent.process.signalCode === null) agent.process.kill('SIGTERM');
  const timer = setTimeout(() => agent.process.kill('SIGKILL'), timeoutMs);
  const result = await agent.exited;
  clearTimeout(timer);
  return result;
}

export function editorToken(platform: FakePlatform, permissions: EditorPermissions, email = 'ada@example.com'): string {
  return mintEditorToken(platform.settings.editorTokenKey, {
    sub: `user-${email}`,
    email,
    name: email.split('@')[0]!,
    permissions,
    iid: platform.instanceId,
    exp: Math.floor(Date.now() / 1000) + 300,
  });
}

/** A request to the instance's Node-RED admin API, straight to its loopback port. */
export function admin(
  platform: FakePlatform,
  port: number,
  route: string,
  init: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`http://127.0.0.1:${port}${platform.settings.httpAdminRoot}${route}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(10_000),
  });
}
