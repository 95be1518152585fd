import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { ConfigError, loadConfig } from '../../config.ts';
import type { InstanceLaunch } from './instance-driver.ts';
import {
  AGENT_UID,
  createKubernetesDriver,
  INSTANCE_DIR,
  instanceManifests,
  kubernetesDriverOptions,
  kubernetesName,
  NODE_RED_PORT,
  type KubernetesManifestSettings,
  type KubernetesObject,
} from './kubernetes-driver.ts';

/**
 * The Kubernetes driver. No cluster runs here: the manifests are checked against Kubernetes'
 * own schemas (kubernetes-models, generated from the API's OpenAPI document), and the driver's
 * calls against a small HTTP server standing in for the API server, which checks only the
 * requests (what is made, applied, read and deleted, in which order, with which credential),
 * not what a real cluster would do with them (scheduling, the NetworkPolicy's enforcement by
 * the network plugin, the kubelet's checks of the security context).
 */

const REPO = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../..');

const settings: KubernetesManifestSettings = {
  namespace: 'flowgate',
  agentImage: 'registry.plant.example/flowgate-agent:0.1.0',
  imagePullSecret: null,
  storageClass: null,
  defaultDiskMb: 1024,
  platformUrl: 'http://flowgate.flowgate.svc:3000',
  platformPodLabels: { 'app.kubernetes.io/name': 'flowgate' },
  platformNamespace: null,
  platformPort: 3000,
  extraEgress: [],
  agentEnv: { npm_config_registry: 'http://npm-mirror.flowgate.svc:4873/' },
};

const token = `fgi_${randomBytes(24).toString('base64url')}`;
const unlimited: InstanceLaunch = { instanceId: '0a6f0c1e-6a53-4c1b-9d61-3f1c7f0d2b9e', agentToken: token, resources: { memoryMb: null, cpuPercent: null, diskMb: null } };
const limited: InstanceLaunch = { ...unlimited, resources: { memoryMb: 512, cpuPercent: 50, diskMb: 2048 } };

/** Kubernetes' schema check of one object, by its kind: throws what it finds. */
function validate(object: unknown): void {
  const kind = (object as { kind?: string }).kind;
  const model = { Secret, PersistentVolumeClaim, Service, Pod, NetworkPolicy, Role, RoleBinding, ServiceAccount }[kind ?? ''];
  assert.ok(model, `no schema for kind ${kind}`);
  new model(object as never).validate();
}

