import type * as z from 'zod';
import type { JsonValue } from '../messages/index.ts';
import type {
  ActivityEntrySchema,
  CohortMinimalSchema,
  DeletionStatusEntrySchema,
  FunnelActorsPageSchema,
  MinimalPersonSchema,
  PersonRecordSchema,
  SerializedPersonSchema,
} from './schemas.ts';

/** Any JSON value (a person property value); the message contract defines it. */
export type { JsonValue };

/** A person's numeric `id` or its `uuid`. A distinct id is NOT a person reference. */
export type PersonRef = string | number;

/** `PersonSerializer` shape (retrieve): integer `id`. */
export type PersonRecord = z.output<typeof PersonRecordSchema>;
/** batch_by_distinct_ids entry: like {@link PersonRecord} with at most 10 distinct ids. */
export type MinimalPerson = z.output<typeof MinimalPersonSchema>;
/** list / funnel shape: `id` is the uuid string. */
export type SerializedPerson = z.output<typeof SerializedPersonSchema>;
/** One activity-log entry. */
export type ActivityEntry = z.output<typeof ActivityEntrySchema>;
/** `{id, name, count}` of a cohort the person belongs to. */
export type CohortMinimal = z.output<typeof CohortMinimalSchema>;
/** One `deletion_status` row. */
export type DeletionStatusEntry = z.output<typeof DeletionStatusEntrySchema>;
/** One raw page of funnel or funnel/correlation actors. */
export type FunnelActorsPage = z.output<typeof FunnelActorsPageSchema>;

/** Per-call options. */
export interface RequestOptions {
  /**
   * Epoch ms (same clock as the client's `now`). The client never starts an attempt, sleeps for a
   * backoff or waits for the rate limiter past it; it throws `PostHogDeadlineError` instead.
   * In Lambda: `now() + context.getRemainingTimeInMillis() - safetyMargin`.
   */
  deadline?: number;
  /** Aborts the call (and any wait) when fired; surfaces as `PostHogAbortError`. */
  signal?: AbortSignal;
}

/** Client-side rate governance (see `rate-limiter.ts`). */
export interface RateLimitOptions {
  /** Delete bucket burst (destroy, bulk_delete). @default 480 */
  deletePerMinute?: number;
  /** Delete bucket sustained. @default 4800 */
  deletePerHour?: number;
  /** Every other persons action. @default 240 */
  otherPerMinute?: number;
  /** How many concurrent processes share the key (Lambda maxConcurrency); each gets 1/N. @default 1 */
  instances?: number;
  /**
   * Compresses the windows by this factor (a minute lasts 60 000/timeScale ms). Only for a
   * time-scaled emulator; 1 against real PostHog. @default 1
   */
  timeScale?: number;
  /** Extra ms added to each window to absorb network jitter between us and PostHog's clock. @default 1000 (scaled) */
  safetyMarginMs?: number;
}

/** What the metrics hook receives after every attempt (status 0: no HTTP response). */
export interface ResponseInfo {
  endpoint: string;
  method: string;
  status: number;
  durationMs: number;
  attempt: number;
}

/** A minimal structured logger (Powertools Logger fits). Never receives keys. */
export interface PostHogLogger {
  debug(msg: string, extra?: object): void;
  warn(msg: string, extra?: object): void;
}

/** Constructor options of `PostHogClient`. Nothing is read from `process.env`. */
export interface PostHogClientOptions {
  /** `https://us.posthog.com`, `https://eu.posthog.com` or a self-hosted origin. http only for loopback. */
  host: string;
  /** Capture origin. @default derived: us/eu.posthog.com → us/eu.i.posthog.com; otherwise `host` */
  captureHost?: string;
  /** The project (environment) id in `/api/projects/:id/`; `@current` is accepted. */
  projectId: number | string;
  /** Personal API key (`phx_…`), sent only as `Authorization: Bearer` to `host`. */
  personalApiKey: string;
  /** Project token (`phc_…`) for capture, merge and capture-based writes. */
  projectToken?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Clock in epoch ms. @default Date.now */
  now?: () => number;
  /** Sleep that rejects when `signal` aborts. @default a setTimeout-based sleep */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Randomness for backoff jitter. @default Math.random */
  random?: () => number;
  /** Per-attempt timeout in ms. @default 30 000 */
  timeoutMs?: number;
  /** Retries after the first attempt. @default 3 */
  maxRetries?: number;
  /**
   * Largest `Retry-After` the client sleeps for. A longer one is not shortened (that would only earn
   * another 429): the error is thrown with `retryAfterMs` so the caller can reschedule. @default 60 000
   */
  maxRetryAfterMs?: number;
  /** Backoff ceiling for the first retry. @default 500 */
  backoffBaseMs?: number;
  /** Backoff cap. @default 8 000 */
  backoffCapMs?: number;
  /** Client-side limits, or `false` to turn the limiter off. @default PostHog's documented limits */
  rateLimits?: RateLimitOptions | false;
  logger?: PostHogLogger;
  /** Metrics hook, called after every attempt. */
  onResponse?: (info: ResponseInfo) => void;
}

