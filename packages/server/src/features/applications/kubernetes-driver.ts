import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { SERVICE_ACCOUNT_DIR, type KubernetesConfig } from '../../config.ts';
import type { InstanceDriver, InstanceLaunch, InstanceResources } from './instance-driver.ts';

/**
 * The `kubernetes` instance driver (instance-driver.ts): each hosted instance's agent runs in a
 * Pod of its own, from the agent image (packages/agent/Dockerfile), for installations that
 * outgrow one machine. docs/kubernetes.md is the operator's side of this file.
 *
 * Per instance, in one namespace, all named from the instance id (kubernetesName):
 *
 * - a Secret holding its agent token, which the Pod reads by reference (the token is never
 *   written into the Pod's spec, which anyone who may read Pods could read);
 * - a PersistentVolumeClaim, its directory (Node-RED's files, the agent's state), of the size
 *   of its disk allowance; kept across stops, deleted with the instance (removeFiles);
 * - a NetworkPolicy: in, only the platform's pods to Node-RED's port; out, only the platform's
 *   pods on the platform's port and the cluster's DNS (plus what the operator adds);
 * - a headless Service, so the platform reaches the Pod by a stable name (nodeRedHost);
 * - the Pod, non-root on a read-only root filesystem, no privilege escalation, no capabilities,
 *   the runtime's seccomp profile, no service-account token, its limits from InstanceResources.
 *
 * Why a bare Pod and not a StatefulSet or a Deployment: the platform already decides when an
 * instance runs, so a controller would be a second owner racing the driver on every stop; the
 * agent token allows one agent at a time, which a Pod the driver deletes before it makes the
 * next keeps (a Deployment's rolling update would run two on one volume); and the platform's
 * Role then needs the core API and NetworkPolicies only. The kubelet restarts the agent in place
 * when it exits (restartPolicy Always); a Pod that is gone or ended for good (evicted, its node
 * lost) is made again by the driver's resync.
 */

/** The port Node-RED listens on in every Pod: the one its NetworkPolicy opens to the platform. */
export const NODE_RED_PORT = 1880;
/** Where the instance's volume is mounted: the agent's directory, and its HOME (npm's cache). */
export const INSTANCE_DIR = '/var/lib/flowgate/instance';
/** The agent image's user (packages/agent/Dockerfile): named here too so the kubelet can check it is not root. */
export const AGENT_UID = 10001;
/** The field manager of the driver's server-side applies. */
const FIELD_MANAGER = 'flowgate';
/** Every object the driver makes carries these; `INSTANCE_LABEL` names which instance's it is. */
const MANAGED_LABELS = { 'app.kubernetes.io/name': 'flowgate-instance', 'app.kubernetes.io/managed-by': 'flowgate' } as const;
export const INSTANCE_LABEL = 'flowgate/instance';
/** The instance's own id, which a label value may not hold (any length, any character). */
const INSTANCE_ID_ANNOTATION = 'flowgate/instance-id';
/** What the Pod was made from: a Pod is immutable, so one made from other values is made again. */
const SPEC_HASH_ANNOTATION = 'flowgate/spec-hash';
/** Requests where InstanceResources sets no limit: what the scheduler counts for an instance. */
const DEFAULT_REQUESTS = { memory: '256Mi', cpu: '100m' } as const;
/** /tmp (npm, Node-RED's nodes): the root filesystem is read only. */
const TMP_SIZE_LIMIT = '256Mi';
/** The agent stops Node-RED and sends its last reports within this (SHUTDOWN_NODE_RED_MS + SHUTDOWN_FLUSH_MS, and margin). */
const STOP_GRACE_SECONDS = 15;

export interface KubernetesEgress {
  /** An address range (CIDR) the instances may reach, e.g. an npm registry mirror. */
  cidr: string;
  port: number;
}