/** The kubernetes-models type of each kind, with its module: for the check of unknown fields below. */
const TYPES: Record<string, [string, string]> = {
  Secret: ['ISecret', 'kubernetes-models/v1/Secret'],
  PersistentVolumeClaim: ['IPersistentVolumeClaim', 'kubernetes-models/v1/PersistentVolumeClaim'],
  Service: ['IService', 'kubernetes-models/v1/Service'],
  Pod: ['IPod', 'kubernetes-models/v1/Pod'],
  NetworkPolicy: ['INetworkPolicy', 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'],
  Role: ['IRole', 'kubernetes-models/rbac.authorization.k8s.io/v1/Role'],
  RoleBinding: ['IRoleBinding', 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding'],
  ServiceAccount: ['IServiceAccount', 'kubernetes-models/v1/ServiceAccount'],
};

/**
 * What the schemas leave out: a field Kubernetes does not know (a misspelt or misplaced
 * `readOnlyRootFilesystem` would be dropped by the API server, or refused under strict field
 * validation, and the Pod would run without it). Kubernetes' OpenAPI leaves its objects open,
 * so the schema check passes such a field; the TypeScript types generated from the same
 * document are closed, and the compiler's excess property check on an object literal finds
 * it at any depth. Each object is written as a literal of its kind's type in a file the
 * compiler reads from memory; the answer is the compiler's complaints.
 */
function unknownFields(objects: unknown[]): string[] {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'manifests-under-check.ts');
  const kinds = [...new Set(objects.map((o) => (o as { kind: string }).kind))];
  const source = [
    ...kinds.map((kind) => `import type { ${TYPES[kind]![0]} } from '${TYPES[kind]![1]}';`),
    ...objects.map((o, i) => `export const object${i}: ${TYPES[(o as { kind: string }).kind]![0]} = ${JSON.stringify(o)};`),
  ].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
// An RFC 1123 subdomain, as Secret and PersistentVolumeClaim names must be.
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Container = {
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  resources: { requests: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  ports: { containerPort: number }[];
  image: string;
};
type PodSpec = {
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
};
const podSpec = (object: KubernetesObject) => object.spec as PodSpec;

describe('the manifests', () => {
  test('the schemas catch a wrong manifest (the check is not one that passes anything)', () => {
    const pod = structuredClone(instanceManifests(settings, unlimited).pod);
    podSpec(pod).containers[0]!.securityContext.runAsNonRoot = 'yes';
    assert.throws(() => validate(pod), /runAsNonRoot/);
    const policy = structuredClone(instanceManifests(settings, unlimited).networkPolicy) as KubernetesObject & { spec: { policyTypes: unknown } };
    policy.spec.policyTypes = 'Ingress';
    assert.throws(() => validate(policy));
    // A field in the wrong place passes the schemas; the closed types find it.
    const misplaced = structuredClone(instanceManifests(settings, unlimited).pod) as KubernetesObject & { spec: Record<string, unknown> };
    misplaced.spec.readOnlyRootFilesystem = true;
    assert.doesNotThrow(() => validate(misplaced), 'the schemas leave objects open');
    assert.match(unknownFields([misplaced]).join('\n'), /readOnlyRootFilesystem"' does not exist in type 'IPodSpec'/);
  });

  test("every manifest is valid by Kubernetes' schemas, with and without limits and every option", () => {
    const everyOption: KubernetesManifestSettings = {
      ...settings,
      imagePullSecret: 'plant-registry',
      storageClass: 'fast-ssd',
      platformNamespace: 'flowgate-platform',
      extraEgress: [{ cidr: '10.20.0.0/16', port: 4873 }],
    };
    const all: KubernetesObject[] = [];
    for (const launch of [unlimited, limited, { ...limited, resources: { memoryMb: 64, cpuPercent: null, diskMb: null } }]) {
      for (const options of [settings, everyOption]) {
        const manifests = instanceManifests(options, launch);
        all.push(...Object.values(manifests));
        assert.deepEqual(Object.keys(manifests).sort(), ['networkPolicy', 'persistentVolumeClaim', 'pod', 'secret', 'service']);
        for (const object of Object.values(manifests)) {
          assert.doesNotThrow(() => validate(object), `${object.kind} ${object.metadata.name}`);
          assert.equal(object.metadata.namespace, 'flowgate');
        }
      }
    }
    assert.deepEqual(unknownFields(all), [], 'no field Kubernetes does not know');
  });

  test('the Pod runs unprivileged: non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp, no API token', () => {
    const spec = podSpec(instanceManifests(settings, limited).pod);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
    assert.deepEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: AGENT_UID, runAsGroup: AGENT_UID, fsGroup: AGENT_UID, seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(spec.containers.length, 1);
    assert.deepEqual(spec.containers[0]!.securityContext, {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test("the NetworkPolicy: in, only the platform's pods to Node-RED's port; out, only the platform's port and DNS", () => {
    const policy = instanceManifests(settings, unlimited).networkPolicy.spec as Record<string, unknown>;
    const instanceLabels = { 'flowgate/instance': kubernetesName(unlimited.instanceId) };
    assert.deepEqual(policy, {
      podSelector: { matchLabels: instanceLabels },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'flowgate' } } }], ports: [{ protocol: 'TCP', port: NODE_RED_PORT }] }],
      egress: [
        { to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'flowgate' } } }], ports: [{ protocol: 'TCP', port: 3000 }] },
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
    // The policy selects the Pod it is meant for, and the Service reaches the same Pod.
    const manifests = instanceManifests(settings, unlimited);
    assert.deepEqual(manifests.pod.metadata.labels['flowgate/instance'], instanceLabels['flowgate/instance']);
    assert.deepEqual((manifests.service.spec as { selector: unknown }).selector, instanceLabels);
    // The platform in a namespace of its own: its peers are named by namespace too, and an operator's extra destination is one rule more.
    const apart = instanceManifests({ ...settings, platformNamespace: 'flowgate-platform', extraEgress: [{ cidr: '10.20.0.0/16', port: 4873 }] }, unlimited).networkPolicy.spec as {
      ingress: { from: unknown[] }[];
      egress: { to: unknown[]; ports: unknown[] }[];
    };
    const platformPeer = {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'flowgate' } },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'flowgate-platform' } },
    };
    assert.deepEqual(apart.ingress[0]!.from, [platformPeer]);
    assert.deepEqual(apart.egress[0]!.to, [platformPeer]);
    assert.deepEqual(apart.egress[2], { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 4873 }] });
  });

  test("limits from the instance's resources: memory in Mi, a percent of a core in millicores, the disk as the volume's size", () => {
    const limitedManifests = instanceManifests(settings, limited);
    assert.deepEqual(podSpec(limitedManifests.pod).containers[0]!.resources, {
      requests: { memory: '512Mi', cpu: '500m' },
      limits: { memory: '512Mi', cpu: '500m' },
    });
    assert.deepEqual((limitedManifests.persistentVolumeClaim.spec as { resources: unknown }).resources, { requests: { storage: '2048Mi' } });
    // No limit of a kind: none set, and a request for the scheduler; no allowance: the default volume.
    const unlimitedManifests = instanceManifests(settings, unlimited);
    assert.deepEqual(podSpec(unlimitedManifests.pod).containers[0]!.resources, { requests: { memory: '256Mi', cpu: '100m' } });
    assert.deepEqual((unlimitedManifests.persistentVolumeClaim.spec as { resources: unknown }).resources, { requests: { storage: '1024Mi' } });
    // A limit below the default request lowers the request with it (a request above its limit is refused).
    const small = instanceManifests(settings, { ...unlimited, resources: { memoryMb: 64, cpuPercent: 5, diskMb: null } });
    assert.deepEqual(podSpec(small.pod).containers[0]!.resources, { requests: { memory: '64Mi', cpu: '50m' }, limits: { memory: '64Mi', cpu: '50m' } });
    assert.equal((instanceManifests({ ...settings, storageClass: 'fast-ssd' }, unlimited).persistentVolumeClaim.spec as { storageClassName: string }).storageClassName, 'fast-ssd');
  });

  test('the agent token is in the Secret only; the Pod reads it by reference', () => {
    const manifests = instanceManifests(settings, limited);
    const encoded = Buffer.from(token).toString('base64');
    assert.deepEqual(manifests.secret.data, { token: encoded });
    for (const [which, object] of Object.entries(manifests)) {
      if (which === 'secret') continue;
      const text = JSON.stringify(object);
      assert.ok(!text.includes(token) && !text.includes(encoded), `the token is not in the ${object.kind}`);
    }
    const container = podSpec(manifests.pod).containers[0]!;
    assert.deepEqual(
      container.env.find((e) => e.name === 'FLOWGATE_AGENT_TOKEN'),
      { name: 'FLOWGATE_AGENT_TOKEN', valueFrom: { secretKeyRef: { name: manifests.secret.metadata.name, key: 'token' } } },
    );
    // The agent's own variables, and Node-RED on the Pod's address at the port the NetworkPolicy opens.
    const plain = Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.deepEqual(plain, {
      npm_config_registry: 'http://npm-mirror.flowgate.svc:4873/',
      HOME: INSTANCE_DIR,
      FLOWGATE_AGENT_PLATFORM: 'http://flowgate.flowgate.svc:3000',
      FLOWGATE_AGENT_DIR: INSTANCE_DIR,
      FLOWGATE_AGENT_NODE_RED_HOST: '0.0.0.0',
      FLOWGATE_AGENT_NODE_RED_PORT: String(NODE_RED_PORT),
    });
    assert.deepEqual(container.ports, [{ name: 'node-red', containerPort: NODE_RED_PORT, protocol: 'TCP' }]);
    assert.deepEqual(podSpec(manifests.pod).volumes[0], { name: 'instance', persistentVolumeClaim: { claimName: manifests.persistentVolumeClaim.metadata.name } });
    // A new token makes a new Pod (its environment is read from the Secret only when it starts).
    const renewed = instanceManifests(settings, { ...limited, agentToken: `${token}x` });
    assert.notEqual(renewed.pod.metadata.annotations?.['flowgate/spec-hash'], manifests.pod.metadata.annotations?.['flowgate/spec-hash']);
  });

  test('names are valid DNS labels for any instance id, and two ids never share one', () => {
    const ids = [
      unlimited.instanceId,
      unlimited.instanceId.toUpperCase(),
      '',
      '-',
      '---',
      '9starts-with-a-digit',
      'Ünïcödé/インスタンス',
      'a'.repeat(500),
      `${'a'.repeat(500)}b`,
      'x.y_z',
      'x-y-z',
      '\u0000\n',
      ...Array.from({ length: 200 }, () => randomBytes(1 + Math.floor(Math.random() * 80)).toString('latin1')),
    ];
    const seen = new Map<string, string>();
    for (const id of ids) {
      const manifests = instanceManifests(settings, { ...unlimited, instanceId: id });
      for (const object of Object.values(manifests)) {
        // Services and Pods (a hostname) need a DNS label; the others a subdomain. All are labels here.
        assert.match(object.metadata.name, DNS_LABEL, `${object.kind} name for ${JSON.stringify(id)}`);
        assert.match(object.metadata.name, DNS_SUBDOMAIN);
        assert.ok(object.metadata.name.length <= 63);
        assert.equal(object.metadata.annotations?.['flowgate/instance-id'], id, 'the id itself, which a label cannot hold, is an annotation');
        validate(object);
      }
      const name = kubernetesName(id);
      assert.ok(!seen.has(name) || seen.get(name) === id, `${JSON.stringify(id)} and ${JSON.stringify(seen.get(name))} share ${name}`);
      seen.set(name, id);
    }
  });
});