/** `bulkDelete` target: person uuids or distinct ids, never both. */
export type BulkDeleteTarget = { ids: string[] } | { distinctIds: string[] };

/** `bulkDelete` flags (bodies send real JSON booleans: PostHog `bool()`s them, so `"false"` would mean true). */
export interface BulkDeleteFlags {
  deleteEvents?: boolean;
  deleteRecordings?: boolean;
  keepPerson?: boolean;
  /** Progress callback after each chunk of at most 1000 (the CLI's progress bar). */
  onChunk?: (progress: BulkDeleteProgress) => void;
}

/** Progress of a chunked bulk delete. */
export interface BulkDeleteProgress {
  chunk: number;
  chunks: number;
  idsDone: number;
  idsTotal: number;
  result: BulkDeleteResult;
}

/** Merged result of every bulk_delete chunk. */
export interface BulkDeleteResult {
  personsFound: number;
  personsDeleted: number;
  /** Persons queued by the async mode; 0 in synchronous mode. */
  personsQueuedForDeletion: number;
  eventsQueuedForDeletion: boolean;
  recordingsQueuedForDeletion: boolean;
  /** Persons NOT deleted; retry them. `step` is set by the async mode. */
  deletionErrors: { personUuid: string; step?: string }[];
  /** HTTP calls made (chunks), retries not counted. */
  calls: number;
}

/** Query of `list`. */
export interface ListQuery {
  distinctId?: string;
  email?: string;
  search?: string;
  /** Property filters: an array (JSON-encoded for you) or an already-encoded string. */
  properties?: JsonValue[] | string;
  /** Page size. @default 100 (PostHog's) */
  limit?: number;
  offset?: number;
  includeTotal?: boolean;
}

/** Query of `activity`. */
export interface ActivityQuery {
  /** One person's activity; omit for every person in the project (deleted persons included). */
  person?: PersonRef;
  /** Page size. @default 10 (PostHog's) */
  limit?: number;
}

/** Query of `deletionStatus`. */
export interface DeletionStatusQuery {
  status?: 'pending' | 'completed' | 'all';
  personUuid?: string;
  limit?: number;
}

/**
 * Legacy Filter params of funnel persons (`events`, `actions`, `funnel_step`, `date_from`,
 * `breakdown`, `limit`, …) in PostHog's snake_case. Objects and arrays are JSON-encoded on GET.
 */
export type FunnelParams = Record<string, JsonValue | undefined>;

/** Extra options of funnel and correlation calls. */
export interface FunnelOptions extends RequestOptions {
  /** GET puts params in the query string; POST sends them as the JSON body. @default 'GET' */
  method?: 'GET' | 'POST';
}

/** One capture event. */
export interface CaptureEvent {
  event: string;
  distinctId: string;
  properties?: Record<string, JsonValue>;
  /** ISO-8601. */
  timestamp?: string;
  /** Event uuid; the client fills a random one in so a retried send is deduplicated by PostHog. */
  uuid?: string;
}

/** Arguments of `mergeDangerously`. */
export interface MergeArgs {
  /** The id that survives (CRM id); becomes the event's `distinct_id`. */
  survivorDistinctId: string;
  /** The id merged away (`properties.alias`). */
  mergedDistinctId: string;
  /** Event uuid, e.g. derived from the message id so a redelivery is the same event. */
  uuid?: string;
  timestamp?: string;
  /** Properties to `$set` on the survivor in the same event. */
  set?: Record<string, JsonValue>;
}
