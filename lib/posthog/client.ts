import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type * as z from 'zod';
import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_CAP_MS,
  errorFromFetchFailure,
  errorFromResponse,
  isConnectionReset,
  isRetryable,
  PostHogAbortError,
  PostHogApiError,
  PostHogConnectionError,
  PostHogDeadlineError,
  PostHogEndpointUnavailableError,
  type PostHogError,
  PostHogRateLimitError,
  ResponseValidationError,
  registerSecret,
  requestIdOf,
  retryDelayMs,
} from './errors.ts';
import { deriveCaptureHost, normalizeHost, normalizeProjectId } from './host.ts';
import { isIllegalDistinctId } from './illegal-ids.ts';
import { paginate } from './pagination.ts';
import { path, personRef, UUID_PATTERN } from './path.ts';
import {
  PostHogRateLimiter,
  type RateBucket,
  type RateGovernor,
  type RatePermit,
} from './rate-limiter.ts';
import {
  ActivityPageSchema,
  BatchByDistinctIdsResponseSchema,
  BulkDeleteResponseSchema,
  CohortsResponseSchema,
  DeletePropertyResponseSchema,
  DeletionStatusPageSchema,
  FunnelActorsPageSchema,
  PersonListPageSchema,
  PersonRecordSchema,
  SplitResponseSchema,
} from './schemas.ts';
import type {
  ActivityEntry,
  ActivityQuery,
  BulkDeleteFlags,
  BulkDeleteResult,
  BulkDeleteTarget,
  CaptureEvent,
  CohortMinimal,
  DeletionStatusEntry,
  DeletionStatusQuery,
  FunnelActorsPage,
  FunnelOptions,
  FunnelParams,
  JsonValue,
  ListQuery,
  MergeArgs,
  MinimalPerson,
  PersonRecord,
  PersonRef,
  PostHogClientOptions,
  PostHogLogger,
  RequestOptions,
  ResponseInfo,
  SerializedPerson,
} from './types.ts';

/** bulk_delete takes at most this many `ids` or `distinct_ids` per call (400 above). */
export const MAX_BULK_DELETE_IDS = 1000;
/** batch_by_distinct_ids silently drops every id after the first 200. */
export const MAX_BATCH_BY_DISTINCT_IDS = 200;
/** Capture `/batch/` accepts 20 MB; chunks stay well below it. */
export const MAX_CAPTURE_BATCH_BYTES = 15 * 1024 * 1024;
/** Default per-attempt timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default retries after the first attempt. */
export const DEFAULT_MAX_RETRIES = 3;
/** Default ceiling on a `Retry-After` the client will sleep for (openai-node's 60 s). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
/** No attempt starts with less time than this before the deadline: it could not finish anyway. */
export const MIN_ATTEMPT_MS = 100;

/**
 * Logical endpoint names, used in errors, logs and the metrics hook (never URLs, which carry ids).
 */
export const ENDPOINTS = {
  list: 'list',
  retrieve: 'retrieve',
  split: 'split',
  updateProperty: 'update_property',
  updateProperties: 'update_properties',
  deleteProperty: 'delete_property',
  bulkDelete: 'bulk_delete',
  batchByDistinctIds: 'batch_by_distinct_ids',
  activity: 'activity',
  cohorts: 'cohorts',
  deletionStatus: 'deletion_status',
  funnel: 'funnel',
  funnelCorrelation: 'funnel_correlation',
  capture: 'capture',
  captureBatch: 'capture_batch',
} as const;
/** One of {@link ENDPOINTS}. */
export type EndpointName = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

/**
 * How a failed attempt may be repeated.
 * - `idempotent`: a repeat cannot change the outcome (GETs; POSTs idempotent by construction:
 *   bulk_delete finds nothing the second time, batch_by_distinct_ids and funnel POST only read,
 *   update_property `$set`s the same value, capture carries an event uuid PostHog deduplicates on).
 * - `unsafe`: split and delete_property. Retried only when PostHog provably did not act: a 429
 *   (DRF throttles before the handler runs), a connection that was never made, and — once — a reset
 *   connection, which is most often a stale keep-alive socket (stripe-node's frozen-Lambda case). A
 *   repeated split is recognisable (`isAlreadyDone(err, 'split')`), which is what makes that one
 *   resend acceptable.
 */
export type RetryClass = 'idempotent' | 'unsafe';

/** How one endpoint is sent, throttled and retried. */
export interface EndpointPolicy {
  /** PostHog throttle bucket, or null for capture (not throttled by the API throttles). */
  readonly bucket: RateBucket | null;
  readonly retry: RetryClass;
  /** `personal`: `Authorization: Bearer`. `none`: capture, which carries the project token in its body. */
  readonly auth: 'personal' | 'none';
}

const read = { bucket: 'other', retry: 'idempotent', auth: 'personal' } as const;
const capture = { bucket: null, retry: 'idempotent', auth: 'none' } as const;

/**
 * The transport policy of every endpoint, as data (ky keeps its retry defaults the same way), so
 * the whole retry/throttle policy can be read in one place.
 */
export const ENDPOINT_POLICY = {
  list: read,
  retrieve: read,
  activity: read,
  cohorts: read,
  deletion_status: read,
  batch_by_distinct_ids: read, // a POST that only reads
  funnel: read, // GET or POST, both only read
  funnel_correlation: read,
  update_property: { bucket: 'other', retry: 'idempotent', auth: 'personal' }, // $set of one value
  update_properties: { bucket: 'other', retry: 'idempotent', auth: 'personal' }, // $set of the same values
  split: { bucket: 'other', retry: 'unsafe', auth: 'personal' },
  delete_property: { bucket: 'other', retry: 'unsafe', auth: 'personal' },
  bulk_delete: { bucket: 'delete', retry: 'idempotent', auth: 'personal' }, // a repeat finds nothing
  capture, // every event carries a uuid
  capture_batch: capture,
} as const satisfies Record<EndpointName, EndpointPolicy>;

interface RequestSpec<T> {
  endpoint: EndpointName;
  method: 'GET' | 'POST' | 'PATCH';
  url: URL;
  body?: unknown;
  /** `json` validates with `schema`; `empty` ignores the body (202s); `text` returns it (CSV). */
  response: 'json' | 'empty' | 'text';
  schema?: z.ZodType<T>;
  /** Turns a generic API error into a more specific one (funnel routes). */
  mapError?: (error: PostHogApiError) => PostHogApiError;
}

