import { canonicalJson, type NodeRedNode, type SnapshotEnvVar, type SnapshotModule } from './canonical-json.ts';

/**
 * The readable difference between two versions of a Node-RED application, for
 * Management-of-Change reviews: which nodes were added, removed or changed (matched by
 * id), which properties changed, function code and other multi-line text as a line diff
 * with context, wiring per output, and layout moves kept apart from real changes so a
 * reviewer is not buried in x/y noise.
 *
 * Wiring is not only `wires`: link nodes connect through `links` (ids, kept on both
 * ends), a subflow definition wires its input, outputs and status port to the nodes
 * inside it (`in`, `out`, `status`), and these show as wiring changes too. A group's
 * members (`nodes`) show one record per member that joined or left, never as a dump of
 * the id array.
 *
 * Linear in the size of the flows apart from sorting what changed: nodes are matched
 * through Maps and an unchanged node costs one deep comparison.
 */

export type TabRef = { id: string; label: string };

export type FlowNodeRef = {
  id: string;
  type: string;
  /** The node's name, or its label (tabs), or type and short id when it has neither. */
  name: string;
  /** The tab or subflow the node sits on; null for tabs, subflows and global config nodes. */
  tab: TabRef | null;
};

/**
 * `before` is undefined when the property was added, `after` when it was removed. A
 * group's members (`nodes`) are a set: one record per member, `added` when it joined
 * (`after` its id), `removed` when it left (`before` its id).
 */
export type PropertyChange = {
  /** Dotted path from the node: `topic`, `rules.1.v`, `headers["content-type"]`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before: unknown;
  after: unknown;
  /** When `before` is a node's id (the tab `z`, the group `g`, a group's member in `nodes`): that node. */
  beforeNode?: FlowNodeRef;
  /** When `after` is a node's id, as for `beforeNode`. */
  afterNode?: FlowNodeRef;
};

export type LineOp = ' ' | '+' | '-';
export type DiffLine = { op: LineOp; text: string };

/** One region of a line diff, unified-diff style: 1-based start lines and line counts on each side. */
export type LineHunk = {
  beforeStart: number;
  beforeCount: number;
  afterStart: number;
  afterCount: number;
  lines: DiffLine[];
};

export type CodeChange = {
  path: string;
  linesAdded: number;
  linesRemoved: number;
  hunks: LineHunk[];
};

/**
 * What makes a connection: `wires` (an output's wires), `links` (a link node's `links`:
 * a link out's or link call's targets, a link in's sources), or a subflow definition's
 * port wired to the nodes inside it (`subflow-in`, `subflow-out`, `subflow-status`).
 */
export type WiringVia = 'wires' | 'links' | 'subflow-in' | 'subflow-out' | 'subflow-status';

/**
 * The node at the other end of a connection. `port` is that node's output feeding a
 * subflow's output or status port. A node on neither side (a dangling id) has type ''
 * and its id as name.
 */
export type WireEnd = FlowNodeRef & { port?: number };

export type WiringChange = {
  /** 0-based output index, as in `wires`; the port index for `subflow-in` and `subflow-out`; 0 for `links` and `subflow-status`. */
  output: number;
  /** Ids of nodes this output is now connected to and was not before. */
  added: string[];
  /** Ids of nodes this output was connected to and no longer is. */
  removed: string[];
  /** What makes the connection; diffFlows always sets it (absent means `wires`). */
  via?: WiringVia;
  /** The nodes of `added`, in the same order, with name and tab. diffFlows always sets it. */
  addedNodes?: WireEnd[];
  /** The nodes of `removed`, in the same order, with name and tab. diffFlows always sets it. */
  removedNodes?: WireEnd[];
};

export type ChangedNode = FlowNodeRef & {
  /** Position or size (x, y, w, h) changed as well. */
  moved: boolean;
  properties: PropertyChange[];
  code: CodeChange[];
  wiring: WiringChange[];
};

export type TabRename = { id: string; type: string; before: string; after: string };

export type FlowDiffSummary = {
  added: number;
  removed: number;
  /** Nodes whose configuration, code or wiring changed. */
  changed: number;
  /** Nodes whose position or size changed, whether or not anything else did. */
  moved: number;
  /** Changed nodes whose wiring changed (`wires`, link nodes' `links`, a subflow's ports). */
  rewired: number;
};

