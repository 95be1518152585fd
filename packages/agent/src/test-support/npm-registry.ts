import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * An npm registry of a few packages on 127.0.0.1, for tests that install node modules:
 * the real npm client fetches from it (npm_config_registry), so what is tested is npm's
 * install and Node-RED's loading of what it installed, without the public registry.
 * It answers what an install needs: a package's document and its tarballs.
 */

type Published = { manifest: Record<string, unknown>; tarball: Buffer };

export class LocalNpmRegistry {
  private readonly packages = new Map<string, Map<string, Published>>();
  private server: http.Server | null = null;
  /** Paths asked for, in order (a test can tell whether npm came at all). */
  readonly requests: string[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Publishes `name@version` with `files` (package.json is made from `manifest`). */
  publish(name: string, version: string, files: Record<string, string>, manifest: Record<string, unknown> = {}): void {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-npm-pack-'));
    try {
      const packageDir = path.join(work, 'package');
      fs.mkdirSync(packageDir);
      const packageJson = { name, version, ...manifest };
      fs.writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify(packageJson));
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(packageDir, file), text);
      const tarballFile = path.join(work, 'package.tgz');
      execFileSync('tar', ['-czf', tarballFile, '-C', work, 'package']);
      const tarball = fs.readFileSync(tarballFile);
      const versions = this.packages.get(name) ?? new Map<string, Published>();
      versions.set(version, { manifest: packageJson, tarball });
      this.packages.set(name, versions);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /** A Node-RED node module with one node type that passes messages through. */
  publishNodeRedNode(name: string, version: string, type: string): void {
    const js = `module.exports = function (RED) {
  function Node(config) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg, send, done) => { send(msg); done(); });
  }
  RED.nodes.registerType(${JSON.stringify(type)}, Node);
};
`;
    const html = `<script type="text/javascript">
RED.nodes.registerType(${JSON.stringify(type)}, { category: 'function', color: '#a6bbcf', defaults: { name: { value: '' } }, inputs: 1, outputs: 1, label() { return this.name || ${JSON.stringify(type)}; } });
</script>
`;
    this.publish(name, version, { 'node.js': js, 'node.html': html }, { keywords: ['node-red'], 'node-red': { nodes: { [type]: 'node.js' } } });
  }

  private tarballName(name: string, version: string): string {
    return `${name.split('/').at(-1)}-${version}.tgz`;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://registry').pathname);
    this.requests.push(pathname);
    const tarball = /^\/(.+)\/-\/[^/]+-(\d[^/]*)\.tgz$/.exec(pathname);
    if (tarball) {
      const published = this.packages.get(tarball[1]!)?.get(tarball[2]!);
      if (!published) return this.notFound(res);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': published.tarball.length });
      return void res.end(published.tarball);
    }
    const name = pathname.slice(1);
    const versions = this.packages.get(name);
    if (!versions) return this.notFound(res);
    const document = {
      name,
      'dist-tags': { latest: [...versions.keys()].at(-1) },
      versions: Object.fromEntries(
        [...versions].map(([version, published]) => [
          version,
          {
            ...published.manifest,
            dist: {
              tarball: `${this.url}${name}/-/${this.tarballName(name, version)}`,
              shasum: createHash('sha1').update(published.tarball).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(published.tarball).digest('base64')}`,
            },
          },
        ]),
      ),
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(document));
  }

  private notFound(res: http.ServerResponse): void {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not_found' }));
  }
}
