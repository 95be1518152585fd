import { Type } from '@sinclair/typebox';
import { CONDUIT_DIRECTIONS, CONDUIT_INITIATORS, SCOPE_KINDS } from '../../db/schema.ts';
import { Id, Name } from '../../http/schemas.ts';

/** Free text a compliance lead writes: bounded, and no NUL (PostgreSQL refuses it in text). */
const Text = (maxLength: number) => Type.String({ maxLength, pattern: '^[^\\u0000]*$' });

export const SucParams = Type.Object({ sucId: Id });
export const ZoneParams = Type.Object({ zoneId: Id });
export const ConduitParams = Type.Object({ conduitId: Id });

export const ScopeKindSchema = Type.Union(SCOPE_KINDS.map((k) => Type.Literal(k)));
export const ScopeRef = Type.Object({ kind: ScopeKindSchema, id: Id }, { additionalProperties: false });
/** A SuC holds at most this many things by hand; a plant with more is several SuCs, or zones by site. */
const MembersList = Type.Array(ScopeRef, { maxItems: 5000 });

/** A target security level, IEC 62443-3-3: 1 to 4. */
const SecurityLevel = Type.Integer({ minimum: 1, maximum: 4 });
/** SL-T(FR1..FR7), in the order 62443 writes it. */
export const SlVectorSchema = Type.Array(SecurityLevel, { minItems: 7, maxItems: 7, description: 'SL-T per foundational requirement, FR1..FR7, each 1..4' });

export const SucBody = Type.Object(
  { name: Name, description: Type.Optional(Text(4000)), owner: Type.Optional(Text(200)), boundary: Type.Optional(Text(4000)) },
  { additionalProperties: false },
);
export const SucPatch = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Text(4000)), owner: Type.Optional(Text(200)), boundary: Type.Optional(Text(4000)) },
  { additionalProperties: false, minProperties: 1 },
);
export const MembersBody = Type.Object({ members: MembersList }, { additionalProperties: false });

export const ZoneBody = Type.Object(
  { name: Name, description: Type.Optional(Text(4000)), slTarget: SlVectorSchema, members: Type.Optional(MembersList) },
  { additionalProperties: false },
);
export const ZonePatch = Type.Object(
  { name: Type.Optional(Name), description: Type.Optional(Text(4000)), slTarget: Type.Optional(SlVectorSchema), members: Type.Optional(MembersList) },
  { additionalProperties: false, minProperties: 1 },
);

const ZoneEnd = Type.Union([Id, Type.Null()], { description: 'A zone of the SuC, or null for the outside' });
const Direction = Type.Union(CONDUIT_DIRECTIONS.map((d) => Type.Literal(d)));
const Initiator = Type.Union(CONDUIT_INITIATORS.map((d) => Type.Literal(d)));
export const ConduitBody = Type.Object(
  {
    name: Name,
    fromZoneId: ZoneEnd,
    toZoneId: ZoneEnd,
    protocols: Type.Optional(Text(500)),
    ports: Type.Optional(Text(500)),
    direction: Direction,
    initiator: Initiator,
    crossing: Type.Optional(Text(2000)),
  },
  { additionalProperties: false },
);
export const ConduitPatch = Type.Object(
  {
    name: Type.Optional(Name),
    fromZoneId: Type.Optional(ZoneEnd),
    toZoneId: Type.Optional(ZoneEnd),
    protocols: Type.Optional(Text(500)),
    ports: Type.Optional(Text(500)),
    direction: Type.Optional(Direction),
    initiator: Type.Optional(Initiator),
    crossing: Type.Optional(Text(2000)),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const HistoryQuery = Type.Object(
  { before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
  { additionalProperties: false },
);

// --- Replies

export const SucView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  owner: Type.String(),
  boundary: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const SucListItem = Type.Composite([SucView, Type.Object({ members: Type.Integer(), zones: Type.Integer(), conduits: Type.Integer() })]);

export const ScopeThingView = Type.Object({
  kind: ScopeKindSchema,
  id: Type.String(),
  name: Type.String(),
  teamId: Type.Union([Type.String(), Type.Null()]),
  teamName: Type.Union([Type.String(), Type.Null()]),
  /** An instance's running snapshot (name and hash), a site's location. */
  detail: Type.String(),
});
export const ScopeEntry = Type.Composite([ScopeThingView, Type.Object({ sucIds: Type.Array(Type.String()) })]);
export const MemberView = Type.Composite([ScopeThingView, Type.Object({ zoneId: Type.Union([Type.String(), Type.Null()]), addedAt: Type.String() })]);

export const ZoneView = Type.Object({
  id: Type.String(),
  sucId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  slTarget: Type.Array(Type.Integer()),
  members: Type.Array(ScopeThingView),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const ConduitView = Type.Object({
  id: Type.String(),
  sucId: Type.String(),
  name: Type.String(),
  fromZoneId: Type.Union([Type.String(), Type.Null()]),
  toZoneId: Type.Union([Type.String(), Type.Null()]),
  protocols: Type.String(),
  ports: Type.String(),
  direction: Direction,
  initiator: Initiator,
  crossing: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export const DerivedConduitView = Type.Object({
  key: Type.String(),
  name: Type.String(),
  fromZoneId: Type.Union([Type.String(), Type.Null()]),
  fromLabel: Type.String(),
  toLabel: Type.String(),
  protocols: Type.String(),
  ports: Type.String(),
  direction: Direction,
  initiator: Initiator,
  crossing: Type.String(),
});
export const SucDetail = Type.Composite([
  SucView,
  Type.Object({
    members: Type.Array(MemberView),
    zones: Type.Array(ZoneView),
    conduits: Type.Array(ConduitView),
    /** Flowgate's own conduits, derived from the platform's configuration and the zones' devices and instances. */
    derivedConduits: Type.Array(DerivedConduitView),
  }),
]);
export const HistoryEvent = Type.Object({
  seq: Type.Integer(),
  occurredAt: Type.String(),
  actorLabel: Type.Union([Type.String(), Type.Null()]),
  event: Type.String(),
  outcome: Type.String(),
  details: Type.String(),
});
export const HistoryPage = Type.Object({ events: Type.Array(HistoryEvent), nextBefore: Type.Union([Type.Integer(), Type.Null()]) });