export type FlowDiff = {
  added: FlowNodeRef[];
  removed: FlowNodeRef[];
  /** Nodes whose configuration, code or wiring changed (layout-only changes are in `moved`). */
  changed: ChangedNode[];
  /** Every node whose position or size changed. */
  moved: FlowNodeRef[];
  /** Tabs and subflows added, removed or renamed; they also appear among the nodes above. */
  tabs: { added: FlowNodeRef[]; removed: FlowNodeRef[]; renamed: TabRename[] };
  summary: FlowDiffSummary;
};

const LAYOUT_KEYS = new Set(['x', 'y', 'w', 'h']);
const LINK_TYPES = new Set(['link in', 'link out', 'link call']);
/** Properties holding the id of the node's tab or subflow (`z`) and of its group (`g`). */
const HOLDER_KEYS = new Set(['z', 'g']);
const VIA_ORDER: readonly WiringVia[] = ['wires', 'links', 'subflow-in', 'subflow-out', 'subflow-status'];
const CODE_KEYS_BY_TYPE: Record<string, readonly string[]> = {
  function: ['func', 'initialize', 'finalize'],
  template: ['template'],
  ui_template: ['template'],
};

// ---------------------------------------------------------------------------------------
// Canonical deep equality: equal exactly when canonicalJson would write the same text
// (key order ignored, properties holding undefined same as absent).

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON data as canonicalJson sees it: key order ignored, an undefined property the same as an absent one, array order significant. */
export function canonicalEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!canonicalEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  // Defined properties of a must be equal in b, and b must have no other defined ones.
  // (JSON data has no inherited enumerable properties; were there any, the hasOwn
  // check makes the objects unequal rather than silently equal.)
  let count = 0;
  for (const key in ra) {
    const value = ra[key];
    if (value === undefined) continue;
    if (!canonicalEqual(value, rb[key]) || !Object.hasOwn(rb, key)) return false;
    count++;
  }
  for (const key in rb) if (rb[key] !== undefined) count--;
  return count === 0;
}

// ---------------------------------------------------------------------------------------
// Line diff: Myers' O(ND) algorithm in linear space (the middle-snake bisection), on
// lines interned to integers. A work budget keeps a pathological input (two unrelated
// texts of tens of thousands of lines) from running for seconds: past it, the region
// still being compared is shown as removed and re-added, which is correct, only not
// minimal. The budget counts steps, not time, so the output is always the same.

const DIFF_WORK_BUDGET = 5_000_000;

type LineDiffState = {
  a: Int32Array;
  b: Int32Array;
  removed: Uint8Array;
  inserted: Uint8Array;
  work: number;
};

