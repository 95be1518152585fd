/**
 * The reply schema of a change review (GET /api/instances/:instanceId/diff): the flow diff that
 * packages/core computes, and the modules, settings and environment around it. The schema is
 * what the OpenAPI document (and so the web UI's types) says; the assertions at the end fail the
 * type check when core's types and this schema part ways.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { EnvDiff, FlowDiff, ModulesDiff, SettingChange } from '@flowgate/core';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const TabRef = Type.Object({ id: Type.String(), label: Type.String() });
const FlowNodeRef = Type.Object({
  id: Type.String(),
  type: Type.String(),
  name: Type.String({ description: "The node's name, or its label (tabs), or type and short id when it has neither" }),
  tab: Nullable(TabRef),
});
/** Any JSON: a property's value as the flow holds it. */
const Json = Type.Unknown();
const PropertyChange = Type.Object({
  path: Type.String({ description: 'Dotted path from the node: topic, rules.1.v, headers["content-type"]' }),
  kind: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed')]),
  before: Json,
  after: Json,
  beforeNode: Type.Optional(FlowNodeRef),
  afterNode: Type.Optional(FlowNodeRef),
});
const LineHunk = Type.Object({
  beforeStart: Type.Integer(),
  beforeCount: Type.Integer(),
  afterStart: Type.Integer(),
  afterCount: Type.Integer(),
  lines: Type.Array(Type.Object({ op: Type.Union([Type.Literal(' '), Type.Literal('+'), Type.Literal('-')]), text: Type.String() })),
});
const CodeChange = Type.Object({ path: Type.String(), linesAdded: Type.Integer(), linesRemoved: Type.Integer(), hunks: Type.Array(LineHunk) });
const WireEnd = Type.Composite([FlowNodeRef, Type.Object({ port: Type.Optional(Type.Integer()) })]);
const WiringChange = Type.Object({
  output: Type.Integer(),
  added: Type.Array(Type.String()),
  removed: Type.Array(Type.String()),
  via: Type.Optional(Type.Union([Type.Literal('wires'), Type.Literal('links'), Type.Literal('subflow-in'), Type.Literal('subflow-out'), Type.Literal('subflow-status')])),
  addedNodes: Type.Optional(Type.Array(WireEnd)),
  removedNodes: Type.Optional(Type.Array(WireEnd)),
});
const ChangedNode = Type.Composite([
  FlowNodeRef,
  Type.Object({ moved: Type.Boolean(), properties: Type.Array(PropertyChange), code: Type.Array(CodeChange), wiring: Type.Array(WiringChange) }),
]);
export const FlowDiffView = Type.Object({
  added: Type.Array(FlowNodeRef),
  removed: Type.Array(FlowNodeRef),
  changed: Type.Array(ChangedNode),
  moved: Type.Array(FlowNodeRef),
  tabs: Type.Object({
    added: Type.Array(FlowNodeRef),
    removed: Type.Array(FlowNodeRef),
    renamed: Type.Array(Type.Object({ id: Type.String(), type: Type.String(), before: Type.String(), after: Type.String() })),
  }),
  summary: Type.Object({ added: Type.Integer(), removed: Type.Integer(), changed: Type.Integer(), moved: Type.Integer(), rewired: Type.Integer() }),
});

const Module = Type.Object({ name: Type.String(), version: Type.String() });
export const ModulesDiffView = Type.Object({
  added: Type.Array(Module),
  removed: Type.Array(Module),
  changed: Type.Array(Type.Object({ name: Type.String(), before: Type.String(), after: Type.String() })),
});
export const SettingChangeView = Type.Object({ name: Type.String(), before: Json, after: Json });
const EnvVar = Type.Object({ name: Type.String(), value: Nullable(Type.String()), secret: Type.Boolean() });
export const EnvDiffView = Type.Object({
  added: Type.Array(EnvVar),
  removed: Type.Array(EnvVar),
  changed: Type.Array(Type.Object({ name: Type.String(), before: EnvVar, after: EnvVar })),
});

// Both ways assignable: the schema says exactly what core computes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: [
  Same<Static<typeof FlowDiffView>, FlowDiff>,
  Same<Static<typeof ModulesDiffView>, ModulesDiff>,
  Same<Static<typeof SettingChangeView>, SettingChange>,
  Same<Static<typeof EnvDiffView>, EnvDiff>,
] = [true, true, true, true];
void sameShape;
