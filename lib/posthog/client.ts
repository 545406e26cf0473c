import { CaptureResource } from './capture.ts';
import { PostHogUsageError } from './errors.ts';
import { LegacyFunnelResource } from './funnel-legacy.ts';
import { deriveCaptureHost, normalizeHost, normalizeProjectId } from './host.ts';
import { checkKeyKind, PERSONAL_API_KEY_PREFIX, PROJECT_TOKEN_PREFIX } from './keys.ts';
import { nonNegative } from './params.ts';
import { PersonsResource } from './persons.ts';
import { PostHogRateLimiter, type RateGovernor } from './rate-limiter.ts';
import { registerSecret } from './redact.ts';
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_CAP_MS } from './retry-policy.ts';
import { defaultSleep, PostHogTransport, type TransportOptions } from './transport.ts';
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
  RequestOptions,
  SerializedPerson,
} from './types.ts';

export {
  ENDPOINT_POLICY,
  ENDPOINTS,
  type EndpointName,
  type EndpointPolicy,
  type RetryClass,
} from './endpoints.ts';
export { PERSONAL_API_KEY_PREFIX, PROJECT_TOKEN_PREFIX } from './keys.ts';
export {
  MAX_BATCH_BY_DISTINCT_IDS,
  MAX_BULK_DELETE_IDS,
  MAX_CAPTURE_BATCH_BYTES,
} from './limits.ts';
export { defaultSleep, MIN_ATTEMPT_MS } from './transport.ts';