/** Furthest-reaching forward and reverse paths meet on an optimal path; returns a point of it, or null when the budget ran out or nothing is common. */
function bisect(s: LineDiffState, xoff: number, xlim: number, yoff: number, ylim: number): [number, number] | null {
  const { a, b } = s;
  const n = xlim - xoff;
  const m = ylim - yoff;
  const maxD = (n + m + 1) >> 1;
  const vOffset = maxD;
  const vLength = 2 * maxD + 2;
  const v1 = new Int32Array(vLength).fill(-1);
  const v2 = new Int32Array(vLength).fill(-1);
  v1[vOffset + 1] = 0;
  v2[vOffset + 1] = 0;
  const delta = n - m;
  const front = (delta & 1) !== 0;
  // Diagonals that ran off the grid on either side are not searched again.
  let k1start = 0;
  let k1end = 0;
  let k2start = 0;
  let k2end = 0;
  for (let d = 0; d < maxD; d++) {
    s.work += d + 1;
    if (s.work > DIFF_WORK_BUDGET) return null;
    for (let k1 = -d + k1start; k1 <= d - k1end; k1 += 2) {
      const k1Offset = vOffset + k1;
      let x1 = k1 === -d || (k1 !== d && v1[k1Offset - 1]! < v1[k1Offset + 1]!) ? v1[k1Offset + 1]! : v1[k1Offset - 1]! + 1;
      let y1 = x1 - k1;
      const x1Start = x1;
      while (x1 < n && y1 < m && a[xoff + x1] === b[yoff + y1]) {
        x1++;
        y1++;
      }
      s.work += x1 - x1Start;
      v1[k1Offset] = x1;
      if (x1 > n) k1end += 2;
      else if (y1 > m) k1start += 2;
      else if (front) {
        const k2Offset = vOffset + delta - k1;
        if (k2Offset >= 0 && k2Offset < vLength && v2[k2Offset] !== -1 && x1 >= n - v2[k2Offset]!) return [xoff + x1, yoff + y1];
      }
    }
    for (let k2 = -d + k2start; k2 <= d - k2end; k2 += 2) {
      const k2Offset = vOffset + k2;
      let x2 = k2 === -d || (k2 !== d && v2[k2Offset - 1]! < v2[k2Offset + 1]!) ? v2[k2Offset + 1]! : v2[k2Offset - 1]! + 1;
      let y2 = x2 - k2;
      const x2Start = x2;
      while (x2 < n && y2 < m && a[xlim - 1 - x2] === b[ylim - 1 - y2]) {
        x2++;
        y2++;
      }
      s.work += x2 - x2Start;
      v2[k2Offset] = x2;
      if (x2 > n) k2end += 2;
      else if (y2 > m) k2start += 2;
      else if (!front) {
        const k1Offset = vOffset + delta - k2;
        if (k1Offset >= 0 && k1Offset < vLength && v1[k1Offset] !== -1) {
          const x1 = v1[k1Offset]!;
          const y1 = vOffset + x1 - k1Offset;
          if (x1 >= n - x2) return [xoff + x1, yoff + y1];
        }
      }
    }
  }
  return null;
}

function markRange(flags: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) flags[i] = 1;
}

/** Marks the lines of a[xoff..xlim) removed and of b[yoff..ylim) inserted by a shortest edit script. */
function compareRange(s: LineDiffState, xoff: number, xlim: number, yoff: number, ylim: number): void {
  const { a, b } = s;
  while (xoff < xlim && yoff < ylim && a[xoff] === b[yoff]) {
    xoff++;
    yoff++;
  }
  while (xlim > xoff && ylim > yoff && a[xlim - 1] === b[ylim - 1]) {
    xlim--;
    ylim--;
  }
  if (xoff === xlim) return markRange(s.inserted, yoff, ylim);
  if (yoff === ylim) return markRange(s.removed, xoff, xlim);
  const split = bisect(s, xoff, xlim, yoff, ylim);
  if (split === null || (split[0] === xoff && split[1] === yoff) || (split[0] === xlim && split[1] === ylim)) {
    markRange(s.removed, xoff, xlim);
    markRange(s.inserted, yoff, ylim);
    return;
  }
  compareRange(s, xoff, split[0], yoff, split[1]);
  compareRange(s, split[0], xlim, split[1], ylim);
}

/** Whether any line is in both texts; a rewrite that keeps none needs no search. */
function sharesALine(a: Int32Array, b: Int32Array, distinct: number): boolean {
  const inA = new Uint8Array(distinct);
  for (const id of a) inA[id] = 1;
  for (const id of b) if (inA[id]) return true;
  return false;
}

/**
 * Line diff of two texts (split on "\n", so joining each side's lines gives the text
 * back exactly; the empty text has no lines): hunks of changed lines with `context` unchanged lines around them,
 * merged when they are close. Empty when the texts are equal.
 */