/** What the manifests are made from (config.ts: Config['kubernetes'], and the platform's port). */
export interface KubernetesManifestSettings {
  namespace: string;
  agentImage: string;
  /** A Secret of type dockerconfigjson in the namespace, for a private registry; null: none. */
  imagePullSecret: string | null;
  /** null: the cluster's default StorageClass. */
  storageClass: string | null;
  /** The volume's size where the instance has no disk allowance. */
  defaultDiskMb: number;
  /** Where agents reach the platform: its Service's URL (http://flowgate.flowgate.svc:3000). */
  platformUrl: string;
  /** Labels of the platform's own pods: the only peers the NetworkPolicy allows. */
  platformPodLabels: Record<string, string>;
  /** The platform's namespace where it is not the instances'; null: the same. */
  platformNamespace: string | null;
  /**
   * The port the platform's pods listen on (FLOWGATE_PORT). A NetworkPolicy sees the traffic
   * after the Service has sent it to a pod, so it names the pod's port, not the Service's.
   */
  platformPort: number;
  /** Destinations beyond the platform and DNS: none by default, so flows reach nothing else. */
  extraEgress: KubernetesEgress[];
  /** The platform's registry and proxy variables (process-driver.ts, registryAndProxyEnv), for npm in the Pod. */
  agentEnv: Record<string, string>;
}

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface InstanceManifests {
  secret: KubernetesObject;
  persistentVolumeClaim: KubernetesObject;
  networkPolicy: KubernetesObject;
  service: KubernetesObject;
  pod: KubernetesObject;
}

/**
 * The base name of an instance's objects: a DNS label (RFC 1035: lower case letters, digits and
 * hyphens, a letter first, at most 63 with the longest suffix, `-token`) for any instance id.
 * The id's readable part is kept for people running kubectl; the hash of the whole id keeps two
 * ids that read the same once lower-cased or cut apart.
 */
export function kubernetesName(instanceId: string): string {
  const readable = instanceId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 36)
    .replace(/^-+|-+$/g, '');
  const hash = createHash('sha256').update(instanceId).digest('hex').slice(0, 10);
  return readable ? `fg-${readable}-${hash}` : `fg-${hash}`;
}

const names = (instanceId: string) => {
  const base = kubernetesName(instanceId);
  return { pod: base, service: base, networkPolicy: base, secret: `${base}-token`, persistentVolumeClaim: `${base}-data` };
};

/** Kubernetes quantities from InstanceResources: MiB as `Mi`, a percent of a core as millicores. */
export function resourceRequirements(resources: InstanceResources): { requests: Record<string, string>; limits: Record<string, string> } {
  const limits: Record<string, string> = {};
  if (resources.memoryMb !== null) limits.memory = `${resources.memoryMb}Mi`;
  if (resources.cpuPercent !== null) limits.cpu = `${resources.cpuPercent * 10}m`;
  // A request above its limit is refused: where there is a limit, the request is the limit (the
  // instance gets what it may use: with both, the Pod's QoS class is Guaranteed).
  return { requests: { ...DEFAULT_REQUESTS, ...limits }, limits };
}

