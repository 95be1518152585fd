import net from 'node:net';
import path from 'node:path';
import { WEB_DIST } from './package-paths.ts';

/**
 * Typed configuration from FLOWGATE_* environment variables. Every default works with
 * nothing set: SQLite under ./data, loopback only, no mail server, no SIEM.
 */
export interface Config {
  host: string;
  port: number;
  /** Plain MQTT over TCP for devices, on `host`; null: MQTT over WebSocket on `port` only. */
  mqttPort: number | null;
  /**
   * An external Mosquitto with its dynamic-security plugin instead of the embedded broker
   * (FLOWGATE_MQTT_URL); null: the embedded one.
   */
  externalMqtt: { url: string; username: string; password: string; deviceUrl: string | null } | null;
  /** The address people use to reach the platform, for links in mails and setup. */
  publicUrl: string;
  /**
   * Addresses (or CIDR ranges) of the reverse proxies in front of the platform, whose
   * X-Forwarded-For and X-Forwarded-Proto it believes; empty: it believes no one.
   */
  trustProxy: string[];
  dataDir: string;
  /** Node-RED versions offered beside the agent's own, one folder each (docs/applications.md). */
  nodeRedDir: string;
  /** sqlite:<file> or postgres://... */
  databaseUrl: string;
  /** 32-byte key (hex or base64) that encrypts secrets at rest; generated in dataDir when unset. */
  masterKey: string | null;
  session: { idleTimeoutMinutes: number; absoluteTimeoutHours: number };
  lockout: { maxFailures: number; lockMinutes: number };
  loginRateLimitPerMinute: number;
  bodyLimitBytes: number;
  smtpUrl: string | null;
  mailFrom: string;
  metricsToken: string | null;
  audit: {
    checkpointEvery: number;
    capacityBytes: number | null;
    capacityWarnRatio: number;
    syslog: { host: string; port: number; tls: boolean; caFile: string | null; appName: string } | null;
    /** SHA-256 fingerprints (64 hex) of checkpoint signing keys verify believes besides the platform's own (FLOWGATE_AUDIT_KEY_FINGERPRINT). */
    keyFingerprints: string[];
  };
  /** Served at / when present; built by packages/web. */
  webDir: string;
  logLevel: string;
  /** FLOWGATE_LOG_FORMAT: readable lines, one JSON object per line (for log shippers), or 'auto': readable on a terminal, JSON otherwise. */
  logFormat: 'pretty' | 'json' | 'auto';
  /**
   * FLOWGATE_INSTANCE_SANDBOX: what each hosted instance runs in (features/applications/sandbox.ts).
   * bubblewrap by default; none only by an admin's choice, never as a silent fallback.
   */
  instanceSandbox: 'bubblewrap' | 'none';
  /**
   * What a hosted instance may use (SR 7.2), as limits its flows cannot raise: open files per
   * process (FLOWGATE_INSTANCE_OPEN_FILES) and processes (FLOWGATE_INSTANCE_PROCESSES), the
   * same for all; memory, CPU and disk per instance, an owner choosing within the platform's
   * maximum (FLOWGATE_INSTANCE_{MEMORY_MB,CPU_PERCENT,DISK_MB} the default, ..._MAX the most).
   * The kernel holds memory, processes and CPU through a control group (cgroups.ts):
   * FLOWGATE_INSTANCE_CGROUP names the delegated group on a cgroup v2 machine.
   */
  instanceLimits: {
    openFiles: number;
    processes: number;
    memoryMb: InstanceResourceRange;
    cpuPercent: InstanceResourceRange;
    diskMb: InstanceResourceRange;
    cgroup: string | null;
  };
  /** FLOWGATE_INSTANCE_RUNTIME: where hosted instances run (features/applications/instance-driver.ts); process by default. */
  instanceRuntime: 'process' | 'kubernetes';
  /** With FLOWGATE_INSTANCE_RUNTIME=kubernetes, the cluster's side (docs/kubernetes.md); else null. */
  kubernetes: KubernetesConfig | null;
  /**
   * Where each instance's editor and flows' endpoints are served (features/applications/
   * instance-origins.ts). 'separate' (the default): an origin of its own per instance,
   * `<instance id>.<domain>`, so that a page a member serves cannot act on the platform as
   * whoever opens it. 'shared' (FLOWGATE_INSTANCE_ORIGINS=shared): the old paths on the
   * platform's own origin, insecure, for nothing but showing what the separation prevents.
   * The domain is FLOWGATE_INSTANCE_DOMAIN (`apps.example.com`, or with a scheme and port,
   * `https://apps.example.com:8443`); unset, `localhost`, which browsers resolve to loopback
   * at any depth. Scheme and port default to the public URL's.
   */
  instanceOrigins: { mode: 'separate' | 'shared'; scheme: 'http' | 'https'; domain: string; port: string; domainConfigured: boolean };
}

