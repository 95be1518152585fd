import { createHash } from 'node:crypto';

/**
 * Canonical JSON, snapshot content and its hash, and the check that a value is a
 * well-formed Node-RED flows file.
 *
 * A snapshot is addressed by the SHA-256 of its canonical form, and the agent hashes
 * again before it applies one, so the form must not depend on key order, whitespace or
 * the machine: object keys are sorted by UTF-16 code units at every level, arrays keep
 * their order, numbers and strings are written as JSON.stringify writes them. For JSON
 * data this is the serialisation of RFC 8785 (JCS). Anything JSON cannot carry
 * faithfully (NaN, Infinity, BigInt, functions, symbols, undefined inside an array,
 * Maps, Sets, cycles) is refused with the path where it was found, rather than being
 * silently dropped or turned into null as JSON.stringify would.
 */

/** One node of a Node-RED flows file. Tabs are nodes of type 'tab', subflow definitions of type 'subflow'; config nodes have no wires. */
export type NodeRedNode = {
  id: string;
  type: string;
  /** The tab or subflow the node sits on; absent for tabs, subflows and global config nodes. */
  z?: string;
  name?: string;
  /** One array per output, each listing the ids of the nodes that output is wired to. */
  wires?: string[][];
  [key: string]: unknown;
};

/** A flows file is an array of nodes; this names its element type. */
export type NodeRedFlow = NodeRedNode;

export type SnapshotEnvVar = { name: string; value: string | null; secret: boolean };
export type SnapshotModule = { name: string; version: string };

/** What a snapshot holds and what its hash covers. */
export type SnapshotContent = {
  flows: NodeRedFlow[];
  /** The encrypted credentials blob exactly as Node-RED stores it; opaque here. */
  credentials: string | null;
  settings: Record<string, unknown>;
  env: SnapshotEnvVar[];
  modules: SnapshotModule[];
};

export class CanonicalJsonError extends Error {
  /** Where the value was found, as `$`, `$.flows[3].x` and so on. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`canonical JSON: ${problem} at ${path}`);
    this.name = 'CanonicalJsonError';
    this.path = path;
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$`, `$.flows[3].x`, `$["rate/s"]`: built only for an error, from the keys on the way down. */
function formatPath(keys: ReadonlyArray<string | number>): string {
  let path = '$';
  for (const key of keys) {
    if (typeof key === 'number') path += `[${key}]`;
    else path += IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return path;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value === undefined) return 'undefined';
  const name = (value as object).constructor?.name;
  return name ? `a ${name}` : 'an object without a prototype';
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

type Walk = { keys: Array<string | number>; ancestors: Set<object> };

function fail(walk: Walk, problem: string): never {
  throw new CanonicalJsonError(formatPath(walk.keys), problem);
}

function write(value: unknown, walk: Walk): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) fail(walk, `${describe(value)} is not a finite number`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (walk.ancestors.has(value)) fail(walk, 'the value refers to itself (a cycle)');
      if (Array.isArray(value)) {
        walk.ancestors.add(value);
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          walk.keys.push(i);
          if (item === undefined) fail(walk, 'undefined is not allowed in an array');
          out += (i === 0 ? '' : ',') + write(item, walk);
          walk.keys.pop();
        }
        walk.ancestors.delete(value);
        return out + ']';
      }
      if (!isPlainObject(value)) {
        // Dates and the like say how they want to be written; Maps, Sets and class
        // instances would silently become {} in JSON, so they are refused.
        const toJSON = (value as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') return write(toJSON.call(value), walk);
        fail(walk, `${describe(value)} is not plain JSON data`);
      }
      walk.ancestors.add(value);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue; // an absent optional property, as in JSON
        walk.keys.push(key);
        out += (first ? '' : ',') + JSON.stringify(key) + ':' + write(item, walk);
        walk.keys.pop();
        first = false;
      }
      walk.ancestors.delete(value);
      return out + '}';
    }
    default:
      return fail(walk, `${describe(value)} cannot be written as JSON`);
  }
}

/** Deterministic JSON: keys sorted at every level, no whitespace, arrays in order. Throws CanonicalJsonError on values JSON cannot carry. */
export function canonicalJson(value: unknown): string {
  return write(value, { keys: [], ancestors: new Set() });
}