/**
 * Typed client of PostHog's Persons API (plus capture for merges and property writes).
 *
 * Transport rules: per-attempt AbortSignal timeout; exponential backoff with full jitter and a cap;
 * `Retry-After` honoured up to `maxRetryAfterMs`; no sleep or attempt past `deadline`; POSTs retried
 * only when idempotent by construction; a client-side limiter that knows PostHog's buckets.
 *
 * @example
 * const client = new PostHogClient({ host: 'https://us.posthog.com', projectId: 12345, personalApiKey });
 * const result = await client.bulkDelete({ distinctIds: ['user-1', 'user-2'] });
 */
export class PostHogClient {
  /** API origin, e.g. `https://us.posthog.com`. */
  readonly host: string;
  /** Capture origin, e.g. `https://us.i.posthog.com`. */
  readonly captureHost: string;
  /** Project (environment) id as used in paths. */
  readonly projectId: string;

  readonly #personalApiKey: string;
  readonly #projectToken: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #maxRetryAfterMs: number;
  readonly #backoffBaseMs: number;
  readonly #backoffCapMs: number;
  readonly #limiter: RateGovernor | undefined;
  readonly #logger: PostHogLogger | undefined;
  readonly #onResponse: ((info: ResponseInfo) => void) | undefined;

  constructor(options: PostHogClientOptions & { rateLimiter?: RateGovernor }) {
    this.host = normalizeHost(options.host, 'host');
    this.captureHost =
      options.captureHost === undefined
        ? deriveCaptureHost(this.host)
        : normalizeHost(options.captureHost, 'captureHost');
    this.projectId = normalizeProjectId(options.projectId);
    if (typeof options.personalApiKey !== 'string' || options.personalApiKey.trim() === '') {
      throw new TypeError('personalApiKey is required (a personal API key, phx_…)');
    }
    this.#personalApiKey = options.personalApiKey.trim();
    this.#projectToken = options.projectToken?.trim() || undefined;
    // Registered before the checks below, so even a refused key is masked wherever it might turn up.
    registerSecret(this.#personalApiKey);
    registerSecret(this.#projectToken);
    checkKeyKind(this.#personalApiKey, 'personalApiKey', PERSONAL_API_KEY_PREFIX);
    if (this.#projectToken !== undefined) {
      checkKeyKind(this.#projectToken, 'projectToken', PROJECT_TOKEN_PREFIX);
    }
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = nonNegative(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.#maxRetries = Math.floor(
      nonNegative(options.maxRetries ?? DEFAULT_MAX_RETRIES, 'maxRetries'),
    );
    this.#maxRetryAfterMs = nonNegative(
      options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
      'maxRetryAfterMs',
    );
    this.#backoffBaseMs = nonNegative(
      options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      'backoffBaseMs',
    );
    this.#backoffCapMs = nonNegative(
      options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS,
      'backoffCapMs',
    );
    this.#limiter =
      options.rateLimiter ??
      (options.rateLimits === false
        ? undefined
        : new PostHogRateLimiter(options.rateLimits ?? {}, { now: this.#now, sleep: this.#sleep }));
    this.#logger = options.logger;
    this.#onResponse = options.onResponse;
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /**
   * POST persons/:id/split/. PostHog answers 201 when the split is QUEUED, not done: until the task
   * runs, moved distinct ids still resolve to the original person. The new persons' uuids are known
   * in advance: see {@link splitPersonUuid}. Not retried on 5xx/timeouts (see the retry policy); a
   * repeat of a completed split with `distinctIdsToSplit` fails with 400 "not on this person", which
   * `isAlreadyDone(error, 'split')` recognises.
   *
   * Careful with `mainDistinctId`: PostHog does not check it, and one that is not on the person
   * splits EVERY distinct id off. Prefer `distinctIdsToSplit`, which PostHog validates.
   *
   * @example
   * await client.split(person.uuid, { distinctIdsToSplit: ['crm-42'] }); // { queued: true }
   */
  async split(
    person: PersonRef,
    body: { mainDistinctId?: string; distinctIdsToSplit?: string[] } = {},
    o: RequestOptions = {},
  ): Promise<{ queued: true }> {
    const id = personRef(person);
    const payload: { main_distinct_id?: string; distinct_ids_to_split?: string[] } = {};
    if (body.mainDistinctId !== undefined && body.distinctIdsToSplit !== undefined) {
      throw new TypeError('split: mainDistinctId cannot be combined with distinctIdsToSplit');
    }
    if (body.mainDistinctId !== undefined) payload.main_distinct_id = body.mainDistinctId;
    if (body.distinctIdsToSplit !== undefined) {
      if (body.distinctIdsToSplit.length === 0) {
        throw new TypeError(
          'split: distinctIdsToSplit must not be empty (omit it to split every id)',
        );
      }
      payload.distinct_ids_to_split = body.distinctIdsToSplit;
    }
    await this.#request(
      {
        endpoint: ENDPOINTS.split,
        method: 'POST',
        url: this.#apiUrl(path`/persons/${id}/split/`),
        body: payload,
        response: 'json',
        schema: SplitResponseSchema,
      },
      o,
    );
    return { queued: true };
  }

  /**
   * POST persons/:id/update_property/ with a JSON body `{key, value}` (never query parameters).
   * PostHog answers 202 and applies the `$set` later through ingestion, so reads are eventually
   * consistent. `value: null` is allowed and sets the property to null.
   *
   * @example
   * await client.updateProperty(person.uuid, 'plan', 'enterprise'); // { accepted: true }
   */
  async updateProperty(
    person: PersonRef,
    key: string,
    value: JsonValue,
    o: RequestOptions = {},
  ): Promise<{ accepted: true }> {
    const id = personRef(person);
    if (typeof key !== 'string' || key === '')
      throw new TypeError('updateProperty: key must be a non-empty string');
    if (value === undefined) {
      throw new TypeError('updateProperty: value is required (use null to clear a property)');
    }
    await this.#request(
      {
        endpoint: ENDPOINTS.updateProperty,
        method: 'POST',
        url: this.#apiUrl(path`/persons/${id}/update_property/`),
        body: { key, value },
        response: 'empty',
      },
      o,
    );
    return { accepted: true };
  }

  /**
   * PATCH persons/:id/ `{"properties": {...}}`: PostHog sends all of them as ONE `$set` through internal capture
   * and answers 202 (posthog-persons-api.md §6), exactly as update_property does for one key. So many keys cost
   * one call of the 240/min budget instead of one each. Keys the project restricts give 400 naming them.
   *
   * @example
   * await client.updateProperties(person.uuid, { plan: 'enterprise', seats: 40 }); // { accepted: true }
   */
  async updateProperties(
    person: PersonRef,
    properties: Record<string, JsonValue>,
    o: RequestOptions = {},
  ): Promise<{ accepted: true }> {
    const id = personRef(person);
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
      throw new TypeError('updateProperties: properties must be an object of key → value');
    }
    const keys = Object.keys(properties);
    if (keys.length === 0)
      throw new TypeError('updateProperties: properties must name at least one key');
    if (keys.includes(''))
      throw new TypeError('updateProperties: a key must be a non-empty string');
    if (keys.some((key) => properties[key] === undefined)) {
      throw new TypeError(
        'updateProperties: every value is required (use null to clear a property)',
      );
    }
    await this.#request(
      {
        endpoint: ENDPOINTS.updateProperties,
        method: 'PATCH',
        url: this.#apiUrl(path`/persons/${id}/`),
        body: { properties },
        response: 'empty',
      },
      o,
    );
    return { accepted: true };
  }

  /**
   * POST persons/:id/delete_property/ `{"$unset": key}`: PostHog captures `$delete_person_property`
   * and answers 201 `{success}`.
   *
   * @example
   * await client.deleteProperty(person.uuid, 'legacy_flag');
   */
  async deleteProperty(
    person: PersonRef,
    key: string,
    o: RequestOptions = {},
  ): Promise<{ success: boolean }> {
    const id = personRef(person);
    if (typeof key !== 'string' || key === '')
      throw new TypeError('deleteProperty: key must be a non-empty string');
    const data = await this.#request(
      {
        endpoint: ENDPOINTS.deleteProperty,
        method: 'POST',
        url: this.#apiUrl(path`/persons/${id}/delete_property/`),
        body: { $unset: key },
        response: 'json',
        schema: DeletePropertyResponseSchema,
      },
      o,
    );
    return { success: data.success };
  }