export function diffLines(before: string, after: string, context = 3): LineHunk[] {
  if (before === after) return [];
  // An empty text has no lines (not one empty line), so adding code to an empty
  // property shows only the added lines.
  const aLines = before === '' ? [] : before.split('\n');
  const bLines = after === '' ? [] : after.split('\n');
  const ids = new Map<string, number>();
  const intern = (lines: string[]): Int32Array => {
    const out = new Int32Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      let id = ids.get(line);
      if (id === undefined) {
        id = ids.size;
        ids.set(line, id);
      }
      out[i] = id;
    }
    return out;
  };
  const state: LineDiffState = {
    a: intern(aLines),
    b: intern(bLines),
    removed: new Uint8Array(aLines.length),
    inserted: new Uint8Array(bLines.length),
    work: 0,
  };
  if (sharesALine(state.a, state.b, ids.size)) compareRange(state, 0, aLines.length, 0, bLines.length);
  else {
    markRange(state.removed, 0, aLines.length);
    markRange(state.inserted, 0, bLines.length);
  }

  // The edit script, removals before insertions within a change, with line numbers.
  type Step = { op: LineOp; text: string; ai: number; bi: number };
  const steps: Step[] = [];
  let i = 0;
  let j = 0;
  while (i < aLines.length || j < bLines.length) {
    if (i < aLines.length && state.removed[i]) steps.push({ op: '-', text: aLines[i]!, ai: i++, bi: j });
    else if (j < bLines.length && state.inserted[j]) steps.push({ op: '+', text: bLines[j]!, ai: i, bi: j++ });
    else steps.push({ op: ' ', text: aLines[i]!, ai: i++, bi: j++ });
  }

  const hunks: LineHunk[] = [];
  let k = 0;
  while (k < steps.length) {
    while (k < steps.length && steps[k]!.op === ' ') k++;
    if (k === steps.length) break;
    const start = Math.max(0, k - context);
    // Extend while the next change is within 2 × context unchanged lines.
    let end = k;
    let scan = k;
    while (scan < steps.length) {
      if (steps[scan]!.op !== ' ') {
        end = scan;
        scan++;
        continue;
      }
      let run = scan;
      while (run < steps.length && steps[run]!.op === ' ') run++;
      if (run < steps.length && run - scan <= 2 * context) scan = run;
      else break;
    }
    const stop = Math.min(steps.length, end + 1 + context);
    const lines: DiffLine[] = [];
    let beforeCount = 0;
    let afterCount = 0;
    for (let s = start; s < stop; s++) {
      const step = steps[s]!;
      lines.push({ op: step.op, text: step.text });
      if (step.op !== '+') beforeCount++;
      if (step.op !== '-') afterCount++;
    }
    const first = steps[start]!;
    hunks.push({
      beforeStart: beforeCount === 0 ? first.ai : first.ai + 1,
      beforeCount,
      afterStart: afterCount === 0 ? first.bi : first.bi + 1,
      afterCount,
      lines,
    });
    k = stop;
  }
  return hunks;
}

function codeChange(path: string, before: string, after: string): CodeChange {
  const hunks = diffLines(before, after);
  let linesAdded = 0;
  let linesRemoved = 0;
  for (const hunk of hunks) {
    for (const line of hunk.lines) {
      if (line.op === '+') linesAdded++;
      else if (line.op === '-') linesRemoved++;
    }
  }
  return { path, linesAdded, linesRemoved, hunks };
}

// ---------------------------------------------------------------------------------------
// Property and wiring differences of one node.

const IDENTIFIER_OR_INDEX = /^(?:[A-Za-z_$][A-Za-z0-9_$]*|0|[1-9][0-9]*)$/;

function joinPath(path: string, key: string): string {
  if (!IDENTIFIER_OR_INDEX.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function sortedUnionKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = Object.keys(a);
  for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) keys.push(key);
  return keys.sort(compareText);
}

function isMultiLine(value: unknown): boolean {
  return typeof value === 'string' && value.includes('\n');
}

type NodeChanges = { properties: PropertyChange[]; code: CodeChange[] };

function diffValue(path: string, before: unknown, after: unknown, out: NodeChanges): void {
  if (canonicalEqual(before, after)) return;
  if (isPlainRecord(before) && isPlainRecord(after)) {
    for (const key of sortedUnionKeys(before, after)) diffValue(joinPath(path, key), before[key], after[key], out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i++) diffValue(joinPath(path, String(i)), before[i], after[i], out);
    return;
  }
  if ((isMultiLine(before) || isMultiLine(after)) && (typeof before === 'string' || before === undefined) && (typeof after === 'string' || after === undefined)) {
    out.code.push(codeChange(path, before ?? '', after ?? ''));
    return;
  }
  out.properties.push({
    path,
    kind: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed',
    before,
    after,
  });
}

/** A node's reference by id, looked up on the after side first, then on the before side. */
type Resolve = (id: string) => FlowNodeRef;

/** One end of a connection: a node, and for a subflow port the output of that node feeding it. */
type End = { id: string; port?: number };

function endKey(end: End): string {
  return end.port === undefined ? ` ${end.id}` : `${end.port} ${end.id}`;
}