describe('configuration', () => {
  const cluster = {
    FLOWGATE_INSTANCE_RUNTIME: 'kubernetes',
    FLOWGATE_KUBERNETES_AGENT_IMAGE: 'registry.plant.example/flowgate-agent:0.1.0',
    FLOWGATE_KUBERNETES_PLATFORM_URL: 'http://flowgate.flowgate.svc:3000/',
  };

  test('process by default; kubernetes with its image and the URL agents reach the platform at, the rest defaulting to the cluster it runs in', () => {
    assert.equal(loadConfig({}).instanceRuntime, 'process');
    assert.equal(loadConfig({}).kubernetes, null);
    const config = loadConfig(cluster);
    assert.equal(config.instanceRuntime, 'kubernetes');
    assert.deepEqual(config.kubernetes, {
      namespace: null,
      agentImage: 'registry.plant.example/flowgate-agent:0.1.0',
      imagePullSecret: null,
      storageClass: null,
      platformUrl: 'http://flowgate.flowgate.svc:3000',
      platformPodLabels: { 'app.kubernetes.io/name': 'flowgate' },
      platformNamespace: null,
      extraEgress: [],
      apiUrl: null,
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    });
    const all = loadConfig({
      ...cluster,
      FLOWGATE_KUBERNETES_NAMESPACE: 'flowgate-instances',
      FLOWGATE_KUBERNETES_STORAGE_CLASS: 'fast-ssd',
      FLOWGATE_KUBERNETES_PLATFORM_LABELS: 'app.kubernetes.io/name=flowgate,tier=platform',
      FLOWGATE_KUBERNETES_EXTRA_EGRESS: '10.20.0.0/16:4873, fd00::/8:443',
      FLOWGATE_KUBERNETES_API_URL: 'https://k8s.plant.example:6443',
      FLOWGATE_KUBERNETES_TOKEN_FILE: '/etc/flowgate/k8s-token',
    }).kubernetes;
    assert.equal(all?.namespace, 'flowgate-instances');
    assert.deepEqual(all?.platformPodLabels, { 'app.kubernetes.io/name': 'flowgate', tier: 'platform' });
    assert.deepEqual(all?.extraEgress, [
      { cidr: '10.20.0.0/16', port: 4873 },
      { cidr: 'fd00::/8', port: 443 },
    ]);
    assert.equal(all?.caFile, null, "outside the cluster, the system's CAs unless one is named");
  });

  test('a wrong or missing value is named, and Kubernetes settings without the kubernetes runtime are refused, not ignored', () => {
    const refused: [Record<string, string>, RegExp][] = [
      [{ FLOWGATE_INSTANCE_RUNTIME: 'docker' }, /must be process or kubernetes/],
      [{ FLOWGATE_KUBERNETES_NAMESPACE: 'flowgate' }, /FLOWGATE_KUBERNETES_NAMESPACE set, but FLOWGATE_INSTANCE_RUNTIME is not kubernetes/],
      [{ ...cluster, FLOWGATE_KUBERNETES_AGENT_IMAGE: '' }, /needs FLOWGATE_KUBERNETES_AGENT_IMAGE/],
      [{ ...cluster, FLOWGATE_KUBERNETES_PLATFORM_URL: '' }, /needs FLOWGATE_KUBERNETES_PLATFORM_URL/],
      [{ ...cluster, FLOWGATE_KUBERNETES_PLATFORM_URL: 'mqtt://x' }, /http:\/\/ or https:\/\//],
      [{ ...cluster, FLOWGATE_KUBERNETES_NAMESPACE: 'Flowgate' }, /FLOWGATE_KUBERNETES_NAMESPACE must be a Kubernetes name/],
      [{ ...cluster, FLOWGATE_KUBERNETES_PLATFORM_LABELS: 'app' }, /key=value/],
      [{ ...cluster, FLOWGATE_KUBERNETES_EXTRA_EGRESS: '10.0.0.0/33:80' }, /CIDR:port/],
      [{ ...cluster, FLOWGATE_KUBERNETES_EXTRA_EGRESS: 'registry.example:443' }, /CIDR:port/],
      [{ ...cluster, FLOWGATE_KUBERNETES_API_URL: 'https://k8s:6443' }, /needs FLOWGATE_KUBERNETES_TOKEN_FILE/],
    ];
    for (const [env, message] of refused)
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(env),
      );
  });

  test("the driver's options: files of the platform's machine are not handed to the Pod, and without a cluster the driver says why it cannot start", () => {
    const config = loadConfig(cluster).kubernetes!;
    const log = { info: () => {}, warn: () => {} };
    const options = kubernetesDriverOptions(config, {
      port: 3000,
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      agentEnv: { npm_config_registry: 'http://npm-mirror:4873/', NODE_EXTRA_CA_CERTS: '/etc/ssl/plant.pem', npm_config_cafile: '/etc/ssl/plant.pem' },
      defaultDiskMb: 2048,
      log,
    });
    assert.deepEqual(options.agentEnv, { npm_config_registry: 'http://npm-mirror:4873/' });
    assert.equal(options.connection.apiUrl, 'https://10.96.0.1:443');
    assert.equal(options.platformPort, 3000);
    assert.equal(options.defaultDiskMb, 2048, "the platform's own default disk (FLOWGATE_INSTANCE_DISK_MB)");
    const outside = createKubernetesDriver(kubernetesDriverOptions(config, { port: 3000, env: {}, agentEnv: {}, defaultDiskMb: 2048, log }));
    assert.match(outside.unavailable ?? '', /does not run in a Kubernetes cluster/);
    void outside.stopAll();
  });
});