  /**
   * POST persons/bulk_delete/ in chunks of at most 1000, `ids` (person uuids) or `distinctIds`,
   * never mixed. Duplicates are dropped, chunks run in order through the delete bucket, and the
   * results are merged; `calls` counts the chunks. Both response shapes are accepted: synchronous
   * (`personsDeleted`) and queued (`personsQueuedForDeletion`, `deletionErrors[].step`).
   * Entries in `deletionErrors` were NOT deleted and should be retried. A chunk that fails throws;
   * re-running the whole call is safe (deleted persons are simply not found again).
   * The merged counts are sums over chunks: in the queued shape a person whose distinct ids fall in
   * two chunks is not deleted yet when the second chunk runs, so it is counted (and queued) twice.
   *
   * @example
   * const r = await client.bulkDelete({ distinctIds }, { deleteEvents: true });
   * console.log(r.personsFound, r.calls);
   */
  async bulkDelete(
    target: BulkDeleteTarget,
    flags: BulkDeleteFlags = {},
    o: RequestOptions = {},
  ): Promise<BulkDeleteResult> {
    const hasIds = 'ids' in target && target.ids !== undefined;
    const hasDistinct = 'distinctIds' in target && target.distinctIds !== undefined;
    if (hasIds === hasDistinct) {
      throw new TypeError(
        'bulkDelete: pass either { ids } or { distinctIds }, not both and not neither',
      );
    }
    const field = hasIds ? 'ids' : 'distinct_ids';
    const raw = hasIds
      ? (target as { ids: string[] }).ids
      : (target as { distinctIds: string[] }).distinctIds;
    const values = dedupe(raw, hasIds ? 'bulkDelete.ids' : 'bulkDelete.distinctIds');
    if (hasIds) {
      const bad = values.findIndex((v) => !UUID_PATTERN.test(v));
      if (bad >= 0) {
        throw new TypeError(
          `bulkDelete.ids[${bad}] is not a person uuid (${JSON.stringify(values[bad])}); use { distinctIds } for distinct ids`,
        );
      }
    }
    const result: BulkDeleteResult = {
      personsFound: 0,
      personsDeleted: 0,
      personsQueuedForDeletion: 0,
      eventsQueuedForDeletion: false,
      recordingsQueuedForDeletion: false,
      deletionErrors: [],
      calls: 0,
    };
    const chunks = chunk(values, MAX_BULK_DELETE_IDS);
    for (const [index, part] of chunks.entries()) {
      const data = await this.#request(
        {
          endpoint: ENDPOINTS.bulkDelete,
          method: 'POST',
          url: this.#apiUrl('/persons/bulk_delete/'),
          // Real JSON booleans: the view `bool()`s whatever it gets, so a string "false" would be true.
          body: {
            [field]: part,
            delete_events: flags.deleteEvents === true,
            delete_recordings: flags.deleteRecordings === true,
            keep_person: flags.keepPerson === true,
          },
          response: 'json',
          schema: BulkDeleteResponseSchema,
        },
        o,
      );
      result.calls += 1;
      result.personsFound += data.persons_found;
      result.personsDeleted += data.persons_deleted;
      result.personsQueuedForDeletion += data.persons_queued_for_deletion ?? 0;
      result.eventsQueuedForDeletion ||= data.events_queued_for_deletion;
      result.recordingsQueuedForDeletion ||= data.recordings_queued_for_deletion;
      for (const e of data.deletion_errors) {
        result.deletionErrors.push(
          e.step === undefined
            ? { personUuid: e.person_uuid }
            : { personUuid: e.person_uuid, step: e.step },
        );
      }
      flags.onChunk?.({
        chunk: index + 1,
        chunks: chunks.length,
        idsDone: Math.min(values.length, (index + 1) * MAX_BULK_DELETE_IDS),
        idsTotal: values.length,
        result: { ...result, deletionErrors: [...result.deletionErrors] },
      });
    }
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /**
   * POST persons/batch_by_distinct_ids/ in chunks of 200 (PostHog silently drops the rest), merged
   * into one map. Ids without a person are absent; ids of one person map to the same object.
   *
   * @example
   * const found = await client.batchByDistinctIds(['a', 'b']); // { a: { uuid, … } }
   */
  async batchByDistinctIds(
    distinctIds: string[],
    o: RequestOptions = {},
  ): Promise<Record<string, MinimalPerson>> {
    const values = dedupe(distinctIds, 'batchByDistinctIds.distinctIds');
    const out: Record<string, MinimalPerson> = {};
    for (const part of chunk(values, MAX_BATCH_BY_DISTINCT_IDS)) {
      const data = await this.#request(
        {
          endpoint: ENDPOINTS.batchByDistinctIds,
          method: 'POST',
          url: this.#apiUrl('/persons/batch_by_distinct_ids/'),
          body: { distinct_ids: part },
          response: 'json',
          schema: BatchByDistinctIdsResponseSchema,
        },
        o,
      );
      Object.assign(out, data.results);
    }
    return out;
  }

  /**
   * GET persons/:id/ by numeric id or uuid (`id` is the integer pk in this shape).
   *
   * @example
   * const person = await client.retrieve('0190f4a8-…');
   */
  async retrieve(person: PersonRef, o: RequestOptions = {}): Promise<PersonRecord> {
    const id = personRef(person);
    return this.#request(
      {
        endpoint: ENDPOINTS.retrieve,
        method: 'GET',
        url: this.#apiUrl(path`/persons/${id}/`),
        response: 'json',
        schema: PersonRecordSchema,
      },
      o,
    );
  }

  /**
   * GET persons/?distinct_id= : the person holding `distinctId`, or null.
   *
   * @example
   * const person = await client.findByDistinctId('user@example.com');
   */
  async findByDistinctId(
    distinctId: string,
    o: RequestOptions = {},
  ): Promise<SerializedPerson | null> {
    if (typeof distinctId !== 'string' || distinctId === '') {
      throw new TypeError('findByDistinctId: distinctId must be a non-empty string');
    }
    const page = await this.#request(
      {
        endpoint: ENDPOINTS.list,
        method: 'GET',
        url: this.#apiUrl('/persons/', { distinct_id: distinctId }),
        response: 'json',
        schema: PersonListPageSchema,
      },
      o,
    );
    return page.results[0] ?? null;
  }

  /**
   * GET persons/ as an async iterator over every page (`created_at DESC`).
   *
   * @example
   * for await (const person of client.list({ email: 'a@example.com' })) console.log(person.uuid);
   */
  list(query: ListQuery = {}, o: RequestOptions = {}): AsyncIterable<SerializedPerson> {
    const url = this.#apiUrl('/persons/', listParams(query));
    return paginate(url, async (pageUrl) => {
      const page = await this.#request(
        {
          endpoint: ENDPOINTS.list,
          method: 'GET',
          url: pageUrl,
          response: 'json',
          schema: PersonListPageSchema,
        },
        o,
      );
      return { items: page.results, next: page.next };
    });
  }

  /**
   * GET persons/?format=csv : PostHog's own CSV export of the list (up to its `CSV_EXPORT_LIMIT`).
   *
   * @example
   * const csv = await client.listCsv({ search: 'example.com' });
   */
  async listCsv(query: ListQuery = {}, o: RequestOptions = {}): Promise<string> {
    return this.#request<string>(
      {
        endpoint: ENDPOINTS.list,
        method: 'GET',
        url: this.#apiUrl('/persons/', { ...listParams(query), format: 'csv' }),
        response: 'text',
      },
      o,
    );
  }

  /**
   * GET persons/activity/ (every person, deleted ones included) or persons/:id/activity/, newest
   * first, as an async iterator. Needs the `activity_log:read` scope.
   *
   * @example
   * for await (const entry of client.activity({ person: uuid })) console.log(entry.activity);
   */
  activity(query: ActivityQuery = {}, o: RequestOptions = {}): AsyncIterable<ActivityEntry> {
    const route =
      query.person === undefined
        ? '/persons/activity/'
        : path`/persons/${personRef(query.person)}/activity/`;
    const url = this.#apiUrl(route, { limit: pageSize(query.limit, 'activity.limit') });
    return paginate(url, async (pageUrl) => {
      const page = await this.#request(
        {
          endpoint: ENDPOINTS.activity,
          method: 'GET',
          url: pageUrl,
          response: 'json',
          schema: ActivityPageSchema,
        },
        o,
      );
      return { items: page.results, next: page.next };
    });
  }

  /**
   * GET persons/cohorts/?person_id= : the cohorts a person is in, `{id, name, count}` each.
   * Needs `person:read` and `cohort:read`.
   *
   * @example
   * const cohorts = await client.cohorts(uuid);
   */
  async cohorts(person: PersonRef, o: RequestOptions = {}): Promise<CohortMinimal[]> {
    const data = await this.#request(
      {
        endpoint: ENDPOINTS.cohorts,
        method: 'GET',
        url: this.#apiUrl('/persons/cohorts/', { person_id: personRef(person) }),
        response: 'json',
        schema: CohortsResponseSchema,
      },
      o,
    );
    return data.results;
  }

  /**
   * GET persons/deletion_status/ as an async iterator: queued event deletions and whether they ran.
   *
   * @example
   * for await (const row of client.deletionStatus({ status: 'pending' })) console.log(row.person_uuid);
   */
  deletionStatus(
    query: DeletionStatusQuery = {},
    o: RequestOptions = {},
  ): AsyncIterable<DeletionStatusEntry> {
    const url = this.#apiUrl('/persons/deletion_status/', {
      status: query.status,
      person_uuid: query.personUuid,
      limit: pageSize(query.limit, 'deletionStatus.limit'),
    });
    return paginate(url, async (pageUrl) => {
      const page = await this.#request(
        {
          endpoint: ENDPOINTS.deletionStatus,
          method: 'GET',
          url: pageUrl,
          response: 'json',
          schema: DeletionStatusPageSchema,
        },
        o,
      );
      return { items: page.results, next: page.next };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Legacy funnel routes

  /**
   * The persons of a funnel step (GET persons/funnel/ with params as query, or POST with a body), as
   * an async iterator over every page's `people`. Removed from PostHog in mid-2026 and refused to
   * every scoped personal key before that: those answers become
   * {@link PostHogEndpointUnavailableError}, never retried.
   *
   * @example
   * for await (const p of client.funnel({ events: [{ id: 'signup', order: 0 }], funnel_step: 1 })) …
   */
  funnel(params: FunnelParams, o: FunnelOptions = {}): AsyncIterable<SerializedPerson> {
    return this.#funnelPeople(ENDPOINTS.funnel, params, o);
  }

  /** One raw page of {@link funnel} (`results`, `next`, `missing_persons`, …). */
  funnelPage(params: FunnelParams, o: FunnelOptions = {}): Promise<FunnelActorsPage> {
    return this.#funnelRequest(ENDPOINTS.funnel, this.#funnelUrl(ENDPOINTS.funnel), params, o);
  }

  /**
   * The persons behind a funnel correlation (persons/funnel/correlation/), GET or POST, as an async
   * iterator. Same availability rules as {@link funnel}.
   *
   * @example
   * for await (const p of client.funnelCorrelation({ ...funnel, funnel_correlation_person_entity: { id: 'pay', type: 'events' } })) …
   */
  funnelCorrelation(params: FunnelParams, o: FunnelOptions = {}): AsyncIterable<SerializedPerson> {
    return this.#funnelPeople(ENDPOINTS.funnelCorrelation, params, o);
  }

  /** One raw page of {@link funnelCorrelation}. */
  funnelCorrelationPage(params: FunnelParams, o: FunnelOptions = {}): Promise<FunnelActorsPage> {
    return this.#funnelRequest(
      ENDPOINTS.funnelCorrelation,
      this.#funnelUrl(ENDPOINTS.funnelCorrelation),
      params,
      o,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Capture

  /**
   * POST /i/v0/e/ on the capture host with the project token (not the personal key). A 200 means
   * accepted, not ingested. A uuid is added when missing so a retried send is one event.
   *
   * @example
   * await client.capture({ event: '$set', distinctId: 'u1', properties: { $set: { plan: 'pro' } } });
   */
  async capture(event: CaptureEvent, o: RequestOptions = {}): Promise<void> {
    const token = this.#requireToken('capture');
    await this.#request(
      {
        endpoint: ENDPOINTS.capture,
        method: 'POST',
        url: new URL(`${this.captureHost}/i/v0/e/`),
        body: { api_key: token, ...captureBody(event) },
        // Any 200 means "accepted" (§11): whether the body says `1` or `"Ok"` is unconfirmed, and a
        // validation failure here would turn an accepted merge into a permanent error.
        response: 'empty',
      },
      o,
    );
  }

  /**
   * POST /batch/ on the capture host: one call per ~15 MB of events (the limit is 20 MB).
   *
   * @example
   * await client.captureBatch([{ event: '$set', distinctId: 'u1', properties: { $set: { a: 1 } } }]);
   */
  async captureBatch(events: CaptureEvent[], o: RequestOptions = {}): Promise<void> {
    const token = this.#requireToken('captureBatch');
    const encoded = events.map((e) => {
      const { distinct_id, ...rest } = captureBody(e);
      // Both places: the batch format documents properties.distinct_id, SDKs send it top-level.
      return { ...rest, distinct_id, properties: { ...rest.properties, distinct_id } };
    });
    let batch: unknown[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const body = { api_key: token, historical_migration: false, batch };
      batch = [];
      bytes = 0;
      await this.#request(
        {
          endpoint: ENDPOINTS.captureBatch,
          method: 'POST',
          url: new URL(`${this.captureHost}/batch/`),
          body,
          response: 'empty', // any 200 is "accepted", see capture()
        },
        o,
      );
    };
    for (const e of encoded) {
      const size = Buffer.byteLength(JSON.stringify(e));
      if (bytes + size > MAX_CAPTURE_BATCH_BYTES) await flush();
      batch.push(e);
      bytes += size;
    }
    await flush();
  }

  /**
   * Merges two persons by capturing `$merge_dangerously` (there is no merge endpoint): the survivor
   * is the event's `distinct_id` and wins property conflicts; the merged id is `properties.alias`.
   * Unlike `$identify`/`$create_alias` it also merges identified persons. Applied asynchronously.
   * Pass a stable `uuid` (e.g. from the message id) so a redelivered command is the same event.
   *
   * @example
   * await client.mergeDangerously({ survivorDistinctId: 'crm-1', mergedDistinctId: 'crm-2' });
   */
  async mergeDangerously(args: MergeArgs, o: RequestOptions = {}): Promise<void> {
    // Ingestion silently refuses these (warning `cannot_merge_with_illegal_distinct_id`); say so now.
    for (const [name, id] of [
      ['survivorDistinctId', args.survivorDistinctId],
      ['mergedDistinctId', args.mergedDistinctId],
    ] as const) {
      if (isIllegalDistinctId(id)) {
        throw new TypeError(
          `mergeDangerously: ${name} ${JSON.stringify(id)} is a distinct id PostHog refuses to merge (it would be ignored silently)`,
        );
      }
    }
    const properties: Record<string, JsonValue> = {
      alias: args.mergedDistinctId,
      ...(args.set === undefined ? {} : { $set: args.set }),
    };
    await this.capture(
      {
        event: '$merge_dangerously',
        distinctId: args.survivorDistinctId,
        properties,
        ...(args.uuid === undefined ? {} : { uuid: args.uuid }),
        ...(args.timestamp === undefined ? {} : { timestamp: args.timestamp }),
      },
      o,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Secrets stay out of every rendering of the client.

  /** Safe rendering: host and project only. */
  /** Whether a project token is configured, so capture (merges, `$unset` of several keys) can be sent. */
  get hasProjectToken(): boolean {
    return this.#projectToken !== undefined;
  }

  toJSON(): Record<string, string> {
    return { host: this.host, captureHost: this.captureHost, projectId: this.projectId };
  }

  /** Safe rendering: host and project only. */
  toString(): string {
    return `PostHogClient(${this.host}, project ${this.projectId})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #requireToken(method: string): string {
    if (this.#projectToken === undefined) {
      throw new TypeError(`${method} needs projectToken (the project's phc_… token)`);
    }
    return this.#projectToken;
  }

  #apiUrl(route: string, query: Record<string, string | number | boolean | undefined> = {}): URL {
    const url = new URL(`${this.host}/api/projects/${this.projectId}${route}`);
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url;
  }

  #funnelUrl(endpoint: EndpointName): URL {
    return this.#apiUrl(
      endpoint === ENDPOINTS.funnel ? '/persons/funnel/' : '/persons/funnel/correlation/',
    );
  }

  #funnelRequest(
    endpoint: EndpointName,
    url: URL,
    params: FunnelParams,
    o: FunnelOptions,
  ): Promise<FunnelActorsPage> {
    const method = o.method ?? 'GET';
    const requestUrl = new URL(url);
    let body: Record<string, JsonValue> | undefined;
    if (method === 'GET') {
      for (const [k, v] of Object.entries(params)) {
        if (v !== undefined && !requestUrl.searchParams.has(k)) {
          requestUrl.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
        }
      }
    } else {
      body = {};
      for (const [k, v] of Object.entries(params)) if (v !== undefined) body[k] = v;
      // A `next` link carries the new offset in its query; mirror it into the body too.
      for (const [k, v] of requestUrl.searchParams) if (/offset$/.test(k)) body[k] = Number(v);
    }
    return this.#request(
      {
        endpoint,
        method,
        url: requestUrl,
        ...(body === undefined ? {} : { body }),
        response: 'json',
        schema: FunnelActorsPageSchema,
        mapError: (error) => funnelUnavailable(error, endpoint),
      },
      o,
    );
  }

  async *#funnelPeople(
    endpoint: EndpointName,
    params: FunnelParams,
    o: FunnelOptions,
  ): AsyncGenerator<SerializedPerson, void, undefined> {
    const first = this.#funnelUrl(endpoint);
    const method = o.method ?? 'GET';
    const pages = paginate(first, async (url) => {
      // GET `next` links already carry every filter param; POST keeps sending the body.
      const isFirst = url.href === first.href;
      const page = await this.#funnelRequest(
        endpoint,
        url,
        method === 'GET' && !isFirst ? {} : params,
        o,
      );
      return { items: [page], next: page.next };
    });
    for await (const page of pages) {
      for (const step of page.results) yield* step.people;
    }
  }

  /** One logical request: limiter, attempts, retries, validation. */
  async #request<T>(spec: RequestSpec<T>, o: RequestOptions): Promise<T> {
    const policy: EndpointPolicy = ENDPOINT_POLICY[spec.endpoint];
    let attempt = 0;
    let resetRetried = false;
    let lastError: PostHogError | undefined;
    for (;;) {
      if (o.signal?.aborted) {
        throw new PostHogAbortError(`PostHog ${spec.endpoint} request was aborted by the caller`, {
          cause: o.signal.reason,
          endpoint: spec.endpoint,
          method: spec.method,
        });
      }
      this.#checkDeadline(spec, o, lastError, 0);
      let permit: RatePermit | undefined;
      if (policy.bucket !== null && this.#limiter !== undefined) {
        try {
          permit = await this.#limiter.acquire(policy.bucket, {
            ...(o.deadline === undefined ? {} : { deadline: o.deadline - MIN_ATTEMPT_MS }),
            ...(o.signal === undefined ? {} : { signal: o.signal }),
          });
        } catch (error) {
          if (error instanceof PostHogDeadlineError) {
            throw new PostHogDeadlineError(`PostHog ${spec.endpoint}: ${error.message}`, {
              endpoint: spec.endpoint,
              method: spec.method,
              remainingMs: error.remainingMs,
              ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
              ...(lastError === undefined ? {} : { cause: lastError }),
            });
          }
          throw error;
        }
      }
      const remaining =
        o.deadline === undefined ? Number.POSITIVE_INFINITY : o.deadline - this.#now();
      const timeoutMs = Math.max(1, Math.min(this.#timeoutMs, remaining));
      let error: PostHogError;
      try {
        return await this.#attempt(spec, attempt, timeoutMs, o.signal);
      } catch (caught) {
        if (!(caught instanceof PostHogApiError || caught instanceof PostHogConnectionError)) {
          throw caught;
        }
        error = caught;
      } finally {
        permit?.release();
      }
      lastError = error;
      if (
        error instanceof PostHogRateLimitError &&
        policy.bucket !== null &&
        this.#limiter !== undefined
      ) {
        // Someone else is spending this key's budget: hold the bucket back for everyone in-process.
        this.#limiter.blockUntil(policy.bucket, this.#now() + (error.retryAfterMs ?? 1000));
      }
      const decision = this.#retryDecision(error, spec, attempt, resetRetried);
      if (decision === undefined) {
        if (error instanceof PostHogRateLimitError) {
          this.#logger?.warn(
            'PostHog throttled the request; giving up',
            logFields(spec, attempt, error),
          );
        }
        throw error;
      }
      if (decision.reset) resetRetried = true;
      this.#checkDeadline(spec, o, error, decision.delayMs);
      this.#logger?.debug('Retrying PostHog request', {
        ...logFields(spec, attempt, error),
        delayMs: decision.delayMs,
      });
      if (decision.delayMs > 0) {
        try {
          await this.#sleep(decision.delayMs, o.signal);
        } catch (sleepError) {
          throw new PostHogAbortError(
            `PostHog ${spec.endpoint} request was aborted by the caller`,
            {
              cause: sleepError,
              endpoint: spec.endpoint,
              method: spec.method,
            },
          );
        }
      }
      if (!decision.reset || decision.countsAsRetry) attempt += 1;
    }
  }

  /** Throws PostHogDeadlineError when starting an attempt after `waitMs` would pass the deadline. */
  #checkDeadline(
    spec: RequestSpec<unknown>,
    o: RequestOptions,
    lastError: PostHogError | undefined,
    waitMs: number,
  ): void {
    if (o.deadline === undefined) return;
    const remainingMs = o.deadline - this.#now();
    if (remainingMs - waitMs >= MIN_ATTEMPT_MS) return;
    const why =
      waitMs > 0
        ? `a retry in ${waitMs} ms would pass the deadline (${Math.max(0, remainingMs)} ms left)`
        : `only ${Math.max(0, remainingMs)} ms left before the deadline`;
    const last = lastError === undefined ? '' : `; last error: ${lastError.message}`;
    throw new PostHogDeadlineError(`PostHog ${spec.endpoint}: ${why}${last}`, {
      endpoint: spec.endpoint,
      method: spec.method,
      remainingMs: Math.max(0, remainingMs),
      ...(waitMs > 0 ? { retryAfterMs: waitMs } : {}),
      ...(lastError === undefined ? {} : { cause: lastError }),
    });
  }

  /** The retry policy, in one place. `undefined`: do not retry. */
  #retryDecision(
    error: PostHogError,
    spec: RequestSpec<unknown>,
    attempt: number,
    resetRetried: boolean,
  ): { delayMs: number; reset: boolean; countsAsRetry: boolean } | undefined {
    const policy: EndpointPolicy = ENDPOINT_POLICY[spec.endpoint];
    if (!isRetryable(error)) return undefined;
    const withinBudget = attempt < this.#maxRetries;
    // stripe-node: a connection closed under us usually means a stale keep-alive socket held across
    // a frozen Lambda; resend once, immediately, even with retries exhausted or for an unsafe POST
    // (whose repeat is recognisable, see RetryClass). Not guaranteed to be a no-op, hence only once.
    if (isConnectionReset(error) && !resetRetried && (policy.retry === 'unsafe' || !withinBudget)) {
      return { delayMs: 0, reset: true, countsAsRetry: false };
    }
    if (!withinBudget) return undefined;
    const safe =
      policy.retry === 'idempotent' ||
      error instanceof PostHogRateLimitError || // throttled before the handler ran
      (error instanceof PostHogConnectionError && error.notSent);
    if (!safe) return undefined;
    if (error instanceof PostHogApiError && error.retryAfterMs !== undefined) {
      if (error.retryAfterMs > this.#maxRetryAfterMs) {
        // Sleeping less than asked only earns another 429: hand the wait to the caller instead.
        this.#logger?.warn('PostHog Retry-After exceeds the ceiling; not waiting', {
          ...logFields(spec, attempt, error),
          retryAfterMs: error.retryAfterMs,
          maxRetryAfterMs: this.#maxRetryAfterMs,
        });
        return undefined;
      }
      return { delayMs: error.retryAfterMs, reset: false, countsAsRetry: true };
    }
    const delayMs =
      retryDelayMs(error, attempt, {
        baseMs: this.#backoffBaseMs,
        capMs: this.#backoffCapMs,
        random: this.#random,
      }) ?? 0;
    return { delayMs, reset: false, countsAsRetry: true };
  }

  /** One HTTP attempt with its own timeout. Resolves with the validated body or throws a typed error. */
  async #attempt<T>(
    spec: RequestSpec<T>,
    attempt: number,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<T> {
    const policy: EndpointPolicy = ENDPOINT_POLICY[spec.endpoint];
    const timeoutSignal = AbortSignal.timeout(timeoutMs);
    const signal =
      callerSignal === undefined ? timeoutSignal : AbortSignal.any([timeoutSignal, callerSignal]);
    const headers: Record<string, string> = {
      accept: spec.response === 'text' ? 'text/csv, text/plain, */*' : 'application/json',
      'user-agent': 'persons-relay',
      // The personal key goes only to the API host; capture carries the project token in its body.
      ...(policy.auth === 'personal' ? { authorization: `Bearer ${this.#personalApiKey}` } : {}),
      ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    // Serialised outside the try: a body that cannot be encoded is a caller bug, not a network error.
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const started = this.#now();
    let status = 0; // 0 until a response arrives
    let reported = false;
    try {
      const response = await this.#fetch(spec.url, {
        method: spec.method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal,
        // Never follow a redirect with the key attached; a 3xx surfaces as a permanent error that
        // names the target, so the operator can configure that host instead.
        redirect: 'manual',
      });
      status = response.status;
      const text = await response.text();
      this.#report(spec, status, started, attempt);
      reported = true;
      if (!response.ok) {
        const error = errorFromResponse({
          status: response.status,
          body: parseMaybeJson(text),
          headers: response.headers,
          endpoint: spec.endpoint,
          method: spec.method,
          now: this.#now(),
        });
        throw spec.mapError ? spec.mapError(error) : error;
      }
      return this.#parseSuccess(spec, response, text);
    } catch (error) {
      if (error instanceof PostHogApiError || error instanceof ResponseValidationError) throw error;
      if (!reported) this.#report(spec, status, started, attempt);
      throw errorFromFetchFailure(error, {
        endpoint: spec.endpoint,
        method: spec.method,
        host: new URL(spec.url).origin,
        timedOut: timeoutSignal.aborted,
        aborted: callerSignal?.aborted === true,
        timeoutMs,
      });
    }
  }

  #parseSuccess<T>(spec: RequestSpec<T>, response: Response, text: string): T {
    // For `text`, T is string (listCsv); for `empty` the caller ignores the value.
    if (spec.response === 'text') return text as T;
    if (spec.response === 'empty') return undefined as T;
    const requestId = requestIdOf(response.headers);
    const fail = (issues: string[], cause?: unknown): never => {
      throw new ResponseValidationError({
        endpoint: spec.endpoint,
        status: response.status,
        issues,
        ...(requestId === undefined ? {} : { requestId }),
        ...(cause === undefined ? {} : { cause }),
      });
    };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      return fail([`body is not JSON (${text.length} bytes)`], cause);
    }
    if (spec.schema === undefined) return json as T;
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      return fail(
        parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`),
        parsed.error,
      );
    }
    return parsed.data;
  }

  #report(spec: RequestSpec<unknown>, status: number, started: number, attempt: number): void {
    this.#onResponse?.({
      endpoint: spec.endpoint,
      method: spec.method,
      status,
      durationMs: Math.max(0, this.#now() - started),
      attempt,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** PostHog's personal API keys start with this; only they authenticate the private API. */
export const PERSONAL_API_KEY_PREFIX = 'phx_';
/** PostHog's project tokens (the public capture key) start with this. */
export const PROJECT_TOKEN_PREFIX = 'phc_';

/** What each other PostHog key prefix is, to name a key given in the wrong place (never its value). */
const KEY_KINDS: Record<string, string> = {
  phx_: 'a personal API key',
  phc_: 'a project token',
  // posthog-persons-api.md §1.2: a Bearer token starting pha_ belongs to OAuth, and the personal-key check skips it.
  pha_: 'an OAuth access token',
  phs_: 'a project secret API key',
};

/**
 * Refuses a key of the wrong kind before any request: a project token sent as the personal key would be refused
 * by PostHog after travelling in every request, and a personal key sent as the project token would be written
 * into capture bodies. Also refuses characters no HTTP header may carry. The message names the kinds, never the key.
 */
function checkKeyKind(key: string, name: string, prefix: string): void {
  const expected = KEY_KINDS[prefix] ?? prefix;
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new TypeError(`${name} must be ${expected} (${prefix}…) of visible ASCII characters`);
  }
  if (key.startsWith(prefix)) return;
  const given = Object.entries(KEY_KINDS).find(([p]) => key.startsWith(p))?.[1];
  throw new TypeError(
    given === undefined
      ? `${name} must be ${expected}, which starts with ${prefix}; the value given does not`
      : `${name} must be ${expected} (${prefix}…), but the value given is ${given}`,
  );
}

function logFields(
  spec: RequestSpec<unknown>,
  attempt: number,
  error: PostHogError,
): Record<string, unknown> {
  return {
    endpoint: spec.endpoint,
    method: spec.method,
    attempt,
    error: error.name,
    ...(error instanceof PostHogApiError
      ? { status: error.status, code: error.code, requestId: error.requestId }
      : {}),
    ...(error instanceof PostHogConnectionError && error.errorCode !== undefined
      ? { errorCode: error.errorCode }
      : {}),
  };
}

const REMOVED_EXPLANATION =
  'PostHog removed the legacy persons funnel routes in mid-2026 (funnel/correlation in PR #61218 on 2026-06-02, funnel in PR #73064 on 2026-07-23)';

/** Maps the answers of a removed or refused funnel route onto PostHogEndpointUnavailableError. */
function funnelUnavailable(error: PostHogApiError, endpoint: EndpointName): PostHogApiError {
  const route = endpoint === ENDPOINTS.funnel ? 'persons/funnel/' : 'persons/funnel/correlation/';
  const init = {
    status: error.status,
    endpoint,
    ...(error.method === undefined ? {} : { method: error.method }),
    ...(error.type === undefined ? {} : { type: error.type }),
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    ...(error.attr === undefined ? {} : { attr: error.attr }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    cause: error,
  };
  const detail = error.detail ?? '';
  if (error.status === 403 && /does not support personal api key access/i.test(detail)) {
    return new PostHogEndpointUnavailableError(
      `PostHog ${route} refuses personal API keys (403 "${detail}"): the route declares no API scopes, so every scoped key is refused, and since PR #51237 (2026-03-17) that includes former legacy keys. Only a logged-in web session could call it, and ${REMOVED_EXPLANATION}. Use the Query API's funnel actors query instead.`,
      { ...init, reason: 'personal_api_key_refused' },
    );
  }
  const looksRemoved =
    error.status === 404 ||
    error.status === 405 ||
    (endpoint === ENDPOINTS.funnel &&
      error.status === 400 &&
      /does not look like a personID/i.test(detail));
  if (looksRemoved) {
    return new PostHogEndpointUnavailableError(
      `PostHog ${route} is not available on this instance (${error.status}${detail ? ` "${detail}"` : ''}): ${REMOVED_EXPLANATION}. Use the Query API's funnel actors query instead.`,
      { ...init, reason: 'removed' },
    );
  }
  return error;
}