/** The ends of an output's `wires` (ids; anything else is ignored). */
function wireEnds(output: unknown): End[] {
  return Array.isArray(output) ? output.filter((t): t is string => typeof t === 'string').map((id) => ({ id })) : [];
}

/** The ends of a subflow port's `wires` ({ id, port } objects; anything else is ignored). */
function portEnds(wires: unknown): End[] {
  if (!Array.isArray(wires)) return [];
  const ends: End[] = [];
  for (const wire of wires) {
    if (!isPlainRecord(wire) || typeof wire.id !== 'string') continue;
    ends.push(typeof wire.port === 'number' ? { id: wire.id, port: wire.port } : { id: wire.id });
  }
  return ends;
}

/** Ends in `from` and not in `other`, each once, in order. */
function endsMissing(from: readonly End[], other: readonly End[]): End[] {
  const skip = new Set(other.map(endKey));
  const result: End[] = [];
  for (const end of from) {
    const key = endKey(end);
    if (skip.has(key)) continue;
    skip.add(key);
    result.push(end);
  }
  return result;
}

function wireEnd(end: End, resolve: Resolve): WireEnd {
  const ref = resolve(end.id);
  return end.port === undefined ? ref : { ...ref, port: end.port };
}

/** Connections of one output made and broken, or null when it connects to the same nodes (in any order). */
function connectionChange(via: WiringVia, output: number, was: readonly End[], now: readonly End[], resolve: Resolve): WiringChange | null {
  const added = endsMissing(now, was);
  const removed = endsMissing(was, now);
  if (added.length === 0 && removed.length === 0) return null;
  return {
    output,
    added: added.map((end) => end.id),
    removed: removed.map((end) => end.id),
    via,
    addedNodes: added.map((end) => wireEnd(end, resolve)),
    removedNodes: removed.map((end) => wireEnd(end, resolve)),
  };
}

function diffWiring(before: unknown, after: unknown, resolve: Resolve, out: WiringChange[]): void {
  const b = Array.isArray(before) ? before : [];
  const a = Array.isArray(after) ? after : [];
  const length = Math.max(a.length, b.length);
  for (let output = 0; output < length; output++) {
    const change = connectionChange('wires', output, wireEnds(b[output]), wireEnds(a[output]), resolve);
    if (change) out.push(change);
  }
}

/** An array of ids, [] for an absent one; null for anything else, which is diffed as a plain value. */
function idList(value: unknown): string[] | null {
  if (value === undefined) return [];
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : null;
}

/** A group's members: one record per member that left or joined, whatever the order. */
function diffMembers(path: string, was: readonly string[], now: readonly string[], resolve: Resolve, out: PropertyChange[]): void {
  const toEnds = (ids: readonly string[]): End[] => ids.map((id) => ({ id }));
  for (const { id } of endsMissing(toEnds(was), toEnds(now))) out.push({ path, kind: 'removed', before: id, after: undefined, beforeNode: resolve(id) });
  for (const { id } of endsMissing(toEnds(now), toEnds(was))) out.push({ path, kind: 'added', before: undefined, after: id, afterNode: resolve(id) });
}

/** A property holding a node's id (`z`, `g`): the change, with the nodes it names. */
function holderChange(path: string, was: string | undefined, now: string | undefined, resolve: Resolve): PropertyChange {
  const change: PropertyChange = { path, kind: was === undefined ? 'added' : now === undefined ? 'removed' : 'changed', before: was, after: now };
  if (was !== undefined && was !== '') change.beforeNode = resolve(was);
  if (now !== undefined && now !== '') change.afterNode = resolve(now);
  return change;
}

function withoutLayout(port: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(port).filter(([key]) => !LAYOUT_KEYS.has(key)));
}

/** One port of a subflow definition ({ x, y, wires }): its position is layout, its wires are wiring. */
function diffPort(path: string, via: WiringVia, output: number, was: unknown, now: unknown, resolve: Resolve, delta: NodeDelta): void {
  const b = isPlainRecord(was) ? was : {};
  const a = isPlainRecord(now) ? now : {};
  for (const key of sortedUnionKeys(b, a)) {
    if (canonicalEqual(b[key], a[key])) continue;
    if (LAYOUT_KEYS.has(key)) {
      // A port that appears or goes is a change of the port list, not a move.
      if (was !== undefined && now !== undefined) delta.moved = true;
    } else if (key === 'wires') {
      const change = connectionChange(via, output, portEnds(b.wires), portEnds(a.wires), resolve);
      if (change) delta.wiring.push(change);
    } else diffValue(joinPath(path, key), b[key], a[key], delta);
  }
}

