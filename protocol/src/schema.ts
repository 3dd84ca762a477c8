import { Type, type Static } from '@sinclair/typebox';
import { LIMITS } from './limits.js';

const Id = Type.String({ minLength: 1, maxLength: LIMITS.maxIdLength });
const Text = Type.String({ maxLength: LIMITS.maxStringLength });
const EpochMs = Type.Number({ minimum: 0 });

/** Diagnostic variables: counts, ids, checksums and enum values — scalars only, never nested. */
export const AttributesSchema = Type.Record(
  Type.String({ maxLength: LIMITS.maxIdLength }),
  Type.Union([
    Type.String({ maxLength: LIMITS.maxStringLength }),
    Type.Number(),
    Type.Boolean(),
    Type.Null(),
  ]),
  { maxProperties: LIMITS.maxAttributes },
);

export const LogLevelSchema = Type.Union([
  Type.Literal('debug'),
  Type.Literal('info'),
  Type.Literal('warn'),
  Type.Literal('error'),
]);

export const BreadcrumbSchema = Type.Object({
  ts: EpochMs,
  level: Type.Optional(LogLevelSchema),
  category: Type.Optional(Id),
  message: Text,
});

/**
 * Fields every event carries. Each event schema names `kind` first: a compiled check of the union
 * (EventSchema) tries the kinds in turn, and a wrong kind then fails at once instead of after the
 * common fields, breadcrumbs and trace pattern were checked for every kind before the right one.
 */
const common = {
  id: Id,
  ts: EpochMs,
  /** W3C trace id (32 lowercase hex digits). */
  trace: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
  /** URL path only: the SDK strips query strings and fragments. */
  url: Type.Optional(Text),
  online: Type.Optional(Type.Boolean()),
  breadcrumbs: Type.Optional(Type.Array(BreadcrumbSchema, { maxItems: LIMITS.maxBreadcrumbs })),
  /** Set by the collector only, never by clients: the client's `ts` when the collector corrected it. */
  clientTs: Type.Optional(EpochMs),
};

/** Occurrences one event stands for (protocol v1, optional: absent means 1). */
const Count = Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.maxCount }));

export const ErrorEventSchema = Type.Object({
  kind: Type.Literal('error'),
  ...common,
  type: Id,
  message: Text,
  stack: Type.Optional(Text),
  /** How many times this error happened in the session (the SDK sends it once, then counts). */
  count: Count,
  /** How it was caught: `onerror`, `onunhandledrejection` or `manual`. */
  mechanism: Type.Optional(Id),
  /** A fingerprint chosen by the app; overrides server-side grouping. */
  fingerprint: Type.Optional(Id),
});

export const AssertEventSchema = Type.Object({
  kind: Type.Literal('assert'),
  ...common,
  name: Id,
  soft: Type.Boolean(),
  vars: Type.Optional(AttributesSchema),
  /** Uses aggregated by the SDK between uploads (absent: 1). */
  count: Count,
});

export const FeatureEventSchema = Type.Object({
  kind: Type.Literal('feature'),
  ...common,
  name: Id,
  props: Type.Optional(AttributesSchema),
  /** Uses aggregated by the SDK between uploads (absent: 1). */
  count: Count,
});

export const BlockedEventSchema = Type.Object({
  kind: Type.Literal('blocked'),
  ...common,
  reason: Id,
  props: Type.Optional(AttributesSchema),
  /** Times aggregated by the SDK between uploads (absent: 1). */
  count: Count,
});

export const LogEventSchema = Type.Object({
  kind: Type.Literal('log'),
  ...common,
  level: LogLevelSchema,
  message: Text,
});

export const EventSchema = Type.Union([
  ErrorEventSchema,
  AssertEventSchema,
  FeatureEventSchema,
  BlockedEventSchema,
  LogEventSchema,
]);

export const BatchSchema = Type.Object({
  v: Type.Literal(1),
  batchId: Id,
  sentAt: EpochMs,
  release: Id,
  environment: Id,
  session: Id,
  user: Type.Optional(Id),
  account: Type.Optional(Id),
  /** Milliseconds from navigation start to the load event of the page that sent the batch. */
  loadMs: Type.Optional(Type.Number({ minimum: 0 })),
  /** True when the SDK's bait element was hidden: an ad blocker is active. */
  adblock: Type.Optional(Type.Boolean()),
  /** Events the SDK dropped (queue full, rate limited) since its last confirmed batch. */
  dropped: Type.Optional(Type.Integer({ minimum: 0 })),
  /** SDK name and version, e.g. `telltale-browser/0.1.0`. */
  sdk: Type.Optional(Id),
  events: Type.Array(EventSchema, { minItems: 1, maxItems: LIMITS.maxEventsPerBatch }),
});

export type Attributes = Static<typeof AttributesSchema>;
export type LogLevel = Static<typeof LogLevelSchema>;
export type Breadcrumb = Static<typeof BreadcrumbSchema>;
export type ErrorEvent = Static<typeof ErrorEventSchema>;
export type AssertEvent = Static<typeof AssertEventSchema>;
export type FeatureEvent = Static<typeof FeatureEventSchema>;
export type BlockedEvent = Static<typeof BlockedEventSchema>;
export type LogEvent = Static<typeof LogEventSchema>;
export type TelltaleEvent = Static<typeof EventSchema>;
export type EventKind = TelltaleEvent['kind'];
export type Batch = Static<typeof BatchSchema>;

export const EVENT_KINDS: readonly EventKind[] = ['error', 'assert', 'feature', 'blocked', 'log'];

/**
 * One server log line (`POST /v1/logs`, secret key): written by the app's own servers, shipped
 * like client events, and correlated with them on one timeline by trace, session, user and release.
 */
export const ServerLogSchema = Type.Object({
  /** Stable id for dedupe; the collector derives one from the line's content when it is missing. */
  id: Type.Optional(Id),
  ts: EpochMs,
  level: Type.Union([LogLevelSchema, Type.Literal('fatal')]),
  message: Text,
  /** The service that wrote the line, e.g. `api`. */
  service: Id,
  /** W3C trace id (32 lowercase hex digits), from the `traceparent` the SDK adds to API calls. */
  trace: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
  span: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$' })),
  session: Type.Optional(Id),
  user: Type.Optional(Id),
  account: Type.Optional(Id),
  release: Type.Optional(Id),
  environment: Type.Optional(Id),
  attrs: Type.Optional(AttributesSchema),
  /** Set by the collector only: the sender's `ts` when the collector clamped it. */
  clientTs: Type.Optional(EpochMs),
});

export type ServerLog = Static<typeof ServerLogSchema>;