/** The manifests of one instance's objects. Pure: what the driver applies, what the tests validate. */
export function instanceManifests(settings: KubernetesManifestSettings, launch: InstanceLaunch): InstanceManifests {
  const name = names(launch.instanceId);
  const metadata = (objectName: string) => ({
    name: objectName,
    namespace: settings.namespace,
    labels: { ...MANAGED_LABELS, [INSTANCE_LABEL]: kubernetesName(launch.instanceId) },
    annotations: { [INSTANCE_ID_ANNOTATION]: launch.instanceId },
  });
  const instanceSelector = { [INSTANCE_LABEL]: kubernetesName(launch.instanceId) };
  const platformPeer = {
    podSelector: { matchLabels: settings.platformPodLabels },
    ...(settings.platformNamespace ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.platformNamespace } } } : {}),
  };

  const secret: KubernetesObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(name.secret),
    type: 'Opaque',
    data: { token: Buffer.from(launch.agentToken, 'utf8').toString('base64') },
  };

  const diskMb = launch.resources.diskMb ?? settings.defaultDiskMb;
  const persistentVolumeClaim: KubernetesObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata(name.persistentVolumeClaim),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: `${diskMb}Mi` } },
      ...(settings.storageClass ? { storageClassName: settings.storageClass } : {}),
    },
  };

  const networkPolicy: KubernetesObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(name.networkPolicy),
    spec: {
      podSelector: { matchLabels: instanceSelector },
      policyTypes: ['Ingress', 'Egress'],
      // The platform's proxy (editor, endpoints) to Node-RED; nothing else in, not even other instances.
      ingress: [{ from: [platformPeer], ports: [{ protocol: 'TCP', port: NODE_RED_PORT }] }],
      egress: [
        // The agent API, with the instance's token.
        { to: [platformPeer], ports: [{ protocol: 'TCP', port: settings.platformPort }] },
        // The platform's Service name has to resolve.
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        ...settings.extraEgress.map((egress) => ({ to: [{ ipBlock: { cidr: egress.cidr } }], ports: [{ protocol: 'TCP', port: egress.port }] })),
      ],
    },
  };

  const service: KubernetesObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(name.service),
    spec: {
      // Headless: the name resolves to the Pod's own address, so the platform reaches whichever
      // port the agent reports (Node-RED's, NODE_RED_PORT unless it was taken).
      clusterIP: 'None',
      selector: instanceSelector,
      // The platform learns the port from the agent once Node-RED runs; no readiness to wait for.
      publishNotReadyAddresses: true,
      ports: [{ name: 'node-red', protocol: 'TCP', port: NODE_RED_PORT, targetPort: NODE_RED_PORT }],
    },
  };

  const { requests, limits } = resourceRequirements(launch.resources);
  const env = [
    // Only what the agent needs; the Pod gets nothing else of the platform's environment.
    ...Object.entries(settings.agentEnv).map(([envName, value]) => ({ name: envName, value })),
    { name: 'HOME', value: INSTANCE_DIR },
    { name: 'FLOWGATE_AGENT_PLATFORM', value: settings.platformUrl },
    { name: 'FLOWGATE_AGENT_TOKEN', valueFrom: { secretKeyRef: { name: name.secret, key: 'token' } } },
    { name: 'FLOWGATE_AGENT_DIR', value: INSTANCE_DIR },
    { name: 'FLOWGATE_AGENT_NODE_RED_HOST', value: '0.0.0.0' },
    { name: 'FLOWGATE_AGENT_NODE_RED_PORT', value: String(NODE_RED_PORT) },
  ];
  const podSpec = {
    // The Pod has nothing to ask of the Kubernetes API: no token for a flow to find.
    automountServiceAccountToken: false,
    // No variables naming the namespace's other Services (a map of what is there).
    enableServiceLinks: false,
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: STOP_GRACE_SECONDS,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: AGENT_UID,
      runAsGroup: AGENT_UID,
      // The volume is given to the agent's group, so a non-root agent can write its directory.
      fsGroup: AGENT_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(settings.imagePullSecret ? { imagePullSecrets: [{ name: settings.imagePullSecret }] } : {}),
    containers: [
      {
        name: 'agent',
        image: settings.agentImage,
        env,
        ports: [{ name: 'node-red', containerPort: NODE_RED_PORT, protocol: 'TCP' }],
        resources: Object.keys(limits).length > 0 ? { requests, limits } : { requests },
        securityContext: {
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        volumeMounts: [
          { name: 'instance', mountPath: INSTANCE_DIR },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
    ],
    volumes: [
      { name: 'instance', persistentVolumeClaim: { claimName: name.persistentVolumeClaim } },
      { name: 'tmp', emptyDir: { sizeLimit: TMP_SIZE_LIMIT } },
    ],
  };
  // The token's hash, not the token: a new token (the Secret changed) needs a new Pod, since the
  // kubelet reads an environment variable from a Secret only when the container starts.
  const specHash = createHash('sha256').update(JSON.stringify(podSpec)).update(createHash('sha256').update(launch.agentToken).digest('hex')).digest('hex').slice(0, 32);
  const podMetadata = metadata(name.pod);
  const pod: KubernetesObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...podMetadata, annotations: { ...podMetadata.annotations, [SPEC_HASH_ANNOTATION]: specHash } },
    spec: podSpec,
  };

  return { secret, persistentVolumeClaim, networkPolicy, service, pod };
}