/** SHA-256 (lower-case hex) of the canonical JSON of a snapshot's content: the snapshot's address. */
export function snapshotHash(content: SnapshotContent): string {
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------
// Flows validation

export const MAX_FLOW_NODES = 50_000;
/** Beyond this many problems the list ends with a count of the rest. */
const MAX_ERRORS = 100;

export type ValidateFlowsResult = { ok: true; flows: NodeRedNode[] } | { ok: false; errors: string[] };

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/**
 * Checks that `input` is a Node-RED flows file: an array of at most 50,000 objects,
 * each with a unique non-empty string id and a non-empty string type; `z`, when present
 * and not empty, names a tab or subflow in the same file; `wires`, when present, is an
 * array of outputs, each an array of ids of nodes in the same file. Problems are listed
 * in plain English, naming the node by id and index (at most 100, then a count).
 */
export function validateFlows(input: unknown): ValidateFlowsResult {
  if (!Array.isArray(input)) {
    return { ok: false, errors: [`Flows must be a JSON array of nodes, but this is ${kindOf(input)}.`] };
  }
  if (input.length > MAX_FLOW_NODES) {
    return {
      ok: false,
      errors: [`Flows have ${input.length.toLocaleString('en-US')} nodes; at most ${MAX_FLOW_NODES.toLocaleString('en-US')} are allowed.`],
    };
  }

  const errors: string[] = [];
  let dropped = 0;
  const report = (message: string): void => {
    if (errors.length < MAX_ERRORS) errors.push(message);
    else dropped++;
  };

  // First pass: shape, ids and types.
  const indexById = new Map<string, number>();
  const typeById = new Map<string, string>();
  const nodes: Array<Record<string, unknown> | null> = new Array<Record<string, unknown> | null>(input.length);
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      report(`Node at index ${i} must be an object, but it is ${kindOf(item)}.`);
      nodes[i] = null;
      continue;
    }
    const node = item as Record<string, unknown>;
    nodes[i] = node;
    const { id, type } = node;
    if (typeof id !== 'string' || id === '') {
      report(`Node at index ${i} has no id (a non-empty string is required).`);
      nodes[i] = null;
      continue;
    }
    const seen = indexById.get(id);
    if (seen !== undefined) {
      report(`Node "${id}" (index ${i}) has the same id as the node at index ${seen}; ids must be unique.`);
    } else {
      indexById.set(id, i);
    }
    if (typeof type !== 'string' || type === '') {
      report(`Node "${id}" (index ${i}) has no type (a non-empty string is required).`);
    } else if (seen === undefined) {
      typeById.set(id, type);
    }
  }

  // Second pass: references to other nodes.
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (!node) continue;
    const label = `Node "${node.id as string}" (index ${i})`;
    const { z, wires } = node;
    if (z !== undefined && z !== '') {
      if (typeof z !== 'string') {
        report(`${label} has a z of ${kindOf(z)}; it must be the id of a tab or subflow.`);
      } else {
        const zType = typeById.get(z);
        if (zType === undefined) report(`${label} sits on "${z}", which is not a tab or subflow in these flows.`);
        else if (zType !== 'tab' && zType !== 'subflow') report(`${label} sits on "${z}", which is a node of type "${zType}", not a tab or subflow.`);
      }
    }
    if (wires !== undefined) {
      if (!Array.isArray(wires)) {
        report(`${label} has wires of ${kindOf(wires)}; they must be an array with one array of node ids per output.`);
        continue;
      }
      for (let output = 0; output < wires.length; output++) {
        const targets: unknown = wires[output];
        if (!Array.isArray(targets)) {
          report(`${label}: output ${output + 1} must be an array of node ids, but it is ${kindOf(targets)}.`);
          continue;
        }
        for (const target of targets as unknown[]) {
          if (typeof target !== 'string') report(`${label}: output ${output + 1} lists ${kindOf(target)} where a node id belongs.`);
          else if (!indexById.has(target)) report(`${label}: output ${output + 1} is wired to "${target}", which is not in these flows.`);
        }
      }
    }
  }

  if (errors.length === 0) return { ok: true, flows: input as NodeRedNode[] };
  if (dropped > 0) errors.push(`…and ${dropped.toLocaleString('en-US')} more problem${dropped === 1 ? '' : 's'}.`);
  return { ok: false, errors };
}

/** An npm package name as npm accepts it today: lower case, an optional @scope/. */
const NPM_PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/**
 * A version from the npm registry as npm and Node-RED's palette write it: exact, or `~`/`^`
 * on one. Not a tag, URL, git or file reference: installing a snapshot's modules must fetch
 * from the registry the machine is configured for, never from a place the file names.
 */
const REGISTRY_VERSION = /^[~^]?\d{1,9}\.\d{1,9}\.\d{1,9}(?:-[0-9A-Za-z.-]{1,100})?(?:\+[0-9A-Za-z.-]{1,100})?$/;

/** An environment variable's name, as the instance's variables and Node-RED's $(NAME) take it. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
const ENV_NAME = new RegExp(ENV_NAME_PATTERN);

export function isEnvName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 128 && ENV_NAME.test(value);
}

export const NODE_RED_VERSION_PATTERN = '^[0-9A-Za-z.+-]{1,32}$';
const NODE_RED_VERSION = new RegExp(NODE_RED_VERSION_PATTERN);
/**
 * A Node-RED version as its package names it (4.1.8, 5.0.0-beta.1): a snapshot records it
 * and an agent looks an installation up by it, so nothing else (no path, no spaces) passes.
 */
export function isNodeRedVersion(value: unknown): value is string {
  return typeof value === 'string' && NODE_RED_VERSION.test(value);
}

/**
 * A snapshot's node modules, checked and in canonical order (by name): each a real npm
 * package name (at most 214 characters) with a registry version (1.2.3, ~1.2.3, ^1.2.3),
 * each once; or the problems, when any is not.
 */
export function validateModules(input: unknown): { ok: true; modules: SnapshotModule[] } | { ok: false; errors: string[] } {
  if (!Array.isArray(input)) return { ok: false, errors: ['modules must be an array of { name, version }.'] };
  const errors: string[] = [];
  const seen = new Set<string>();
  input.forEach((m: unknown, i) => {
    const item = m as Partial<SnapshotModule> | null;
    if (item === null || typeof item !== 'object' || typeof item.name !== 'string' || typeof item.version !== 'string') errors.push(`modules[${i}] is not { name, version }.`);
    else if (item.name.length > 214 || !NPM_PACKAGE_NAME.test(item.name)) errors.push(`modules[${i}]: ${JSON.stringify(item.name.slice(0, 220))} is not an npm package name.`);
    else if (!REGISTRY_VERSION.test(item.version))
      errors.push(`modules[${i}] (${item.name}): ${JSON.stringify(item.version.slice(0, 260))} is not a registry version (1.2.3, ~1.2.3 or ^1.2.3).`);
    else if (seen.has(item.name)) errors.push(`modules[${i}]: ${item.name} is listed twice.`);
    else seen.add(item.name);
  });
  if (errors.length) return { ok: false, errors };
  const modules = (input as SnapshotModule[]).map(({ name, version }) => ({ name, version })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, modules };
}