/** A subflow definition's input or outputs (`in`, `out`): how many there are, and each port. */
function diffPorts(key: string, via: WiringVia, was: readonly unknown[], now: readonly unknown[], resolve: Resolve, delta: NodeDelta): void {
  if (was.length !== now.length) delta.properties.push({ path: `${key}.length`, kind: 'changed', before: was.length, after: now.length });
  const length = Math.max(was.length, now.length);
  for (let i = 0; i < length; i++) diffPort(joinPath(key, String(i)), via, i, was[i], now[i], resolve, delta);
}

type NodeDelta = NodeChanges & { moved: boolean; wiring: WiringChange[] };

function isPortList(value: unknown): value is unknown[] | undefined {
  return value === undefined || (Array.isArray(value) && value.every(isPlainRecord));
}

/**
 * Connections and holders that have their own form of change; false when `key` is an
 * ordinary property of this node (or holds a value of an unexpected shape, then diffed
 * as a plain value).
 */
function diffStructural(key: string, before: NodeRedNode, after: NodeRedNode, resolve: Resolve, delta: NodeDelta): boolean {
  const was = before[key];
  const now = after[key];
  const type = after.type;
  if (key === 'wires') {
    diffWiring(was, now, resolve, delta.wiring);
    return true;
  }
  if (HOLDER_KEYS.has(key)) {
    if ((typeof was !== 'string' && was !== undefined) || (typeof now !== 'string' && now !== undefined)) return false;
    delta.properties.push(holderChange(key, was, now, resolve));
    return true;
  }
  if (key === 'links' && (LINK_TYPES.has(type) || LINK_TYPES.has(before.type))) {
    const b = idList(was);
    const a = idList(now);
    if (b === null || a === null) return false;
    const change = connectionChange(
      'links',
      0,
      b.map((id) => ({ id })),
      a.map((id) => ({ id })),
      resolve,
    );
    if (change) delta.wiring.push(change);
    return true;
  }
  if (key === 'nodes' && type === 'group' && before.type === 'group') {
    const b = idList(was);
    const a = idList(now);
    if (b === null || a === null) return false;
    diffMembers(key, b, a, resolve, delta.properties);
    return true;
  }
  if (type !== 'subflow' || before.type !== 'subflow') return false;
  if (key === 'in' || key === 'out') {
    if (!isPortList(was) || !isPortList(now)) return false;
    diffPorts(key, key === 'in' ? 'subflow-in' : 'subflow-out', was ?? [], now ?? [], resolve, delta);
    return true;
  }
  if (key === 'status') {
    if ((!isPlainRecord(was) && was !== undefined) || (!isPlainRecord(now) && now !== undefined)) return false;
    if (was === undefined || now === undefined) {
      delta.properties.push({
        path: key,
        kind: was === undefined ? 'added' : 'removed',
        before: was && withoutLayout(was),
        after: now && withoutLayout(now),
      });
    }
    diffPort(key, 'subflow-status', 0, was, now, resolve, delta);
    return true;
  }
  return false;
}

function diffNode(before: NodeRedNode, after: NodeRedNode, resolve: Resolve): NodeDelta {
  const delta: NodeDelta = { moved: false, properties: [], code: [], wiring: [] };
  const codeKeys = before.type === after.type ? CODE_KEYS_BY_TYPE[after.type] : undefined;
  for (const key of sortedUnionKeys(before, after)) {
    const was = before[key];
    const now = after[key];
    if (key === 'id' || canonicalEqual(was, now)) continue;
    if (LAYOUT_KEYS.has(key)) delta.moved = true;
    else if (diffStructural(key, before, after, resolve, delta)) {
      // wiring, links, group members, tab or group, subflow ports: done
    } else if (codeKeys?.includes(key) && (typeof was === 'string' || was === undefined) && (typeof now === 'string' || now === undefined)) {
      delta.code.push(codeChange(key, was ?? '', now ?? ''));
    } else diffValue(joinPath('', key), was, now, delta);
  }
  // Outputs' wires first, then links, then a subflow's ports; each by output (the sort is stable).
  delta.wiring.sort((a, b) => VIA_ORDER.indexOf(a.via ?? 'wires') - VIA_ORDER.indexOf(b.via ?? 'wires'));
  return delta;
}