/** Where a manifest's object lives in the API. */
function objectPath(object: Pick<KubernetesObject, 'kind' | 'metadata'>): string {
  const { namespace, name } = object.metadata;
  const ns = encodeURIComponent(namespace);
  const plural = { Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims', Service: 'services', Pod: 'pods', NetworkPolicy: 'networkpolicies' }[object.kind];
  if (!plural) throw new Error(`not an object the driver makes: ${object.kind}`);
  const group = object.kind === 'NetworkPolicy' ? '/apis/networking.k8s.io/v1' : '/api/v1';
  return `${group}/namespaces/${ns}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/**
 * How the driver reaches the API server. In a cluster: https://$KUBERNETES_SERVICE_HOST:$PORT with
 * the service account's token and CA; else the configured URL, token file and CA.
 */
export interface KubernetesConnection {
  apiUrl: string;
  /** Read at every request: a projected service-account token is rotated while the platform runs. */
  tokenFile: string;
  /** PEM; null: the system's CAs (or plain http, for a test's stand-in). */
  caFile: string | null;
}

/** The API server's URL inside a cluster, from the variables the kubelet sets; null outside one. */
export function inClusterApiUrl(env: Record<string, string | undefined>): string | null {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) return null;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface KubernetesResponse {
  status: number;
  body: unknown;
}

export class KubernetesApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const message = body && typeof body === 'object' && 'message' in body && typeof body.message === 'string' ? body.message : '';
    super(`${what}: the Kubernetes API answered ${status}${message ? ` (${message})` : ''}`);
  }
}

/**
 * One request to the API server. node:https rather than fetch: Node's fetch takes no CA of its
 * own per request, and the cluster's CA is not the system's.
 */
export function kubernetesRequest(connection: KubernetesConnection, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubernetesResponse> {
  const url = new URL(path, connection.apiUrl);
  const token = fs.readFileSync(connection.tokenFile, 'utf8').trim();
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (payload) {
    headers['content-type'] = contentType;
    headers['content-length'] = String(payload.length);
  }
  const options: https.RequestOptions = { method, headers, timeout: 30_000 };
  if (url.protocol === 'https:' && connection.caFile) options.ca = fs.readFileSync(connection.caFile);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: kept as text for the error message
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`the Kubernetes API did not answer ${method} ${url.pathname} within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface KubernetesDriverOptions extends KubernetesManifestSettings {
  connection: KubernetesConnection;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** A failed request, told to the instance's own log (the runtime's recent lines, which its page shows); the platform's log has it too. */
  report?(instanceId: string, message: string): void;
  /** How often the driver looks for Pods that should run and do not (evicted, deleted, node lost). */
  resyncMs?: number;
  /** How often a stop looks whether the Pod is gone yet. */
  pollMs?: number;
  /** The cluster's DNS domain, for nodeRedHost. */
  clusterDomain?: string;
}

/**
 * The driver's options from the platform's configuration: what the wiring (app.ts) passes to
 * createKubernetesDriver. In the cluster, the API server, the namespace, token and CA are the
 * service account's unless configured.
 */
export function kubernetesDriverOptions(
  config: KubernetesConfig,
  platform: {
    port: number;
    env: Record<string, string | undefined>;
    agentEnv: Record<string, string>;
    /** The platform's own default disk of an instance (FLOWGATE_INSTANCE_DISK_MB): one default, whatever runs the instance. */
    defaultDiskMb: number;
    log: KubernetesDriverOptions['log'];
  },
): KubernetesDriverOptions {
  let namespace = config.namespace;
  if (namespace === null) {
    try {
      namespace = fs.readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim();
    } catch {
      namespace = ''; // the driver says so (unavailable)
    }
  }
  return {
    namespace,
    agentImage: config.agentImage,
    imagePullSecret: config.imagePullSecret,
    storageClass: config.storageClass,
    defaultDiskMb: platform.defaultDiskMb,
    platformUrl: config.platformUrl,
    platformPodLabels: config.platformPodLabels,
    platformNamespace: config.platformNamespace,
    platformPort: platform.port,
    extraEgress: config.extraEgress,
    // Files on the platform's machine mean nothing in a Pod: only the registry and proxy settings go.
    agentEnv: Object.fromEntries(Object.entries(platform.agentEnv).filter(([name]) => !/^(NODE_EXTRA_CA_CERTS|npm_config_cafile)$/i.test(name))),
    connection: { apiUrl: config.apiUrl ?? inClusterApiUrl(platform.env) ?? '', tokenFile: config.tokenFile, caFile: config.caFile },
    log: platform.log,
  };
}

/** Why the driver cannot run here (no way to reach the API server, no namespace), or null. */
function driverProblem(options: KubernetesDriverOptions): string | null {
  const { connection } = options;
  if (!connection.apiUrl) return 'the platform does not run in a Kubernetes cluster (no KUBERNETES_SERVICE_HOST): set FLOWGATE_KUBERNETES_API_URL';
  if (!options.namespace) return 'no namespace for instances: set FLOWGATE_KUBERNETES_NAMESPACE';
  try {
    fs.accessSync(connection.tokenFile, fs.constants.R_OK);
  } catch {
    return `the Kubernetes API token file ${connection.tokenFile} cannot be read: run the platform in the cluster with a service account, or set FLOWGATE_KUBERNETES_TOKEN_FILE`;
  }
  if (connection.caFile) {
    try {
      fs.accessSync(connection.caFile, fs.constants.R_OK);
    } catch {
      return `the Kubernetes API CA file ${connection.caFile} cannot be read (FLOWGATE_KUBERNETES_CA_FILE)`;
    }
  }
  return null;
}

const RESYNC_MS = 10_000;
const POLL_MS = 500;

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
interface ObservedPod {
  phase: Phase | null;
  specHash: string | null;
  deleting: boolean;
}

function observedPod(body: unknown): ObservedPod {
  const pod = (body ?? {}) as { status?: { phase?: Phase }; metadata?: { annotations?: Record<string, string>; deletionTimestamp?: string } };
  return { phase: pod.status?.phase ?? null, specHash: pod.metadata?.annotations?.[SPEC_HASH_ANNOTATION] ?? null, deleting: Boolean(pod.metadata?.deletionTimestamp) };
}

/** A Pod that will not run again by itself: the kubelet restarts containers, never an ended Pod. */
const ended = (pod: ObservedPod) => pod.phase === 'Succeeded' || pod.phase === 'Failed';

export function createKubernetesDriver(options: KubernetesDriverOptions): InstanceDriver & { resync(): Promise<void> } {
  const unavailable = driverProblem(options);
  /** The instances that should run, with what they were started with: what isRunning answers from. */
  const wanted = new Map<string, InstanceLaunch>();
  /** Each instance's API calls in order: a stop waits for the start before it, a start for the stop. */
  const queues = new Map<string, Promise<void>>();
  let closed = false;

  const api = (method: string, path: string, body?: unknown, contentType?: string) => kubernetesRequest(options.connection, method, path, body, contentType);

  function enqueue(instanceId: string, work: () => Promise<void>): Promise<void> {
    const next = (queues.get(instanceId) ?? Promise.resolve()).then(work).catch((err: unknown) => {
      // A start is tried again at the next resync; a stop is not (the objects stay until deleted by hand or by the next stop).
      const message = err instanceof Error ? err.message : String(err);
      options.log.warn({ instanceId, err: message }, 'Kubernetes driver: a request failed');
      options.report?.(instanceId, message);
    });
    queues.set(instanceId, next);
    void next.then(() => {
      if (queues.get(instanceId) === next) queues.delete(instanceId);
    });
    return next;
  }

  /** Server-side apply: made when missing, changed to match when present. */
  async function apply(object: KubernetesObject): Promise<void> {
    const res = await api('PATCH', `${objectPath(object)}?fieldManager=${FIELD_MANAGER}&force=true`, object, 'application/apply-patch+yaml');
    if (res.status >= 300) throw new KubernetesApiError(res.status, res.body, `applying ${object.kind} ${object.metadata.name}`);
  }

  /** Made once; an existing claim is kept as it is (a volume grows only where its StorageClass allows, and never shrinks). */
  async function createUnlessPresent(object: KubernetesObject): Promise<void> {
    const res = await api('POST', objectPath({ kind: object.kind, metadata: { ...object.metadata, name: '' } }), object);
    if (res.status >= 300 && res.status !== 409) throw new KubernetesApiError(res.status, res.body, `creating ${object.kind} ${object.metadata.name}`);
  }

  async function readPod(pod: KubernetesObject): Promise<ObservedPod | null> {
    const res = await api('GET', objectPath(pod));
    if (res.status === 404) return null;
    if (res.status >= 300) throw new KubernetesApiError(res.status, res.body, `reading Pod ${pod.metadata.name}`);
    return observedPod(res.body);
  }

  /** Deletes an object; whether it is already gone does not matter. */
  async function remove(kind: string, name: string, body?: unknown): Promise<void> {
    const res = await api('DELETE', objectPath({ kind, metadata: { name, namespace: options.namespace, labels: {} } }), body);
    if (res.status >= 300 && res.status !== 404) throw new KubernetesApiError(res.status, res.body, `deleting ${kind} ${name}`);
  }

  /** Deletes the Pod (the agent gets SIGTERM and its grace period) and resolves once it is gone. */
  async function removePod(instanceId: string): Promise<void> {
    const name = names(instanceId).pod;
    await remove('Pod', name, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: STOP_GRACE_SECONDS });
    const deadline = Date.now() + (STOP_GRACE_SECONDS + 30) * 1000;
    const pod = { kind: 'Pod', metadata: { name, namespace: options.namespace, labels: {} }, apiVersion: 'v1' };
    while ((await readPod(pod)) !== null) {
      if (Date.now() > deadline) {
        options.log.warn({ instanceId, pod: name }, 'Kubernetes driver: the Pod is still there after its grace period');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? POLL_MS));
    }
  }

  /** Makes the instance's objects match its launch; a Pod made from other values, or ended, is made again. */
  async function ensure(launch: InstanceLaunch): Promise<void> {
    if (wanted.get(launch.instanceId) !== launch) return; // stopped or started again meanwhile
    const manifests = instanceManifests(options, launch);
    await apply(manifests.secret);
    await createUnlessPresent(manifests.persistentVolumeClaim);
    await apply(manifests.networkPolicy);
    await apply(manifests.service);
    const existing = await readPod(manifests.pod);
    const wantedHash = manifests.pod.metadata.annotations?.[SPEC_HASH_ANNOTATION];
    if (existing && !existing.deleting && !ended(existing) && existing.specHash === wantedHash) return; // it runs as it should (a platform restart finds it so)
    if (existing) await removePod(launch.instanceId);
    if (wanted.get(launch.instanceId) !== launch) return;
    const res = await api('POST', objectPath({ kind: 'Pod', metadata: { ...manifests.pod.metadata, name: '' } }), manifests.pod);
    if (res.status >= 300) throw new KubernetesApiError(res.status, res.body, `creating Pod ${manifests.pod.metadata.name}`);
    options.log.info({ instanceId: launch.instanceId, pod: manifests.pod.metadata.name }, 'Kubernetes driver: Pod created');
  }

  async function stop(instanceId: string): Promise<void> {
    wanted.delete(instanceId);
    await enqueue(instanceId, async () => {
      const name = names(instanceId);
      await removePod(instanceId);
      // The token need not lie in the cluster while nothing uses it; the volume stays (removeFiles).
      await remove('Service', name.service);
      await remove('NetworkPolicy', name.networkPolicy);
      await remove('Secret', name.secret);
    });
  }

  async function resync(): Promise<void> {
    await Promise.all(
      [...wanted.values()].map((launch) =>
        queues.has(launch.instanceId)
          ? undefined
          : enqueue(launch.instanceId, async () => {
              const pod = await readPod(instanceManifests(options, launch).pod);
              if (pod === null || ended(pod)) await ensure(launch);
            }),
      ),
    );
  }

  const timer = setInterval(() => void resync(), options.resyncMs ?? RESYNC_MS);
  timer.unref();

  return {
    kind: 'kubernetes',
    unavailable,
    start(launch: InstanceLaunch): void {
      if (unavailable || closed) return;
      const current = wanted.get(launch.instanceId);
      if (current && current.agentToken === launch.agentToken && JSON.stringify(current.resources) === JSON.stringify(launch.resources)) return;
      wanted.set(launch.instanceId, launch);
      void enqueue(launch.instanceId, () => ensure(launch));
    },
    stop,
    isRunning: (instanceId: string) => wanted.has(instanceId),
    async removeFiles(instanceId: string): Promise<void> {
      await enqueue(instanceId, () => remove('PersistentVolumeClaim', names(instanceId).persistentVolumeClaim));
    },
    nodeRedHost: (instanceId: string) => `${names(instanceId).service}.${options.namespace}.svc.${options.clusterDomain ?? 'cluster.local'}`,
    async stopAll(): Promise<void> {
      closed = true;
      clearInterval(timer);
      await Promise.all([...wanted.keys()].map(stop));
    },
    resync,
  };
}
