/**
 * Opening the Node-RED editor in Chromium, on the real platform, agent and Node-RED: the
 * time from navigating to the editor until its workspace is ready (a flow tab shown and the
 * node definitions loaded: what e2e/ waits for before it touches the editor).
 *  - cold: a fresh browser context (nothing cached, no cookies but the session);
 *  - warm: the editor opened again, in a new tab of the same context;
 * through the platform's proxy (the front door, its redirect with the editor token, the
 * proxied assets and API, the WebSocket), against the same Node-RED straight on its
 * loopback port in the same run, with the same token on every request. The ratio is
 * platform / direct. Also counted: the requests that reached the platform for one open.
 *
 *   npm run bench -- editor-open
 *   FLOWGATE_BENCH_RUNS=7 npm run bench -- editor-open
 */
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext } from 'playwright-core';
import { fmt, line, machineNote, percentile } from './lib.ts';
import { setupAdmin, startTestApp } from '../packages/server/test/harness.ts';

const CHROMIUM = process.env.FLOWGATE_CHROMIUM ?? '/usr/bin/chromium';
const RUNS = Number(process.env.FLOWGATE_BENCH_RUNS ?? 5);
const OPEN_TIMEOUT = 60_000;

async function until(probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

line(`editor-open: ${machineNote()}`);
const t = await startTestApp('sqlite', { FLOWGATE_LOG_LEVEL: 'warn' });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  timeout: 30_000,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  let platformRequests = 0;
  t.app.server.on('request', () => platformRequests++);
  const admin = await setupAdmin(t);
  const teamId = (await admin.post('/api/teams', { name: 'Bench' })).json().id;
  const appId = (await admin.post(`/api/teams/${teamId}/applications`, { name: 'Bench' })).json().id;
  const [version] = (await admin.get('/api/node-red-versions')).json() as string[];
  const instanceId = (await admin.post(`/api/applications/${appId}/instances`, { name: 'bench', nodeRedVersion: version })).json().id as string;
  await until(async () => (await admin.get(`/api/instances/${instanceId}`)).json().status === 'running');
  const port = t.context.runtime.port(instanceId)!;
  const session = admin.cookie!.split('=');

  /** A browser context as a person's: through the platform with the session cookie; direct with the editor token on every request. */
  async function newContext(via: 'platform' | 'direct'): Promise<{ context: BrowserContext; url: string }> {
    if (via === 'platform') {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addCookies([{ name: session[0]!, value: session.slice(1).join('='), url: base }]);
      // What "Open editor" does: the platform's route, which signs the person in on the instance's own origin.
      return { context, url: `${base}/instances/${instanceId}/editor` };
    }
    const opened = await (await admin.onInstance(instanceId, 'editor')).get(`/instances/${instanceId}/editor/`);
    const token = /access_token=([^&]+)/.exec(String(opened.headers.location))![1]!;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
    return { context, url: `http://127.0.0.1:${port}/instances/${instanceId}/editor/?access_token=${token}` };
  }

  /** Milliseconds from navigation to a ready workspace, in a new tab of `context`, and the requests the platform saw meanwhile. */
  async function open(context: BrowserContext, url: string): Promise<{ ms: number; requests: number }> {
    const page = await context.newPage();
    const requestsBefore = platformRequests;
    const started = performance.now();
    await page.goto(url, { timeout: OPEN_TIMEOUT });
    await page.waitForFunction(
      () => {
        const red = (window as unknown as { RED?: { nodes?: { eachWorkspace?: (cb: () => void) => void; getType?: (type: string) => unknown } } }).RED;
        let tabs = 0;
        red?.nodes?.eachWorkspace?.(() => tabs++);
        return tabs > 0 && Boolean(red?.nodes?.getType?.('inject'));
      },
      undefined,
      { timeout: OPEN_TIMEOUT, polling: 20 },
    );
    const ms = performance.now() - started;
    const requests = platformRequests - requestsBefore;
    await page.close();
    return { ms, requests };
  }

  const times: Record<string, number[]> = { 'platform cold': [], 'platform warm': [], 'direct cold': [], 'direct warm': [] };
  const requests: Record<string, number[]> = { 'platform cold': [], 'platform warm': [] };
  // One open of each, not measured: Node-RED and the platform compile and cache on first use.
  for (const via of ['platform', 'direct'] as const) {
    const { context, url } = await newContext(via);
    await open(context, url);
    await context.close();
  }
  for (let i = 0; i < RUNS; i++) {
    // Alternated, so that the machine's load falls on both alike.
    for (const via of i % 2 ? (['direct', 'platform'] as const) : (['platform', 'direct'] as const)) {
      const { context, url } = await newContext(via);
      const cold = await open(context, url);
      const warm = await open(context, url);
      await context.close();
      times[`${via} cold`]!.push(cold.ms);
      times[`${via} warm`]!.push(warm.ms);
      if (via === 'platform') {
        requests['platform cold']!.push(cold.requests);
        requests['platform warm']!.push(warm.requests);
      }
    }
  }
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  for (const kind of ['cold', 'warm'] as const) {
    const platform = times[`platform ${kind}`]!;
    const direct = times[`direct ${kind}`]!;
    line(
      `editor open ${kind} (${kind === 'cold' ? 'fresh browser context' : 'again, new tab in the same context'}), navigation to a ready workspace, ${RUNS} runs each: through the platform p50 ${fmt(p50(platform))} ms (${platform.map((ms) => fmt(ms)).join(', ')}), Node-RED's own port p50 ${fmt(p50(direct))} ms (${direct.map((ms) => fmt(ms)).join(', ')}); ratio ${fmt(p50(platform) / p50(direct), 2)}`,
    );
    line(`  requests that reached the platform per ${kind} open: ${requests[`platform ${kind}`]!.join(', ')}`);
  }
} finally {
  await browser.close();
  await t.close();
}