/** Default per-attempt timeout. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default retries after the first attempt. */
export const DEFAULT_MAX_RETRIES = 3;
/** Default ceiling on a `Retry-After` the client will sleep for (openai-node's 60 s). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/**
 * Typed client of PostHog's Persons API (plus capture for merges and property writes): a facade over the
 * transport (transport.ts) and the endpoint methods by area (persons.ts, capture.ts, funnel-legacy.ts).
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

  readonly #hasProjectToken: boolean;
  readonly #persons: PersonsResource;
  readonly #capture: CaptureResource;
  readonly #funnel: LegacyFunnelResource;

  constructor(options: PostHogClientOptions & { rateLimiter?: RateGovernor }) {
    this.host = normalizeHost(options.host, 'host');
    this.captureHost =
      options.captureHost === undefined
        ? deriveCaptureHost(this.host)
        : normalizeHost(options.captureHost, 'captureHost');
    this.projectId = normalizeProjectId(options.projectId);
    const { personalApiKey, projectToken } = checkedKeys(options);
    const transport = new PostHogTransport(this.#transportOptions(options, personalApiKey));
    this.#persons = new PersonsResource(transport);
    this.#capture = new CaptureResource(transport, projectToken);
    this.#hasProjectToken = projectToken !== undefined;
    this.#funnel = new LegacyFunnelResource(transport);
  }

  #transportOptions(
    options: PostHogClientOptions & { rateLimiter?: RateGovernor },
    personalApiKey: string,
  ): TransportOptions {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? defaultSleep;
    return {
      host: this.host,
      captureHost: this.captureHost,
      projectId: this.projectId,
      personalApiKey,
      fetch: options.fetch ?? globalThis.fetch,
      now,
      sleep,
      timeoutMs: nonNegative(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs'),
      maxRetries: Math.floor(nonNegative(options.maxRetries ?? DEFAULT_MAX_RETRIES, 'maxRetries')),
      maxRetryAfterMs: nonNegative(
        options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
        'maxRetryAfterMs',
      ),
      backoff: {
        baseMs: nonNegative(options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, 'backoffBaseMs'),
        capMs: nonNegative(options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS, 'backoffCapMs'),
        random: options.random ?? Math.random,
      },
      limiter:
        options.rateLimiter ??
        (options.rateLimits === false
          ? undefined
          : new PostHogRateLimiter(options.rateLimits ?? {}, { now, sleep })),
      logger: options.logger,
      onResponse: options.onResponse,
    };
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
  split(
    person: PersonRef,
    body: { mainDistinctId?: string; distinctIdsToSplit?: string[] } = {},
    o: RequestOptions = {},
  ): Promise<{ queued: true }> {
    return this.#persons.split(person, body, o);
  }

  /**
   * POST persons/:id/update_property/ with a JSON body `{key, value}` (never query parameters).
   * PostHog answers 202 and applies the `$set` later through ingestion, so reads are eventually
   * consistent. `value: null` is allowed and sets the property to null.
   *
   * @example
   * await client.updateProperty(person.uuid, 'plan', 'enterprise'); // { accepted: true }
   */
  updateProperty(
    person: PersonRef,
    key: string,
    value: JsonValue,
    o: RequestOptions = {},
  ): Promise<{ accepted: true }> {
    return this.#persons.updateProperty(person, key, value, o);
  }

  /**
   * PATCH persons/:id/ `{"properties": {...}}`: PostHog sends all of them as ONE `$set` through internal capture
   * and answers 202 (docs/posthog-api.md §6), exactly as update_property does for one key. So many keys cost
   * one call of the 240/min budget instead of one each. Keys the project restricts give 400 naming them.
   *
   * @example
   * await client.updateProperties(person.uuid, { plan: 'enterprise', seats: 40 }); // { accepted: true }
   */
  updateProperties(
    person: PersonRef,
    properties: Record<string, JsonValue>,
    o: RequestOptions = {},
  ): Promise<{ accepted: true }> {
    return this.#persons.updateProperties(person, properties, o);
  }

  /**
   * POST persons/:id/delete_property/ `{"$unset": key}`: PostHog captures `$delete_person_property`
   * and answers 201 `{success}`.
   *
   * @example
   * await client.deleteProperty(person.uuid, 'legacy_flag');
   */
  deleteProperty(
    person: PersonRef,
    key: string,
    o: RequestOptions = {},
  ): Promise<{ success: boolean }> {
    return this.#persons.deleteProperty(person, key, o);
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
  bulkDelete(
    target: BulkDeleteTarget,
    flags: BulkDeleteFlags = {},
    o: RequestOptions = {},
  ): Promise<BulkDeleteResult> {
    return this.#persons.bulkDelete(target, flags, o);
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
  batchByDistinctIds(
    distinctIds: string[],
    o: RequestOptions = {},
  ): Promise<Record<string, MinimalPerson>> {
    return this.#persons.batchByDistinctIds(distinctIds, o);
  }

  /**
   * GET persons/:id/ by numeric id or uuid (`id` is the integer pk in this shape).
   *
   * @example
   * const person = await client.retrieve('0190f4a8-…');
   */
  retrieve(person: PersonRef, o: RequestOptions = {}): Promise<PersonRecord> {
    return this.#persons.retrieve(person, o);
  }

  /**
   * GET persons/?distinct_id= : the person holding `distinctId`, or null.
   *
   * @example
   * const person = await client.findByDistinctId('user@example.com');
   */
  findByDistinctId(distinctId: string, o: RequestOptions = {}): Promise<SerializedPerson | null> {
    return this.#persons.findByDistinctId(distinctId, o);
  }

  /**
   * GET persons/ as an async iterator over every page (`created_at DESC`).
   *
   * @example
   * for await (const person of client.list({ email: 'a@example.com' })) console.log(person.uuid);
   */
  list(query: ListQuery = {}, o: RequestOptions = {}): AsyncIterable<SerializedPerson> {
    return this.#persons.list(query, o);
  }

  /**
   * GET persons/?format=csv : PostHog's own CSV export of the list (up to its `CSV_EXPORT_LIMIT`).
   *
   * @example
   * const csv = await client.listCsv({ search: 'example.com' });
   */
  listCsv(query: ListQuery = {}, o: RequestOptions = {}): Promise<string> {
    return this.#persons.listCsv(query, o);
  }

  /**
   * GET persons/activity/ (every person, deleted ones included) or persons/:id/activity/, newest
   * first, as an async iterator. Needs the `activity_log:read` scope.
   *
   * @example
   * for await (const entry of client.activity({ person: uuid })) console.log(entry.activity);
   */
  activity(query: ActivityQuery = {}, o: RequestOptions = {}): AsyncIterable<ActivityEntry> {
    return this.#persons.activity(query, o);
  }

  /**
   * GET persons/cohorts/?person_id= : the cohorts a person is in, `{id, name, count}` each.
   * Needs `person:read` and `cohort:read`.
   *
   * @example
   * const cohorts = await client.cohorts(uuid);
   */
  cohorts(person: PersonRef, o: RequestOptions = {}): Promise<CohortMinimal[]> {
    return this.#persons.cohorts(person, o);
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
    return this.#persons.deletionStatus(query, o);
  }

  // -------------------------------------------------------------------------------------------
  // Legacy funnel routes (funnel-legacy.ts)

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
    return this.#funnel.funnel(params, o);
  }

  /** One raw page of {@link funnel} (`results`, `next`, `missing_persons`, …). */
  funnelPage(params: FunnelParams, o: FunnelOptions = {}): Promise<FunnelActorsPage> {
    return this.#funnel.funnelPage(params, o);
  }

  /**
   * The persons behind a funnel correlation (persons/funnel/correlation/), GET or POST, as an async
   * iterator. Same availability rules as {@link funnel}.
   *
   * @example
   * for await (const p of client.funnelCorrelation({ ...funnel, funnel_correlation_person_entity: { id: 'pay', type: 'events' } })) …
   */
  funnelCorrelation(params: FunnelParams, o: FunnelOptions = {}): AsyncIterable<SerializedPerson> {
    return this.#funnel.funnelCorrelation(params, o);
  }

  /** One raw page of {@link funnelCorrelation}. */
  funnelCorrelationPage(params: FunnelParams, o: FunnelOptions = {}): Promise<FunnelActorsPage> {
    return this.#funnel.funnelCorrelationPage(params, o);
  }

  // -------------------------------------------------------------------------------------------
  // Capture (capture.ts)

  /**
   * POST /i/v0/e/ on the capture host with the project token (not the personal key). A 200 means
   * accepted, not ingested. A uuid is added when missing so a retried send is one event.
   *
   * @example
   * await client.capture({ event: '$set', distinctId: 'u1', properties: { $set: { plan: 'pro' } } });
   */
  capture(event: CaptureEvent, o: RequestOptions = {}): Promise<void> {
    return this.#capture.capture(event, o);
  }

  /**
   * POST /batch/ on the capture host: one call per ~15 MB of events (the limit is 20 MB).
   *
   * @example
   * await client.captureBatch([{ event: '$set', distinctId: 'u1', properties: { $set: { a: 1 } } }]);
   */
  captureBatch(events: CaptureEvent[], o: RequestOptions = {}): Promise<void> {
    return this.#capture.captureBatch(events, o);
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
  mergeDangerously(args: MergeArgs, o: RequestOptions = {}): Promise<void> {
    return this.#capture.mergeDangerously(args, o);
  }

  /** Whether a project token is configured, so capture (merges, `$unset` of several keys) can be sent. */
  get hasProjectToken(): boolean {
    return this.#hasProjectToken;
  }

  // -------------------------------------------------------------------------------------------
  // Secrets stay out of every rendering of the client.

  /** Safe rendering: host and project only. */
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
}

/** The trimmed keys, registered for redaction and checked to be of the right kind. */
function checkedKeys(options: PostHogClientOptions): {
  personalApiKey: string;
  projectToken: string | undefined;
} {
  if (typeof options.personalApiKey !== 'string' || options.personalApiKey.trim() === '') {
    throw new PostHogUsageError('personalApiKey is required (a personal API key, phx_…)');
  }
  const personalApiKey = options.personalApiKey.trim();
  const projectToken = options.projectToken?.trim() || undefined;
  // Registered before the checks below, so even a refused key is masked wherever it might turn up.
  registerSecret(personalApiKey);
  registerSecret(projectToken);
  checkKeyKind(personalApiKey, 'personalApiKey', PERSONAL_API_KEY_PREFIX);
  if (projectToken !== undefined) checkKeyKind(projectToken, 'projectToken', PROJECT_TOKEN_PREFIX);
  return { personalApiKey, projectToken };
}
