import type { ChangedNode, CodeChange, FlowDiff, FlowNode, FlowNodeRef, LineHunk, PropertyChange, WiringChange } from '../../types.ts';

/** Names of the nodes of both sides, for wires that point at nodes the diff does not list. */
export type NodeNames = Map<string, string>;

/** The nodes of both sides by id, to show the code of nodes added or removed whole. */
export interface DiffSides {
  names: NodeNames;
  before: Map<string, FlowNode>;
  after: Map<string, FlowNode>;
}

export const NO_SIDES: DiffSides = { names: new Map(), before: new Map(), after: new Map() };

const CODE_KEYS: Record<string, readonly string[]> = { function: ['func', 'initialize', 'finalize'], template: ['template'], ui_template: ['template'] };

/** The code of a node that was added or removed whole, as a diff of all + or all − lines. */
function wholeCode(node: FlowNode | undefined, op: '+' | '-'): CodeChange[] {
  if (!node) return [];
  const changes: CodeChange[] = [];
  for (const key of CODE_KEYS[node.type] ?? []) {
    const text = node[key];
    if (typeof text !== 'string' || text === '') continue;
    const lines = text.split('\n').map((line) => ({ op, text: line }));
    const count = lines.length;
    changes.push({
      path: key,
      linesAdded: op === '+' ? count : 0,
      linesRemoved: op === '-' ? count : 0,
      hunks: [{ beforeStart: op === '-' ? 1 : 0, beforeCount: op === '-' ? count : 0, afterStart: op === '+' ? 1 : 0, afterCount: op === '+' ? count : 0, lines }],
    });
  }
  return changes;
}

export function NodeName({ node }: { node: FlowNodeRef }) {
  return (
    <>
      <span className="node-name">{node.name}</span> <span className="badge node-type">{node.type}</span> <span className="mono muted small node-id">{node.id}</span>
    </>
  );
}

const SUMMARY_PARTS = [
  { key: 'added', label: 'added' },
  { key: 'removed', label: 'removed' },
  { key: 'changed', label: 'changed' },
  { key: 'moved', label: 'moved' },
  { key: 'rewired', label: 'rewired' },
] as const;

/** Counts as chips, and the share of each kind of change as one bar (rewired nodes are among the changed ones). */
export function DiffSummary({ summary }: { summary: FlowDiff['summary'] }) {
  const bar = SUMMARY_PARTS.filter((p) => p.key !== 'rewired');
  const total = bar.reduce((sum, p) => sum + summary[p.key], 0);
  let x = 0;
  return (
    <div className="diff-summary">
      <ul className="chips" aria-label="Summary of changes">
        {SUMMARY_PARTS.map((p) => (
          <li key={p.key} className={`chip chip-${p.key}${summary[p.key] === 0 ? ' chip-zero' : ''}`}>
            <strong>{summary[p.key]}</strong> {p.label}
          </li>
        ))}
      </ul>
      {total > 0 && (
        <svg className="summary-bar" viewBox="0 0 100 4" preserveAspectRatio="none" role="img" aria-label={bar.map((p) => `${summary[p.key]} ${p.label}`).join(', ')}>
          {bar.map((p) => {
            const width = (summary[p.key] / total) * 100;
            const rect = <rect key={p.key} className={`bar-${p.key}`} x={x} y={0} width={width} height={4} />;
            x += width;
            return rect;
          })}
        </svg>
      )}
    </div>
  );
}

function show(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return JSON.stringify(value);
  return JSON.stringify(value, null, 1) ?? String(value);
}