// ---------------------------------------------------------------------------------------
// Labels, tabs and ordering.

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function nodeLabel(node: NodeRedNode, lookup: (id: string) => NodeRedNode | undefined): string {
  const own = nonEmpty(node.name) ?? (node.type === 'tab' ? nonEmpty(node.label) : null);
  if (own !== null) return own;
  if (node.type.startsWith('subflow:')) {
    const definition = lookup(node.type.slice('subflow:'.length));
    const name = definition ? nonEmpty(definition.name) : null;
    if (name !== null) return name;
  }
  return `${node.type} ${node.id.slice(0, 6)}`;
}

function isTab(node: NodeRedNode): boolean {
  return node.type === 'tab' || node.type === 'subflow';
}

/** Tabs and subflow definitions by id (the first of a repeated id): all that labels need. */
type Holders = Map<string, NodeRedNode>;

function holdersOf(nodes: readonly NodeRedNode[]): Holders {
  const holders: Holders = new Map();
  for (const node of nodes) if (isTab(node) && !holders.has(node.id)) holders.set(node.id, node);
  return holders;
}

/** A node's reference, its tab looked up on its own side first, then on the other (a node moved onto a removed tab still gets a label). */
function refOf(node: NodeRedNode, own: Holders, other: Holders): FlowNodeRef {
  const lookup = (id: string): NodeRedNode | undefined => own.get(id) ?? other.get(id);
  let tab: TabRef | null = null;
  const z = nonEmpty(node.z);
  if (z !== null) {
    const holder = lookup(z);
    tab = { id: z, label: holder ? nodeLabel(holder, lookup) : z };
  }
  return { id: node.id, type: node.type, name: nodeLabel(node, lookup), tab };
}

/** Global nodes (tabs, subflows, config nodes) first, then by tab label, name and id; code-unit order, so the same on every machine. */
function compareRefs(a: FlowNodeRef, b: FlowNodeRef): number {
  if ((a.tab === null) !== (b.tab === null)) return a.tab === null ? -1 : 1;
  return (a.tab && b.tab ? compareText(a.tab.label, b.tab.label) || compareText(a.tab.id, b.tab.id) : 0) || compareText(a.name, b.name) || compareText(a.id, b.id);
}

/**
 * The difference from `before` to `after`, nodes matched by id (if an id repeats, its
 * first node counts; validate flows first). Every list is sorted by tab label, then
 * name, then id.
 */
