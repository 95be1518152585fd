import type { FlowNode } from '../../types.ts';

/** One node as a table row reads it. */
export interface NodeRow {
  id: string;
  /** The node's type; a subflow instance reads as the subflow's name. */
  typeLabel: string;
  type: string;
  /** Its name, or what says most about it when it has none (a topic, a URL); '' when nothing does. */
  label: string;
  /** The label is the name given in the editor, not one made up here. */
  named: boolean;
  disabled: boolean;
}

/** A flow (tab) or a subflow, with the nodes on it. */
export interface FlowGroup {
  id: string;
  kind: 'tab' | 'subflow' | 'missing';
  label: string;
  disabled: boolean;
  nodes: NodeRow[];
}

export interface SnapshotContents {
  tabs: FlowGroup[];
  subflows: FlowGroup[];
  /** Nodes whose flow (z) is not in the snapshot: shown, not lost. */
  missing: FlowGroup[];
  /** Configuration nodes: no flow (z) of their own; shared by the flows. */
  config: NodeRow[];
  /** Nodes on the flows and subflows, tabs and subflows themselves not counted. */
  flowNodes: number;
}

/** A snapshot this small shows every flow open; a bigger one opens only its small flows. */
const SMALL_SNAPSHOT = 150;
const SMALL_FLOW = 25;

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

/** What to call a node that has no name, from the properties its type shows in the editor. */
function fallbackLabel(node: FlowNode): string {
  if (node.type === 'http in' && text(node.url)) return `[${text(node.method).toUpperCase() || 'GET'}] ${text(node.url)}`;
  if (node.type === 'mqtt-broker' && text(node.broker)) return node.port ? `${text(node.broker)}:${String(node.port)}` : text(node.broker);
  for (const key of ['label', 'topic', 'url', 'path', 'server', 'host']) {
    const value = text(node[key]);
    if (value) return value;
  }
  return '';
}

export function nodeRow(node: FlowNode, subflowNames: ReadonlyMap<string, string>): NodeRow {
  const name = text(node.name);
  const subflowId = node.type.startsWith('subflow:') ? node.type.slice('subflow:'.length) : null;
  const subflowName = subflowId === null ? undefined : subflowNames.get(subflowId);
  return {
    id: node.id,
    type: node.type,
    typeLabel: subflowName !== undefined ? `subflow “${subflowName}”` : node.type,
    label: name || fallbackLabel(node),
    named: name !== '',
    disabled: node.d === true,
  };
}

function byTypeThenLabel(a: NodeRow, b: NodeRow): number {
  return a.typeLabel.localeCompare(b.typeLabel) || a.label.localeCompare(b.label) || a.id.localeCompare(b.id);
}

/** The snapshot's flows as a reader goes through them: its flows (tabs) and subflows in the editor's order, each with its nodes by type, and the configuration nodes apart. */
export function snapshotContents(flows: readonly FlowNode[]): SnapshotContents {
  const groups = new Map<string, FlowGroup>();
  const subflowNames = new Map<string, string>();
  for (const node of flows) {
    if (node.type === 'tab') groups.set(node.id, { id: node.id, kind: 'tab', label: text(node.label) || `Flow ${node.id}`, disabled: node.disabled === true, nodes: [] });
    if (node.type === 'subflow') {
      const label = text(node.name) || `Subflow ${node.id}`;
      subflowNames.set(node.id, label);
      groups.set(node.id, { id: node.id, kind: 'subflow', label, disabled: false, nodes: [] });
    }
  }
  const config: NodeRow[] = [];
  for (const node of flows) {
    if (node.type === 'tab' || node.type === 'subflow') continue;
    const row = nodeRow(node, subflowNames);
    const z = text(node.z);
    if (!z) {
      config.push(row);
      continue;
    }
    let group = groups.get(z);
    if (!group) {
      group = { id: z, kind: 'missing', label: `Flow ${z} (not in the snapshot)`, disabled: false, nodes: [] };
      groups.set(z, group);
    }
    group.nodes.push(row);
  }
  const all = [...groups.values()];
  for (const group of all) group.nodes.sort(byTypeThenLabel);
  return {
    flowNodes: all.reduce((sum, g) => sum + g.nodes.length, 0),
    tabs: all.filter((g) => g.kind === 'tab'),
    subflows: all.filter((g) => g.kind === 'subflow'),
    missing: all.filter((g) => g.kind === 'missing'),
    config: config.sort(byTypeThenLabel),
  };
}

/** Open at first: every flow of a small snapshot, and the small flows of a big one. */
export function openByDefault(group: FlowGroup, contents: SnapshotContents): boolean {
  return contents.flowNodes <= SMALL_SNAPSHOT || group.nodes.length <= SMALL_FLOW;
}