export function PropertyTable({ changes }: { changes: PropertyChange[] }) {
  return (
    <table className="property-table">
      <thead>
        <tr>
          <th scope="col">Property</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((change, i) => (
          // A group's members share the path `nodes`: one row each.
          <tr key={`${change.path}:${i}`} className={`prop-${change.kind}`}>
            <th scope="row" className="mono">
              {change.path}
            </th>
            <td className="value-before">
              {change.kind === 'added' ? <span className="muted">(not set)</span> : <code className="value">{show(change.before)}</code>}
              {change.beforeNode && <NodeAside node={change.beforeNode} />}
            </td>
            <td className="value-after">
              {change.kind === 'removed' ? <span className="muted">(removed)</span> : <code className="value">{show(change.after)}</code>}
              {change.afterNode && <NodeAside node={change.afterNode} />}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Hunk({ hunk }: { hunk: LineHunk }) {
  let before = hunk.beforeStart;
  let after = hunk.afterStart;
  return (
    <>
      <div className="diff-line diff-hunk">
        <span className="ln" />
        <span className="ln" />
        <span className="diff-text">
          @@ -{hunk.beforeStart},{hunk.beforeCount} +{hunk.afterStart},{hunk.afterCount} @@
        </span>
      </div>
      {hunk.lines.map((line, i) => {
        const b = line.op === '+' ? '' : before++;
        const a = line.op === '-' ? '' : after++;
        const kind = line.op === '+' ? 'diff-add' : line.op === '-' ? 'diff-del' : 'diff-ctx';
        return (
          <div key={i} className={`diff-line ${kind}`}>
            <span className="ln">{b}</span>
            <span className="ln">{a}</span>
            <span className="diff-text">
              <span className="diff-op" aria-hidden="true">
                {line.op}
              </span>
              {line.op !== ' ' && <span className="visually-hidden">{line.op === '+' ? 'added: ' : 'removed: '}</span>}
              {line.text}
            </span>
          </div>
        );
      })}
    </>
  );
}

export function CodeDiff({ change }: { change: CodeChange }) {
  return (
    <div className="code-change">
      <p className="code-head">
        <span className="mono">{change.path}</span> <span className="count-add">+{change.linesAdded}</span> <span className="count-del">−{change.linesRemoved}</span>
      </p>
      <div className="code-diff">
        {change.hunks.map((hunk, i) => (
          <Hunk key={i} hunk={hunk} />
        ))}
      </div>
    </div>
  );
}

/** The node an id names, beside the id: "Filler (group, on Line 3)". */
function NodeAside({ node }: { node: FlowNodeRef }) {
  return (
    <span className="small muted block">
      {node.name}
      {node.type && ` (${node.type}${node.tab ? `, on ${node.tab.label}` : ''})`}
    </span>
  );
}

/** What a wiring change connects: an output's wires, a link node's links, a subflow's ports. */
function wiringLabel(w: WiringChange): string {
  switch (w.via) {
    case 'links':
      return 'links:';
    case 'subflow-in':
      return `subflow input ${w.output + 1}:`;
    case 'subflow-out':
      return `subflow output ${w.output + 1}:`;
    case 'subflow-status':
      return 'subflow status:';
    default:
      return `output ${w.output + 1}:`;
  }
}

export function Wiring({ changes, names }: { changes: WiringChange[]; names: NodeNames }) {
  const label = (id: string, i: number, ends: WiringChange['addedNodes']) => {
    const end = ends?.[i];
    const name = end?.name ?? names.get(id) ?? id;
    return end?.port === undefined ? name : `${name} (output ${end.port + 1})`;
  };
  return (
    <ul className="wiring">
      {changes.map((w) => (
        <li key={`${w.via ?? 'wires'}:${w.output}`}>
          <span className="wiring-output">{wiringLabel(w)}</span>
          {w.added.map((id, i) => (
            <span key={`+${id}:${i}`} className="wire wire-add" title={id}>
              + {label(id, i, w.addedNodes)}
            </span>
          ))}
          {w.removed.map((id, i) => (
            <span key={`-${id}:${i}`} className="wire wire-del" title={id}>
              − {label(id, i, w.removedNodes)}
            </span>
          ))}
        </li>
      ))}
    </ul>
  );
}

export function ChangedNodeCard({ node, names }: { node: ChangedNode; names: NodeNames }) {
  return (
    <article className="diff-node diff-node-changed" aria-label={`Changed: ${node.name}`}>
      <h5>
        <NodeName node={node} />
        {node.moved && <span className="badge">moved too</span>}
      </h5>
      {node.properties.length > 0 && <PropertyTable changes={node.properties} />}
      {node.code.map((change) => (
        <CodeDiff key={change.path} change={change} />
      ))}
      {node.wiring.length > 0 && (
        <div className="wiring-block">
          <p className="small muted">Wiring</p>
          <Wiring changes={node.wiring} names={names} />
        </div>
      )}
    </article>
  );
}

export interface TabGroup {
  key: string;
  label: string;
  global: boolean;
  added: FlowNodeRef[];
  removed: FlowNodeRef[];
  changed: ChangedNode[];
  moved: FlowNodeRef[];
}

/** The diff per tab (flow), global things (tabs, subflows, configuration nodes) first. */
export function groupByTab(diff: FlowDiff): TabGroup[] {
  const groups = new Map<string, TabGroup>();
  const groupOf = (ref: FlowNodeRef) => {
    const key = ref.tab?.id ?? '';
    let group = groups.get(key);
    if (!group) {
      group = { key, label: ref.tab?.label ?? 'Tabs, subflows and configuration nodes', global: ref.tab === null, added: [], removed: [], changed: [], moved: [] };
      groups.set(key, group);
    }
    return group;
  };
  for (const ref of diff.added) groupOf(ref).added.push(ref);
  for (const ref of diff.removed) groupOf(ref).removed.push(ref);
  for (const node of diff.changed) groupOf(node).changed.push(node);
  for (const ref of diff.moved) groupOf(ref).moved.push(ref);
  return [...groups.values()].sort((a, b) => (a.global !== b.global ? (a.global ? -1 : 1) : a.label < b.label ? -1 : a.label > b.label ? 1 : a.key < b.key ? -1 : 1));
}

export function TabGroupView({ group, sides }: { group: TabGroup; sides: DiffSides }) {
  const headingId = `tab-${group.key || 'global'}`;
  return (
    <section className="diff-tab" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {group.global ? group.label : <>Flow “{group.label}”</>}
        {!group.global && <span className="mono muted small"> {group.key}</span>}
      </h3>
      {group.added.length > 0 && (
        <div className="diff-block">
          <h4 className="block-title title-add">Added ({group.added.length})</h4>
          <ul className="node-list node-list-add">
            {group.added.map((n) => (
              <li key={n.id}>
                <NodeName node={n} />
                {wholeCode(sides.after.get(n.id), '+').map((change) => (
                  <CodeDiff key={change.path} change={change} />
                ))}
              </li>
            ))}
          </ul>
        </div>
      )}
      {group.removed.length > 0 && (
        <div className="diff-block">
          <h4 className="block-title title-del">Removed ({group.removed.length})</h4>
          <ul className="node-list node-list-del">
            {group.removed.map((n) => (
              <li key={n.id}>
                <NodeName node={n} />
                {wholeCode(sides.before.get(n.id), '-').map((change) => (
                  <CodeDiff key={change.path} change={change} />
                ))}
              </li>
            ))}
          </ul>
        </div>
      )}
      {group.changed.length > 0 && (
        <div className="diff-block">
          <h4 className="block-title title-change">Changed ({group.changed.length})</h4>
          {group.changed.map((n) => (
            <ChangedNodeCard key={n.id} node={n} names={sides.names} />
          ))}
        </div>
      )}
      {group.moved.length > 0 && (
        <div className="diff-block">
          <h4 className="block-title title-move">Moved ({group.moved.length})</h4>
          <p className="moved-list small">
            {group.moved.map((n, i) => (
              <span key={n.id}>
                {i > 0 && ', '}
                {n.name}
              </span>
            ))}
          </p>
        </div>
      )}
    </section>
  );
}