describe('deploy/kubernetes and the agent image', () => {
  test("the platform's RBAC is valid by Kubernetes' schemas", () => {
    const documents = parseAllDocuments(fs.readFileSync(path.join(REPO, 'deploy/kubernetes/rbac.yaml'), 'utf8')).map((d) => d.toJS() as KubernetesObject);
    assert.deepEqual(
      documents.map((d) => d.kind),
      ['ServiceAccount', 'Role', 'RoleBinding'],
    );
    for (const document of documents) validate(document);
    assert.deepEqual(unknownFields(documents), []);
  });

  test('the Dockerfile: the Node 20 base, a non-root user of the id the Pod names, and everything it copies exists (Docker does not run here)', () => {
    const dockerfile = fs.readFileSync(path.join(REPO, 'packages/agent/Dockerfile'), 'utf8');
    const instructions = dockerfile
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const from = instructions.filter((line) => line.startsWith('FROM '));
    assert.ok(from.length > 0 && from.every((line) => /^FROM node:20-bookworm-slim\b/.test(line)), from.join('; '));
    const users = instructions.filter((line) => line.startsWith('USER '));
    assert.deepEqual(users, [`USER ${AGENT_UID}:${AGENT_UID}`], 'the last stage runs as the user the Pod names (runAsUser)');
    const ignored = fs.readFileSync(path.join(REPO, 'packages/agent/Dockerfile.dockerignore'), 'utf8');
    const copied = instructions.filter((line) => line.startsWith('COPY ') && !line.includes('--from='));
    assert.ok(copied.length > 0);
    for (const line of copied) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) {
        assert.ok(fs.existsSync(path.join(REPO, source)), `${source} (COPY) exists`);
        assert.ok(/^packages\/(agent|core|protocol)\/|^package(-lock)?\.json$/.test(source), `${source}: the agent and what it imports only, nothing of the platform`);
        assert.ok(ignored.includes(`!${source.replace(/\/$/, '')}`), `${source} is let into the build context (Dockerfile.dockerignore)`);
      }
    }
    assert.match(dockerfile, /ENTRYPOINT \["node", "\/app\/packages\/agent\/bin\/flowgate-agent\.js"\]/);
    assert.ok(fs.existsSync(path.join(REPO, 'packages/agent/bin/flowgate-agent.js')));
  });
});

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  body: KubernetesObject | null;
}

