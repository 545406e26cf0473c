/** JSON as it travels over the wire. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Fault injection, per emulator instance (see `setFaults`). Rates are fractions in [0, 1], drawn in this order. */
export interface FaultOptions {
  /** Fraction of requests answered with one of `errorStatuses` (default [500, 502, 503]). */
  errorRate?: number;
  errorStatuses?: number[];
  /** Fraction of requests answered 429 with `Retry-After: retryAfterSeconds` (default 1). */
  throttleRate?: number;
  retryAfterSeconds?: number;
  /** Fraction of requests that never get an answer (the socket stays open until the client gives up). */
  hangRate?: number;
  /** Fraction of requests whose connection is reset without an answer. */
  resetRate?: number;
  /** While true every /api and capture request answers 503. */
  outage?: boolean;
  /** Seed of the PRNG that draws the faults, so a run is repeatable. Default 1. */
  randomSeed?: number;
}

/** A person to create at start or through `seedPersons`. */
export interface SeedPerson {
  distinctIds: string[];
  properties?: JsonObject;
  /** Default: a random v4 uuid. */
  uuid?: string;
  /** ISO-8601; default now. */
  createdAt?: string;
  isIdentified?: boolean;
  /** Default: the emulator's project. */
  teamId?: number;
  /**
   * A person that exists only in "ClickHouse" (not in Postgres): list pages count it when deciding `next`, but never
   * return it (PostHog `test_pagination_limit`). Funnels count it under `missing_persons`.
   */
  clickhouseOnly?: boolean;
}

/** An event to ingest at start or through `seedEvents`; processed at once, exactly as a capture would be. */
export interface SeedEvent {
  event: string;
  distinctId: string;
  properties?: JsonObject;
  /** ISO-8601; default now. */
  timestamp?: string;
  uuid?: string;
  teamId?: number;
}

/** A static cohort; `members` are person uuids or distinct ids of the cohort's team. */
export interface SeedCohort {
  name: string;
  members: string[];
  teamId?: number;
  /** Default: next free id. */
  id?: number;
}

/** Everything `startPostHogEmulator` can create before it starts listening. */
export interface EmulatorSeed {
  /** Extra teams (other projects) for isolation tests; each gets its own project token `phc_team<ID>`. */
  teams?: number[];
  persons?: SeedPerson[];
  events?: SeedEvent[];
  cohorts?: SeedCohort[];
}

/** A personal API key the emulator accepts. */
export interface ApiKeySpec {
  /** Default: a random `phx_…` value. */
  value?: string;
  /** `null` = a legacy key with no scopes (see `legacy`); `['*']` = all scopes. */
  scopes: string[] | null;
  /** Projects the key is limited to; default all. */
  projects?: number[];
  /**
   * How a `scopes: null` key is read. `true`: the pre-2026-03 legacy key that may do anything, funnel included.
   * `false`: current PostHog (PR #51237), where a key with no scopes is refused every action. Default: `true` only
   * when the emulator runs with `funnelRoutes: 'legacy'`.
   */
  legacy?: boolean;
}

/**
 * Which PostHog the funnel person routes (`persons/funnel/`, `persons/funnel/correlation/`) behave like.
 * - `removed` (default): current PostHog, where PR #73064 (2026-07-23) removed them: GET `funnel/` falls through to
 *   retrieve (400 "does not look like a personID"), POST `funnel/` is a 405, `funnel/correlation/` a 404.
 * - `refused`: PostHog from PR #51237 (2026-03-17) until then: the routes exist, but every personal API key, the
 *   default `["*"]` key included, gets 403 "This action does not support personal API key access".
 * - `legacy`: older self-hosted PostHog: the routes exist and the default key is a legacy no-scope key that may
 *   call them.
 */
export type FunnelRoutes = 'removed' | 'refused' | 'legacy';

/** Another team (project) of the same emulator, for cross-project isolation tests. */
export interface TeamSpec {
  id: number;
  /** Default `phc_team<ID>`. */
  projectToken?: string;
}

