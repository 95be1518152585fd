import type { NodeRedNode } from './canonical-json.ts';

/** Drawn on a flow but not nodes: a group is a frame around nodes, a junction a point wires pass through. */
const NOT_NODES = new Set(['group', 'junction']);

/**
 * The nodes of a flows file as a plant engineer counts them: the nodes on its flows (tabs),
 * each subflow used on a flow counting once. Not counted: the flows (tab records) and
 * subflow definitions themselves, the nodes inside a subflow's definition, configuration
 * nodes (a broker, a TLS setting: no wires and no place on the canvas, whether global or
 * scoped to one flow), groups and junctions. An inject, a function and a debug node
 * wired on one flow, using one MQTT broker, are 3 nodes, where the file holds 5 records.
 */
export function countFlowNodes(flows: readonly NodeRedNode[]): number {
  const tabs = new Set(flows.filter((n) => n.type === 'tab').map((n) => n.id));
  let count = 0;
  for (const node of flows) {
    if (typeof node.z !== 'string' || !tabs.has(node.z) || NOT_NODES.has(node.type)) continue;
    // A flow node has wires (an array, empty for one without outputs) or a place on the canvas (a link out node has no wires).
    if (Array.isArray(node.wires) || typeof node.x === 'number') count++;
  }
  return count;
}