function captureBody(event: CaptureEvent): {
  event: string;
  distinct_id: string;
  properties: Record<string, JsonValue>;
  uuid: string;
  timestamp?: string;
} {
  if (typeof event.event !== 'string' || event.event === '') {
    throw new TypeError(
      'capture: event must be a non-empty string (PostHog silently drops unnamed events)',
    );
  }
  if (typeof event.distinctId !== 'string' || event.distinctId.trim() === '') {
    throw new TypeError(
      'capture: distinctId must be a non-empty string (PostHog silently drops events without one)',
    );
  }
  return {
    event: event.event,
    distinct_id: event.distinctId,
    properties: event.properties ?? {},
    uuid: event.uuid ?? randomUUID(),
    ...(event.timestamp === undefined ? {} : { timestamp: event.timestamp }),
  };
}

function listParams(query: ListQuery): Record<string, string | number | boolean | undefined> {
  return {
    distinct_id: query.distinctId,
    email: query.email,
    search: query.search,
    properties:
      query.properties === undefined
        ? undefined
        : typeof query.properties === 'string'
          ? query.properties
          : JSON.stringify(query.properties),
    limit: pageSize(query.limit, 'list.limit'),
    offset: query.offset === undefined ? undefined : wholeNumber(query.offset, 'list.offset'),
    // PostHog tests for presence, so only send it when asked.
    include_total: query.includeTotal === true ? true : undefined,
  };
}

/** A page size: PostHog `int()`s it, so anything else is a 500 that retrying cannot fix. */
function pageSize(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new TypeError(`${name} must be a whole number > 0, got ${value}`);
  }
  return value;
}

function wholeNumber(value: number, name: string): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`${name} must be a whole number >= 0, got ${value}`);
  }
  return value;
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function dedupe(values: string[], name: string): string[] {
  if (!Array.isArray(values)) throw new TypeError(`${name} must be an array of strings`);
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (typeof v !== 'string' || v === '') {
      throw new TypeError(`${name}[${i}] must be a non-empty string, got ${JSON.stringify(v)}`);
    }
    seen.add(v);
  });
  return [...seen];
}

function chunk<T>(values: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0))
    throw new TypeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

/** setTimeout-based sleep that rejects when `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal === undefined ? {} : { signal });
}