/** The options of `startPostHogEmulator` (contract A). */
export interface PostHogEmulatorOptions {
  /** Default 0 (ephemeral). The server always binds 127.0.0.1. */
  port?: number;
  /** Default 1 (team id == project id). */
  projectId?: number;
  /**
   * Default 1. 60 = a minute passes in a second: rate-limit windows, split/ingestion/async-deletion delays all shrink
   * by this factor. See `Retry-After` in docs/emulator.md: it is always REAL seconds (integer, at least 1, rounded up).
   */
  timeScale?: number;
  rateLimits?: {
    deletePerMinute?: number;
    deletePerHour?: number;
    otherPerMinute?: number;
    enabled?: boolean;
    /** `key` (default, PostHog's code: one bucket per personal key) or `team` (PostHog's docs: one bucket per team). */
    scope?: 'key' | 'team';
  };
  /** Delay before a queued split is applied (real ms before timeScale). Default 0 = on the next tick. */
  splitDelayMs?: number;
  /** Delay before capture, `$set`, update_property and delete_property effects apply. Default 0. */
  ingestionDelayMs?: number;
  /** Delay before an async-mode bulk delete is carried out. Default 0. */
  asyncDeleteDelayMs?: number;
  /** `async` = the `PERSON_BULK_DELETE_ASYNC` response shape. Default `sync`. */
  bulkDeleteMode?: 'sync' | 'async';
  seed?: EmulatorSeed;
  faults?: FaultOptions;
  /** Default `removed` (current PostHog); `legacy` for older self-hosted PostHog. See {@link FunnelRoutes}. */
  funnelRoutes?: FunnelRoutes;
  /**
   * The default personal key value. Default `phx_emulator_demo_personal_api_key`. The key has scopes `["*"]`, as
   * every former legacy key has since PR #51237, except with `funnelRoutes: 'legacy'`, where it is a legacy
   * no-scope key.
   */
  personalApiKey?: string;
  /** More teams (projects) to create at start, each with its own project token. */
  teams?: TeamSpec[];
  /** More personal keys to register at start (e.g. one limited to a second project); see `apiKeys` on the handle. */
  apiKeys?: ApiKeySpec[];
  /** The project token. Default `phc_emulator_demo_project_token`. */
  projectToken?: string;
  /** Property keys hidden by property-level access control: stripped from every shape and not writable. */
  restrictedProperties?: string[];
  /**
   * The real clock behind rate-limit windows (epoch ms), injectable so a test can step time instead of sleeping.
   * Default `Date.now`. Delayed effects still use real timers (use `flush()` for those).
   */
  now?: () => number;
  /** The user the personal keys belong to, as shown in activity entries. */
  user?: { first_name: string; email: string };
}

/** One row of the request log. */
export interface RequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  /** `0` when no answer was sent (hang or reset fault). */
  status: number;
  /** Real epoch ms when the request arrived. */
  at: number;
  /** A stable label: `persons/bulk_delete`, `persons/:id/split`, `capture`, `batch`, `unknown`… */
  endpoint: string;
  /** The injected fault, if one answered this request. */
  fault?: 'error' | 'throttle' | 'hang' | 'reset' | 'outage';
  /** The query string (without `?`), when there was one. */
  query?: string;
}

/** A read-only view of one person. */
export interface PersonSnapshot {
  id: number;
  uuid: string;
  teamId: number;
  distinctIds: string[];
  properties: JsonObject;
  createdAt: string;
  isIdentified: boolean;
  version: number;
  clickhouseOnly: boolean;
}

/** A read-only view of one ingested event. */
export interface EventSnapshot {
  uuid: string;
  teamId: number;
  event: string;
  distinctId: string;
  properties: JsonObject;
  timestamp: string;
  /** The person the event was attributed to at ingestion (before later merges). */
  personUuid: string | null;
}

/** An activity log entry in PostHog's exact wire shape. */
export interface ActivityEntry {
  id: string;
  user: { first_name: string; email: string };
  activity: 'deleted' | 'split_person' | 'updated' | 'delete_property';
  scope: 'Person';
  item_id: string;
  detail: {
    changes: ActivityChange[] | null;
    trigger: null;
    type: null;
    name: string | null;
    short_id: null;
  };
  created_at: string;
}

/** One change inside an activity entry. */
export interface ActivityChange {
  type: 'Person';
  action: string;
  field: string | null;
  before: JsonValue;
  after: JsonValue;
}

/** An `AsyncDeletion` row (events of a person queued for deletion). */
export interface AsyncDeletionRow {
  teamId: number;
  personUuid: string;
  createdAt: string;
  deleteVerifiedAt: string | null;
}

/** A static cohort as stored. */
export interface CohortSnapshot {
  id: number;
  teamId: number;
  name: string;
  memberUuids: string[];
  deleted: boolean;
}

/** An ingestion warning (PostHog's `ingestion_warnings`), e.g. `cannot_merge_with_illegal_distinct_id`. */
export interface IngestionWarning {
  type: string;
  teamId: number;
  details: JsonObject;
}