export function diffFlows(before: readonly NodeRedNode[], after: readonly NodeRedNode[]): FlowDiff {
  // One hash lookup per node on each side: before is indexed (backwards, so the first of
  // a repeated id wins), after probes it, and what was never matched was removed.
  const beforeIndex = new Map<string, number>();
  for (let i = before.length - 1; i >= 0; i--) beforeIndex.set(before[i]!.id, i);
  const matched = new Uint8Array(before.length);
  const beforeHolders = holdersOf(before);
  const afterHolders = holdersOf(after);

  const added: FlowNodeRef[] = [];
  const removed: FlowNodeRef[] = [];
  const changed: ChangedNode[] = [];
  const moved: FlowNodeRef[] = [];
  const tabs: FlowDiff['tabs'] = { added: [], removed: [], renamed: [] };
  const addedIds = new Set<string>();
  let rewired = 0;

  // Names for the other ends of changed connections and for group and tab ids; the index
  // of after is built only when a change needs one.
  let afterById: Map<string, NodeRedNode> | null = null;
  const resolve: Resolve = (id) => {
    if (afterById === null) {
      afterById = new Map();
      for (const node of after) if (!afterById.has(node.id)) afterById.set(node.id, node);
    }
    const now = afterById.get(id);
    if (now) return refOf(now, afterHolders, beforeHolders);
    const index = beforeIndex.get(id);
    if (index !== undefined) return refOf(before[index]!, beforeHolders, afterHolders);
    return { id, type: '', name: id, tab: null };
  };

  for (const node of after) {
    const index = beforeIndex.get(node.id);
    if (index === undefined) {
      if (addedIds.has(node.id)) continue;
      addedIds.add(node.id);
      const ref = refOf(node, afterHolders, beforeHolders);
      added.push(ref);
      if (isTab(node)) tabs.added.push(ref);
      continue;
    }
    if (matched[index]) continue;
    matched[index] = 1;
    const previous = before[index]!;
    if (previous === node || canonicalEqual(previous, node)) continue;
    const delta = diffNode(previous, node, resolve);
    const ref = refOf(node, afterHolders, beforeHolders);
    if (delta.moved) moved.push(ref);
    if (delta.properties.length === 0 && delta.code.length === 0 && delta.wiring.length === 0) continue;
    changed.push({ ...ref, moved: delta.moved, properties: delta.properties, code: delta.code, wiring: delta.wiring });
    if (delta.wiring.length > 0) rewired++;
    if (isTab(node)) {
      const was = nodeLabel(previous, (id) => beforeHolders.get(id));
      if (was !== ref.name) tabs.renamed.push({ id: node.id, type: node.type, before: was, after: ref.name });
    }
  }
  for (let i = 0; i < before.length; i++) {
    if (matched[i]) continue;
    const node = before[i]!;
    if (beforeIndex.get(node.id) !== i) continue; // a repeat of an id already counted
    const ref = refOf(node, beforeHolders, afterHolders);
    removed.push(ref);
    if (isTab(node)) tabs.removed.push(ref);
  }

  for (const list of [added, removed, changed, moved, tabs.added, tabs.removed]) list.sort(compareRefs);
  tabs.renamed.sort((a, b) => compareText(a.after, b.after) || compareText(a.id, b.id));
  return {
    added,
    removed,
    changed,
    moved,
    tabs,
    summary: { added: added.length, removed: removed.length, changed: changed.length, moved: moved.length, rewired },
  };
}

/** What changed in a snapshot's node modules: by name, added, removed, or at another version. */
export type ModulesDiff = { added: SnapshotModule[]; removed: SnapshotModule[]; changed: Array<{ name: string; before: string; after: string }> };

export function diffModules(before: readonly SnapshotModule[], after: readonly SnapshotModule[]): ModulesDiff {
  const old = new Map(before.map((m) => [m.name, m.version]));
  const now = new Map(after.map((m) => [m.name, m.version]));
  return {
    added: after.filter((m) => !old.has(m.name)),
    removed: before.filter((m) => !now.has(m.name)),
    changed: after.filter((m) => old.has(m.name) && old.get(m.name) !== m.version).map((m) => ({ name: m.name, before: old.get(m.name)!, after: m.version })),
  };
}

/** A runtime setting a snapshot records (`settings`), as it was and is; null where a side has none. */
export type SettingChange = { name: string; before: unknown; after: unknown };

export function diffSettings(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): SettingChange[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.map((name) => ({ name, before: before[name] ?? null, after: after[name] ?? null })).filter((change) => canonicalJson(change.before) !== canonicalJson(change.after));
}

/**
 * What changed in a snapshot's environment variables, by name. A secret's value is never in
 * a snapshot (null), so a secret shows only as added, removed, or turned secret or plain.
 */
export type EnvDiff = { added: SnapshotEnvVar[]; removed: SnapshotEnvVar[]; changed: Array<{ name: string; before: SnapshotEnvVar; after: SnapshotEnvVar }> };

export function diffEnv(before: readonly SnapshotEnvVar[], after: readonly SnapshotEnvVar[]): EnvDiff {
  const old = new Map(before.map((v) => [v.name, v]));
  const now = new Map(after.map((v) => [v.name, v]));
  return {
    added: after.filter((v) => !old.has(v.name)),
    removed: before.filter((v) => !now.has(v.name)),
    changed: after
      .filter((v) => old.has(v.name) && (old.get(v.name)!.value !== v.value || old.get(v.name)!.secret !== v.secret))
      .map((v) => ({ name: v.name, before: old.get(v.name)!, after: v })),
  };
}