/**
 * Stands in for the API server: keeps the objects it is given by path, answers 404 for what it
 * has not, 409 for a second create, and lets a deleted Pod linger for one more read (its grace
 * period). It checks nothing a real API server would beyond that.
 */
async function standInApiServer(refuse: (method: string, path: string) => boolean = () => false) {
  const objects = new Map<string, KubernetesObject & { status?: { phase: string } }>();
  const lingering = new Set<string>();
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://api');
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as KubernetesObject) : null;
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body,
      });
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (refuse(req.method ?? '', url.pathname)) return answer(403, { kind: 'Status', code: 403, message: 'forbidden by the test' });
      const key = req.method === 'POST' ? `${url.pathname}/${body?.metadata.name}` : url.pathname;
      const existing = objects.get(key);
      if (req.method === 'GET') {
        if (!existing) return answer(404, { kind: 'Status', code: 404, message: 'not found' });
        if (lingering.has(key)) {
          lingering.delete(key);
          objects.delete(key);
          return answer(200, { ...existing, metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString() } });
        }
        return answer(200, existing);
      }
      if (req.method === 'POST') {
        if (existing) return answer(409, { kind: 'Status', code: 409, message: 'already exists' });
        objects.set(key, { ...body!, ...(body!.kind === 'Pod' ? { status: { phase: 'Running' } } : {}) });
        return answer(201, body);
      }
      if (req.method === 'PATCH') {
        objects.set(key, body!);
        return answer(existing ? 200 : 201, body);
      }
      if (req.method === 'DELETE') {
        if (!existing) return answer(404, { kind: 'Status', code: 404, message: 'not found' });
        if (key.includes('/pods/')) lingering.add(key);
        else objects.delete(key);
        return answer(200, { kind: 'Status', status: 'Success' });
      }
      answer(405, {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { objects, requests, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the driver against a stand-in API server (no cluster runs here: only the requests are checked)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowgate-k8s-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, 'service-account-token\n');

  test('start applies the Secret, volume, NetworkPolicy and Service, then makes the Pod; stop deletes them and waits for the Pod; removeFiles deletes the volume', async () => {
    const api = await standInApiServer();
    const warnings: string[] = [];
    const driver = createKubernetesDriver({
      ...settings,
      connection: { apiUrl: api.url, tokenFile, caFile: null },
      log: { info: () => {}, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
      resyncMs: 3_600_000,
      pollMs: 10,
    });
    try {
      assert.equal(driver.unavailable, null);
      const base = `/api/v1/namespaces/flowgate`;
      const name = kubernetesName(limited.instanceId);
      const podPath = `${base}/pods/${name}`;

      driver.start(limited);
      assert.equal(driver.isRunning(limited.instanceId), true, 'running, or about to be, from the start');
      await until(() => api.objects.has(podPath), 'the Pod');
      assert.deepEqual(
        api.requests.map((r) => `${r.method} ${r.path}`),
        [
          `PATCH ${base}/secrets/${name}-token`,
          `POST ${base}/persistentvolumeclaims`,
          `PATCH /apis/networking.k8s.io/v1/namespaces/flowgate/networkpolicies/${name}`,
          `PATCH ${base}/services/${name}`,
          `GET ${podPath}`,
          `POST ${base}/pods`,
        ],
      );
      for (const request of api.requests) {
        assert.equal(request.authorization, 'Bearer service-account-token', "the service account's token, read from its file");
        if (request.method === 'PATCH') {
          assert.equal(request.contentType, 'application/apply-patch+yaml', 'server-side apply');
          assert.equal(request.query.get('fieldManager'), 'flowgate');
        }
      }
      // What was sent is what instanceManifests makes, each valid; the token only in the Secret.
      const expected = instanceManifests(settings, limited);
      const sent = api.requests.filter((r) => r.body).map((r) => r.body!);
      assert.deepEqual(sent, [expected.secret, expected.persistentVolumeClaim, expected.networkPolicy, expected.service, expected.pod]);
      for (const object of sent) validate(object);
      assert.equal(driver.nodeRedHost(limited.instanceId), `${name}.flowgate.svc.cluster.local`);

      // Started again with the same launch (the platform resumes it): nothing is sent.
      const before = api.requests.length;
      driver.start(limited);
      await driver.resync();
      assert.equal(api.requests.slice(before).filter((r) => r.method !== 'GET').length, 0, 'a Pod that runs as it should is left alone');

      // Gone behind the driver's back (evicted, its node lost): made again at the next resync.
      api.objects.delete(podPath);
      await driver.resync();
      assert.ok(api.objects.has(podPath), 'the Pod is made again');
      // Ended for good (Failed): deleted and made again.
      api.objects.get(podPath)!.status = { phase: 'Failed' };
      await driver.resync();
      assert.equal(api.objects.get(podPath)?.status?.phase, 'Running');

      // A new token: a new Pod, since the old one read the token when it started.
      const renewed = { ...limited, agentToken: `${token}-renewed` };
      const beforeRenew = api.requests.length;
      driver.start(renewed);
      await until(() => api.requests.slice(beforeRenew).some((r) => r.method === 'POST' && r.path === `${base}/pods`), 'the new Pod');
      assert.ok(
        api.requests.slice(beforeRenew).some((r) => r.method === 'DELETE' && r.path === podPath),
        'the old Pod was deleted first',
      );

      const beforeStop = api.requests.length;
      await driver.stop(limited.instanceId);
      assert.equal(driver.isRunning(limited.instanceId), false);
      const stopping = api.requests.slice(beforeStop).map((r) => `${r.method} ${r.path}`);
      assert.equal(stopping[0], `DELETE ${podPath}`);
      assert.equal(
        (api.requests[beforeStop]!.body as unknown as { gracePeriodSeconds: number }).gracePeriodSeconds,
        15,
        'the agent has time to stop Node-RED and send its last reports',
      );
      assert.ok(stopping.filter((s) => s === `GET ${podPath}`).length >= 2, 'stop waits until the Pod is gone');
      assert.deepEqual(stopping.slice(-3), [
        `DELETE ${base}/services/${name}`,
        `DELETE /apis/networking.k8s.io/v1/namespaces/flowgate/networkpolicies/${name}`,
        `DELETE ${base}/secrets/${name}-token`,
      ]);
      assert.ok(!api.objects.has(podPath) && !api.objects.has(`${base}/secrets/${name}-token`), 'no Pod, and the token no longer in the cluster');
      assert.ok(api.objects.has(`${base}/persistentvolumeclaims/${name}-data`), "the instance's volume stays until it is deleted");

      await driver.removeFiles(limited.instanceId);
      assert.ok(!api.objects.has(`${base}/persistentvolumeclaims/${name}-data`));
      assert.deepEqual(warnings, []);

      // The Role in deploy/kubernetes/rbac.yaml grants exactly the verbs these requests need.
      const verbs = new Map<string, Set<string>>();
      for (const request of api.requests) {
        const resource = request.path.split('/')[request.path.startsWith('/apis/') ? 6 : 5]!;
        const verb = { GET: 'get', POST: 'create', DELETE: 'delete', PATCH: 'patch' }[request.method]!;
        const granted = verbs.get(resource) ?? new Set<string>();
        granted.add(verb);
        // A server-side apply makes what is missing: that is a create.
        if (verb === 'patch') granted.add('create');
        verbs.set(resource, granted);
      }
      const role = parseAllDocuments(fs.readFileSync(path.join(REPO, 'deploy/kubernetes/rbac.yaml'), 'utf8'))
        .map((d) => d.toJS() as KubernetesObject & { rules?: { resources: string[]; verbs: string[] }[] })
        .find((d) => d.kind === 'Role')!;
      const grantedByRole = new Map<string, Set<string>>();
      for (const rule of role.rules ?? []) for (const resource of rule.resources) grantedByRole.set(resource, new Set(rule.verbs));
      assert.deepEqual(Object.fromEntries([...grantedByRole].map(([k, v]) => [k, [...v].sort()])), Object.fromEntries([...verbs].map(([k, v]) => [k, [...v].sort()])));
    } finally {
      await driver.stopAll();
      await api.close();
    }
  });

  test('a Pod left by an earlier platform from other values is replaced; the token file is read at every request; stopAll stops every instance', async () => {
    const api = await standInApiServer();
    const warnings: string[] = [];
    const driver = createKubernetesDriver({
      ...settings,
      connection: { apiUrl: api.url, tokenFile, caFile: null },
      log: { info: () => {}, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
      resyncMs: 3_600_000,
      pollMs: 10,
    });
    try {
      fs.writeFileSync(tokenFile, 'rotated-token\n');
      // A Pod of this name already there, made from other values (an older platform's): replaced.
      const name = kubernetesName(unlimited.instanceId);
      api.objects.set(`/api/v1/namespaces/flowgate/pods/${name}`, {
        ...instanceManifests(settings, unlimited).pod,
        metadata: { ...instanceManifests(settings, unlimited).pod.metadata, annotations: {} },
      });
      driver.start(unlimited);
      driver.start({ ...limited, instanceId: 'second' });
      await until(() => api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/pods')).length === 2, 'both Pods');
      assert.ok(
        api.requests.every((r) => r.authorization === 'Bearer rotated-token'),
        'the token file is read at every request (a projected token rotates)',
      );
      assert.equal(
        (api.objects.get(`/api/v1/namespaces/flowgate/pods/${name}`)?.metadata.annotations ?? {})['flowgate/spec-hash'],
        instanceManifests(settings, unlimited).pod.metadata.annotations?.['flowgate/spec-hash'],
      );
      await driver.stopAll();
      assert.equal(driver.isRunning(unlimited.instanceId), false);
      assert.equal(driver.isRunning('second'), false);
      assert.equal([...api.objects.keys()].filter((k) => k.includes('/pods/')).length, 0);
      driver.start(unlimited);
      assert.equal(driver.isRunning(unlimited.instanceId), false, 'nothing starts once the platform stops');
      assert.deepEqual(warnings, []);
    } finally {
      fs.writeFileSync(tokenFile, 'service-account-token\n');
      await driver.stopAll();
      await api.close();
    }
  });

  test('a refused request is logged and the start tried again at the next resync; without a readable token file the driver says why it cannot start', async () => {
    let refusing = true;
    const api = await standInApiServer((method, requestPath) => refusing && method === 'PATCH' && requestPath.includes('/secrets/'));
    const warnings: string[] = [];
    const reported: [string, string][] = [];
    const driver = createKubernetesDriver({
      ...settings,
      connection: { apiUrl: api.url, tokenFile, caFile: null },
      log: { info: () => {}, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
      report: (instanceId, message) => reported.push([instanceId, message]),
      resyncMs: 3_600_000,
      pollMs: 10,
    });
    const podPath = `/api/v1/namespaces/flowgate/pods/${kubernetesName(unlimited.instanceId)}`;
    try {
      driver.start(unlimited);
      await until(() => warnings.length > 0, 'the warning');
      assert.match(warnings[0]!, /Kubernetes API answered 403 \(forbidden by the test\)/);
      assert.ok(!api.objects.has(podPath));
      assert.deepEqual(
        reported,
        [[unlimited.instanceId, `applying Secret ${kubernetesName(unlimited.instanceId)}-token: the Kubernetes API answered 403 (forbidden by the test)`]],
        "told to the instance's own log",
      );
      assert.equal(driver.isRunning(unlimited.instanceId), true, 'still meant to run: about to be started again');
      refusing = false;
      await driver.resync();
      assert.ok(api.objects.has(podPath), 'made at the next resync');
    } finally {
      await driver.stopAll();
      await api.close();
    }
    const unreadable = createKubernetesDriver({
      ...settings,
      connection: { apiUrl: api.url, tokenFile: path.join(dir, 'missing'), caFile: null },
      log: { info: () => {}, warn: () => {} },
    });
    assert.match(unreadable.unavailable ?? '', /token file .* cannot be read/);
    unreadable.start(unlimited);
    assert.equal(unreadable.isRunning(unlimited.instanceId), false);
    await unreadable.stopAll();
  });
});