/** A resource an owner sets per instance: the platform's default and the most it allows. */
export interface InstanceResourceRange {
  default: number;
  min: number;
  max: number;
}

/** Where the kubelet puts a Pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The `kubernetes` instance driver's settings (features/applications/kubernetes-driver.ts). */
export interface KubernetesConfig {
  /** FLOWGATE_KUBERNETES_NAMESPACE: where instances' objects go; null: the platform's own (its service account's). */
  namespace: string | null;
  /** FLOWGATE_KUBERNETES_AGENT_IMAGE: the agent image (packages/agent/Dockerfile), by digest or tag. */
  agentImage: string;
  /** FLOWGATE_KUBERNETES_IMAGE_PULL_SECRET: a dockerconfigjson Secret in the namespace, for a private registry. */
  imagePullSecret: string | null;
  /** FLOWGATE_KUBERNETES_STORAGE_CLASS: null: the cluster's default. */
  storageClass: string | null;
  /** FLOWGATE_KUBERNETES_PLATFORM_URL: where agents reach the platform, its Service (http://flowgate.flowgate.svc:3000). */
  platformUrl: string;
  /** FLOWGATE_KUBERNETES_PLATFORM_LABELS: labels of the platform's pods, key=value comma-separated (app.kubernetes.io/name=flowgate). */
  platformPodLabels: Record<string, string>;
  /** FLOWGATE_KUBERNETES_PLATFORM_NAMESPACE: the platform's namespace where it is not the instances'. */
  platformNamespace: string | null;
  /** FLOWGATE_KUBERNETES_EXTRA_EGRESS: more destinations for instances, CIDR:port comma-separated (an npm mirror). */
  extraEgress: { cidr: string; port: number }[];
  /** FLOWGATE_KUBERNETES_API_URL: null: the cluster the platform runs in (KUBERNETES_SERVICE_HOST). */
  apiUrl: string | null;
  /** FLOWGATE_KUBERNETES_TOKEN_FILE: a bearer token, read at every request; the service account's by default. */
  tokenFile: string;
  /** FLOWGATE_KUBERNETES_CA_FILE: the API server's CA (PEM); the service account's by default in the cluster. */
  caFile: string | null;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function logFormat(raw: string | null): Config['logFormat'] {
  if (raw === null) return 'auto';
  if (raw === 'pretty' || raw === 'json' || raw === 'auto') return raw;
  throw new ConfigError(`FLOWGATE_LOG_FORMAT must be pretty, json or auto, got "${raw}"`);
}

function instanceSandbox(raw: string | null): Config['instanceSandbox'] {
  if (raw === null || raw === 'bubblewrap') return 'bubblewrap';
  if (raw === 'none') return 'none';
  throw new ConfigError(`FLOWGATE_INSTANCE_SANDBOX must be bubblewrap or none, got "${raw}"`);
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function httpUrl(env: Env, name: string): string | null {
  return urlSetting(env, name, ['http:', 'https:'], 'use FLOWGATE_KUBERNETES_TOKEN_FILE');
}

function dnsName(env: Env, name: string, pattern: RegExp): string | null {
  const raw = str(env, name);
  if (raw !== null && !pattern.test(raw)) throw new ConfigError(`${name} must be a Kubernetes name (lower case letters, digits, '-'), got "${raw}"`);
  return raw;
}

function podLabels(env: Env): Record<string, string> {
  const raw = str(env, 'FLOWGATE_KUBERNETES_PLATFORM_LABELS') ?? 'app.kubernetes.io/name=flowgate';
  const labels: Record<string, string> = {};
  for (const pair of raw.split(',').map((p) => p.trim())) {
    const [key = '', value, ...rest] = pair.split('=');
    if (value === undefined || rest.length > 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value))
      throw new ConfigError(`FLOWGATE_KUBERNETES_PLATFORM_LABELS takes the platform's pod labels as key=value, comma-separated: "${pair}" is not one`);
    labels[key] = value;
  }
  return labels;
}

function egressList(env: Env): KubernetesConfig['extraEgress'] {
  const raw = str(env, 'FLOWGATE_KUBERNETES_EXTRA_EGRESS');
  if (raw === null) return [];
  return raw.split(',').map((entry) => {
    const match = /^(.+)\/(\d{1,3}):(\d{1,5})$/.exec(entry.trim());
    const family = match ? net.isIP(match[1]!) : 0;
    const port = Number(match?.[3]);
    if (!match || !family || Number(match[2]) > (family === 6 ? 128 : 32) || port < 1 || port > 65535)
      throw new ConfigError(`FLOWGATE_KUBERNETES_EXTRA_EGRESS takes CIDR:port, comma-separated (10.0.5.0/24:4873): "${entry.trim()}" is not one`);
    return { cidr: `${match[1]}/${match[2]}`, port };
  });
}

/** FLOWGATE_INSTANCE_RUNTIME and, for kubernetes, FLOWGATE_KUBERNETES_*; their defaults fit a platform that runs in the cluster. */
export function loadInstanceRuntime(env: Env): Pick<Config, 'instanceRuntime' | 'kubernetes'> {
  const runtime = str(env, 'FLOWGATE_INSTANCE_RUNTIME') ?? 'process';
  const kubernetesVariables = Object.keys(env).filter((name) => name.startsWith('FLOWGATE_KUBERNETES_') && env[name] !== '');
  if (runtime === 'process') {
    // Set for a cluster and silently unused would run every instance on this machine instead.
    if (kubernetesVariables.length > 0) throw new ConfigError(`${kubernetesVariables.join(', ')} set, but FLOWGATE_INSTANCE_RUNTIME is not kubernetes`);
    return { instanceRuntime: 'process', kubernetes: null };
  }
  if (runtime !== 'kubernetes') throw new ConfigError(`FLOWGATE_INSTANCE_RUNTIME must be process or kubernetes, got "${runtime}"`);
  const agentImage = str(env, 'FLOWGATE_KUBERNETES_AGENT_IMAGE');
  if (agentImage === null || /\s/.test(agentImage))
    throw new ConfigError('FLOWGATE_INSTANCE_RUNTIME=kubernetes needs FLOWGATE_KUBERNETES_AGENT_IMAGE: the agent image (packages/agent/Dockerfile)');
  const platformUrl = httpUrl(env, 'FLOWGATE_KUBERNETES_PLATFORM_URL');
  if (platformUrl === null)
    throw new ConfigError("FLOWGATE_INSTANCE_RUNTIME=kubernetes needs FLOWGATE_KUBERNETES_PLATFORM_URL: where agents reach the platform, its Service's URL");
  const apiUrl = httpUrl(env, 'FLOWGATE_KUBERNETES_API_URL');
  const tokenFile = str(env, 'FLOWGATE_KUBERNETES_TOKEN_FILE');
  if (apiUrl !== null && tokenFile === null) throw new ConfigError('FLOWGATE_KUBERNETES_API_URL needs FLOWGATE_KUBERNETES_TOKEN_FILE: a file holding the bearer token');
  return {
    instanceRuntime: 'kubernetes',
    kubernetes: {
      namespace: dnsName(env, 'FLOWGATE_KUBERNETES_NAMESPACE', DNS_LABEL),
      agentImage,
      imagePullSecret: dnsName(env, 'FLOWGATE_KUBERNETES_IMAGE_PULL_SECRET', DNS_SUBDOMAIN),
      storageClass: dnsName(env, 'FLOWGATE_KUBERNETES_STORAGE_CLASS', DNS_SUBDOMAIN),
      platformUrl,
      platformPodLabels: podLabels(env),
      platformNamespace: dnsName(env, 'FLOWGATE_KUBERNETES_PLATFORM_NAMESPACE', DNS_LABEL),
      extraEgress: egressList(env),
      apiUrl,
      tokenFile: tokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`,
      caFile: str(env, 'FLOWGATE_KUBERNETES_CA_FILE') ?? (apiUrl === null ? `${SERVICE_ACCOUNT_DIR}/ca.crt` : null),
    },
  };
}

function instanceOrigins(env: Env, publicUrl: string): Config['instanceOrigins'] {
  const mode = str(env, 'FLOWGATE_INSTANCE_ORIGINS') ?? 'separate';
  if (mode !== 'separate' && mode !== 'shared') throw new ConfigError(`FLOWGATE_INSTANCE_ORIGINS must be separate or shared, got "${mode}"`);
  const platform = new URL(publicUrl);
  const raw = str(env, 'FLOWGATE_INSTANCE_DOMAIN');
  let given: URL;
  try {
    // A bare domain takes the public URL's scheme and port.
    given = new URL(raw === null ? `${platform.protocol}//localhost:${platform.port}` : raw.includes('://') ? raw : `${platform.protocol}//${raw}:${platform.port}`);
  } catch {
    throw new ConfigError(`FLOWGATE_INSTANCE_DOMAIN must be a domain (apps.example.com) or a URL of one (https://apps.example.com:8443), got "${raw}"`);
  }
  const scheme = given.protocol === 'https:' ? 'https' : given.protocol === 'http:' ? 'http' : null;
  const domain = given.hostname.toLowerCase();
  if (scheme === null || given.pathname !== '/' || given.search || given.username || !/^(?:[a-z0-9-]+\.)*[a-z0-9-]+$/.test(domain) || net.isIP(domain)) {
    throw new ConfigError(`FLOWGATE_INSTANCE_DOMAIN must be a domain (apps.example.com) or a URL of one (https://apps.example.com:8443), got "${raw}"`);
  }
  return { mode, scheme, domain, port: given.port, domainConfigured: raw !== null };
}

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

/** NAME (the default) and NAME_MAX (the most an owner may give), both at least `min`, the default within the most. */
function resourceRange(env: Env, name: string, fallback: number, fallbackMax: number, min: number): InstanceResourceRange {
  const value = int(env, name, fallback, min);
  const max = int(env, `${name}_MAX`, Math.max(fallbackMax, value), min);
  if (value > max) throw new ConfigError(`${name} (${value}) must not exceed ${name}_MAX (${max})`);
  return { default: value, min, max };
}

/** FLOWGATE_AUDIT_KEY_FINGERPRINT: fingerprints as `flowgate audit verify` prints them (sha256:<hex>), comma-separated. */
function keyFingerprints(env: Env): string[] {
  const raw = str(env, 'FLOWGATE_AUDIT_KEY_FINGERPRINT');
  if (raw === null) return [];
  return raw.split(',').map((part) => {
    const hex = part
      .trim()
      .toLowerCase()
      .replace(/^sha256:/, '')
      .replaceAll(':', '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ConfigError(`FLOWGATE_AUDIT_KEY_FINGERPRINT must be SHA-256 fingerprints (sha256:<64 hex>), comma-separated; got "${part.trim()}"`);
    return hex;
  });
}

/** FLOWGATE_TRUST_PROXY: addresses or CIDR ranges, comma-separated. */
function proxies(env: Env): string[] {
  const raw = str(env, 'FLOWGATE_TRUST_PROXY');
  if (raw === null) return [];
  const list = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [address, bits, ...rest] = entry.split('/');
    const family = net.isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !validBits || rest.length) throw new ConfigError(`FLOWGATE_TRUST_PROXY takes the proxies' addresses or CIDR ranges, comma-separated: "${entry}" is neither`);
  }
  return list;
}

function str(env: Env, name: string): string | null {
  const raw = env[name];
  return raw === undefined || raw === '' ? null : raw;
}

/** A URL setting of one of `protocols`, without a trailing slash; credentials belong elsewhere (`credentialsHint` says where). */
function urlSetting(env: Env, name: string, protocols: string[], credentialsHint: string): string | null {
  const raw = str(env, name);
  if (raw === null) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(`${name} must be ${protocols.map((p) => `${p}//`).join(' or ')}, got "${raw}"`);
  if (url.username || url.password) throw new ConfigError(`${name} must not carry credentials: ${credentialsHint}`);
  return url.toString().replace(/\/$/, '');
}

function mqttUrl(env: Env, name: string, protocols: string[]): string | null {
  return urlSetting(env, name, protocols, 'use FLOWGATE_MQTT_USERNAME and FLOWGATE_MQTT_PASSWORD');
}

function externalMqtt(env: Env, mqttPort: number | null): Config['externalMqtt'] {
  const url = mqttUrl(env, 'FLOWGATE_MQTT_URL', ['mqtt:', 'mqtts:']);
  if (url === null) return null;
  if (mqttPort !== null) throw new ConfigError('FLOWGATE_MQTT_PORT opens the embedded broker; with FLOWGATE_MQTT_URL devices use that broker: set one of them');
  const username = str(env, 'FLOWGATE_MQTT_USERNAME');
  const password = str(env, 'FLOWGATE_MQTT_PASSWORD');
  if (!username || !password)
    throw new ConfigError("FLOWGATE_MQTT_URL needs FLOWGATE_MQTT_USERNAME and FLOWGATE_MQTT_PASSWORD: an account of the broker's dynamic-security plugin that may manage it");
  return { url, username, password, deviceUrl: mqttUrl(env, 'FLOWGATE_MQTT_DEVICE_URL', ['mqtt:', 'mqtts:', 'ws:', 'wss:']) };
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const host = str(env, 'FLOWGATE_HOST') ?? '127.0.0.1';
  const port = int(env, 'FLOWGATE_PORT', 3000);
  const dataDir = path.resolve(cwd, str(env, 'FLOWGATE_DATA_DIR') ?? 'data');
  const syslogUrl = str(env, 'FLOWGATE_AUDIT_SYSLOG_URL');
  let syslog: Config['audit']['syslog'] = null;
  if (syslogUrl) {
    const url = new URL(syslogUrl);
    if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') {
      throw new ConfigError('FLOWGATE_AUDIT_SYSLOG_URL must be tcp://host:port or tls://host:port');
    }
    syslog = {
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'tls:' ? 6514 : 601)),
      tls: url.protocol === 'tls:',
      caFile: str(env, 'FLOWGATE_AUDIT_SYSLOG_CA_FILE'),
      appName: 'flowgate',
    };
  }
  const capacityMb = int(env, 'FLOWGATE_AUDIT_CAPACITY_MB', 0);
  const publicUrl = (str(env, 'FLOWGATE_PUBLIC_URL') ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(/\/$/, '');
  const mqttPort = str(env, 'FLOWGATE_MQTT_PORT') === null ? null : int(env, 'FLOWGATE_MQTT_PORT', 0);
  return {
    externalMqtt: externalMqtt(env, mqttPort),
    host,
    port,
    mqttPort,
    trustProxy: proxies(env),
    publicUrl,
    dataDir,
    nodeRedDir: path.resolve(cwd, str(env, 'FLOWGATE_NODE_RED_DIR') ?? path.join(dataDir, 'node-red')),
    databaseUrl: str(env, 'FLOWGATE_DATABASE_URL') ?? `sqlite:${path.join(dataDir, 'flowgate.db')}`,
    masterKey: str(env, 'FLOWGATE_MASTER_KEY'),
    session: {
      idleTimeoutMinutes: int(env, 'FLOWGATE_SESSION_IDLE_MINUTES', 30, 1),
      absoluteTimeoutHours: int(env, 'FLOWGATE_SESSION_ABSOLUTE_HOURS', 12, 1),
    },
    lockout: {
      maxFailures: int(env, 'FLOWGATE_LOCKOUT_MAX_FAILURES', 5, 1),
      lockMinutes: int(env, 'FLOWGATE_LOCKOUT_MINUTES', 15, 1),
    },
    loginRateLimitPerMinute: int(env, 'FLOWGATE_LOGIN_RATE_LIMIT', 20, 1),
    bodyLimitBytes: int(env, 'FLOWGATE_BODY_LIMIT_BYTES', 1024 * 1024, 1024),
    smtpUrl: str(env, 'FLOWGATE_SMTP_URL'),
    mailFrom: str(env, 'FLOWGATE_MAIL_FROM') ?? 'Flowgate <flowgate@localhost>',
    metricsToken: str(env, 'FLOWGATE_METRICS_TOKEN'),
    audit: {
      checkpointEvery: int(env, 'FLOWGATE_AUDIT_CHECKPOINT_EVERY', 1000, 1),
      capacityBytes: capacityMb > 0 ? capacityMb * 1024 * 1024 : null,
      capacityWarnRatio: 0.8,
      syslog,
      keyFingerprints: keyFingerprints(env),
    },
    webDir: path.resolve(str(env, 'FLOWGATE_WEB_DIR') ?? WEB_DIST),
    logLevel: str(env, 'FLOWGATE_LOG_LEVEL') ?? 'info',
    logFormat: logFormat(str(env, 'FLOWGATE_LOG_FORMAT')),
    instanceSandbox: instanceSandbox(str(env, 'FLOWGATE_INSTANCE_SANDBOX')),
    instanceLimits: {
      openFiles: int(env, 'FLOWGATE_INSTANCE_OPEN_FILES', 4096, 64),
      processes: int(env, 'FLOWGATE_INSTANCE_PROCESSES', 256, 16),
      memoryMb: resourceRange(env, 'FLOWGATE_INSTANCE_MEMORY_MB', 512, 4096, 128),
      cpuPercent: resourceRange(env, 'FLOWGATE_INSTANCE_CPU_PERCENT', 100, 400, 10),
      diskMb: resourceRange(env, 'FLOWGATE_INSTANCE_DISK_MB', 2048, 51200, 256),
      cgroup: str(env, 'FLOWGATE_INSTANCE_CGROUP'),
    },
    ...loadInstanceRuntime(env),
    instanceOrigins: instanceOrigins(env, publicUrl),
  };
}
