import { ENDPOINTS } from './endpoints.ts';
import { PostHogUsageError } from './errors.ts';
import { chunk, MAX_BATCH_BY_DISTINCT_IDS, MAX_BULK_DELETE_IDS } from './limits.ts';
import { paginate } from './pagination.ts';
import { dedupe, listParams, nonEmptyString, pageSize } from './params.ts';
import { path, personRef, UUID_PATTERN } from './path.ts';
import {
  ActivityPageSchema,
  BatchByDistinctIdsResponseSchema,
  BulkDeleteResponseSchema,
  CohortsResponseSchema,
  DeletePropertyResponseSchema,
  DeletionStatusPageSchema,
  PersonListPageSchema,
  PersonRecordSchema,
  SplitResponseSchema,
} from './schemas.ts';
import type { PostHogTransport } from './transport.ts';
import type {
  ActivityEntry,
  ActivityQuery,
  BulkDeleteFlags,
  BulkDeleteResult,
  BulkDeleteTarget,
  CohortMinimal,
  DeletionStatusEntry,
  DeletionStatusQuery,
  JsonValue,
  ListQuery,
  MinimalPerson,
  PersonRecord,
  PersonRef,
  RequestOptions,
  SerializedPerson,
} from './types.ts';

/** The body of one bulk_delete response, as the schema parses it. */
type BulkDeleteResponse = ReturnType<typeof BulkDeleteResponseSchema.parse>;

/**
 * The Persons API, one short method per endpoint (openai-node's resource classes). `PostHogClient` exposes them;
 * the transport does the sending, retrying and validating.
 */
export class PersonsResource {
  readonly #t: PostHogTransport;

  constructor(transport: PostHogTransport) {
    this.#t = transport;
  }

  /** POST persons/:id/split/ (see `PostHogClient.split`). */
  async split(
    person: PersonRef,
    body: { mainDistinctId?: string; distinctIdsToSplit?: string[] } = {},
    o: RequestOptions = {},
  ): Promise<{ queued: true }> {
    const url = this.#t.apiUrl(path`/persons/${personRef(person)}/split/`);
    const spec = {
      endpoint: ENDPOINTS.split,
      response: 'json',
      schema: SplitResponseSchema,
    } as const;
    await this.#t.post(url, splitBody(body), spec, o);
    return { queued: true };
  }

  /** POST persons/:id/update_property/ with a JSON body `{key, value}` (see `PostHogClient.updateProperty`). */
  async updateProperty(
    person: PersonRef,
    key: string,
    value: JsonValue,
    o: RequestOptions = {},
  ): Promise<{ accepted: true }> {
    const url = this.#t.apiUrl(path`/persons/${personRef(person)}/update_property/`);
    nonEmptyString(key, 'updateProperty: key must be a non-empty string');
    if (value === undefined) {
      throw new PostHogUsageError(
        'updateProperty: value is required (use null to clear a property)',
      );
    }
    const spec = { endpoint: ENDPOINTS.updateProperty, response: 'empty' } as const;
    await this.#t.post(url, { key, value }, spec, o);
    return { accepted: true };
  }

  /** PATCH persons/:id/ `{"properties": {...}}`: several keys in one `$set` (see `PostHogClient.updateProperties`). */
  async updateProperties(
    person: PersonRef,
    properties: Record<string, JsonValue>,
    o: RequestOptions = {},
  ): Promise<{ accepted: true }> {
    const url = this.#t.apiUrl(path`/persons/${personRef(person)}/`);
    checkProperties(properties);
    const spec = { endpoint: ENDPOINTS.updateProperties, response: 'empty' } as const;
    await this.#t.patch(url, { properties }, spec, o);
    return { accepted: true };
  }

  /** POST persons/:id/delete_property/ `{"$unset": key}` (see `PostHogClient.deleteProperty`). */
  async deleteProperty(
    person: PersonRef,
    key: string,
    o: RequestOptions = {},
  ): Promise<{ success: boolean }> {
    const url = this.#t.apiUrl(path`/persons/${personRef(person)}/delete_property/`);
    nonEmptyString(key, 'deleteProperty: key must be a non-empty string');
    const spec = {
      endpoint: ENDPOINTS.deleteProperty,
      response: 'json',
      schema: DeletePropertyResponseSchema,
    } as const;
    const data = await this.#t.post(url, { $unset: key }, spec, o);
    return { success: data.success };
  }

  /** POST persons/bulk_delete/ in chunks of at most 1000 (see `PostHogClient.bulkDelete`). */
  async bulkDelete(
    target: BulkDeleteTarget,
    flags: BulkDeleteFlags = {},
    o: RequestOptions = {},
  ): Promise<BulkDeleteResult> {
    const { field, values } = bulkDeleteIds(target);
    const result = emptyBulkDeleteResult();
    const chunks = chunk(values, MAX_BULK_DELETE_IDS);
    for (const [index, part] of chunks.entries()) {
      addBulkDeleteChunk(result, await this.#bulkDeleteChunk(field, part, flags, o));
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

  #bulkDeleteChunk(
    field: 'ids' | 'distinct_ids',
    ids: string[],
    flags: BulkDeleteFlags,
    o: RequestOptions,
  ): Promise<BulkDeleteResponse> {
    // Real JSON booleans: the view `bool()`s whatever it gets, so a string "false" would be true.
    const body = {
      [field]: ids,
      delete_events: flags.deleteEvents === true,
      delete_recordings: flags.deleteRecordings === true,
      keep_person: flags.keepPerson === true,
    };
    const spec = {
      endpoint: ENDPOINTS.bulkDelete,
      response: 'json',
      schema: BulkDeleteResponseSchema,
    } as const;
    return this.#t.post(this.#t.apiUrl('/persons/bulk_delete/'), body, spec, o);
  }

  /** POST persons/batch_by_distinct_ids/ in chunks of 200, merged into one map. */
  async batchByDistinctIds(
    distinctIds: string[],
    o: RequestOptions = {},
  ): Promise<Record<string, MinimalPerson>> {
    const values = dedupe(distinctIds, 'batchByDistinctIds.distinctIds');
    const url = this.#t.apiUrl('/persons/batch_by_distinct_ids/');
    const spec = {
      endpoint: ENDPOINTS.batchByDistinctIds,
      response: 'json',
      schema: BatchByDistinctIdsResponseSchema,
    } as const;
    const out: Record<string, MinimalPerson> = {};
    for (const part of chunk(values, MAX_BATCH_BY_DISTINCT_IDS)) {
      Object.assign(out, (await this.#t.post(url, { distinct_ids: part }, spec, o)).results);
    }
    return out;
  }

  /** GET persons/:id/ by numeric id or uuid. */
  retrieve(person: PersonRef, o: RequestOptions = {}): Promise<PersonRecord> {
    const url = this.#t.apiUrl(path`/persons/${personRef(person)}/`);
    return this.#t.get(
      url,
      { endpoint: ENDPOINTS.retrieve, response: 'json', schema: PersonRecordSchema },
      o,
    );
  }

  /** GET persons/?distinct_id= : the person holding `distinctId`, or null. */
  async findByDistinctId(
    distinctId: string,
    o: RequestOptions = {},
  ): Promise<SerializedPerson | null> {
    nonEmptyString(distinctId, 'findByDistinctId: distinctId must be a non-empty string');
    const url = this.#t.apiUrl('/persons/', { distinct_id: distinctId });
    const page = await this.#t.get(url, listSpec, o);
    return page.results[0] ?? null;
  }

  /** GET persons/ as an async iterator over every page (`created_at DESC`). */
  list(query: ListQuery = {}, o: RequestOptions = {}): AsyncIterable<SerializedPerson> {
    return paginate(this.#t.apiUrl('/persons/', listParams(query)), async (pageUrl) => {
      const page = await this.#t.get(pageUrl, listSpec, o);
      return { items: page.results, next: page.next };
    });
  }

  /** GET persons/?format=csv : PostHog's own CSV export of the list. */
  listCsv(query: ListQuery = {}, o: RequestOptions = {}): Promise<string> {
    const url = this.#t.apiUrl('/persons/', { ...listParams(query), format: 'csv' });
    return this.#t.get<string>(url, { endpoint: ENDPOINTS.list, response: 'text' }, o);
  }

  /** GET persons/activity/ or persons/:id/activity/, newest first, as an async iterator. */
  activity(query: ActivityQuery = {}, o: RequestOptions = {}): AsyncIterable<ActivityEntry> {
    const route =
      query.person === undefined
        ? '/persons/activity/'
        : path`/persons/${personRef(query.person)}/activity/`;
    const url = this.#t.apiUrl(route, { limit: pageSize(query.limit, 'activity.limit') });
    const spec = {
      endpoint: ENDPOINTS.activity,
      response: 'json',
      schema: ActivityPageSchema,
    } as const;
    return paginate(url, async (pageUrl) => {
      const page = await this.#t.get(pageUrl, spec, o);
      return { items: page.results, next: page.next };
    });
  }

  /** GET persons/cohorts/?person_id= : the cohorts a person is in. */
  async cohorts(person: PersonRef, o: RequestOptions = {}): Promise<CohortMinimal[]> {
    const url = this.#t.apiUrl('/persons/cohorts/', { person_id: personRef(person) });
    const spec = {
      endpoint: ENDPOINTS.cohorts,
      response: 'json',
      schema: CohortsResponseSchema,
    } as const;
    return (await this.#t.get(url, spec, o)).results;
  }

  /** GET persons/deletion_status/ as an async iterator. */
  deletionStatus(
    query: DeletionStatusQuery = {},
    o: RequestOptions = {},
  ): AsyncIterable<DeletionStatusEntry> {
    const url = this.#t.apiUrl('/persons/deletion_status/', {
      status: query.status,
      person_uuid: query.personUuid,
      limit: pageSize(query.limit, 'deletionStatus.limit'),
    });
    const spec = {
      endpoint: ENDPOINTS.deletionStatus,
      response: 'json',
      schema: DeletionStatusPageSchema,
    } as const;
    return paginate(url, async (pageUrl) => {
      const page = await this.#t.get(pageUrl, spec, o);
      return { items: page.results, next: page.next };
    });
  }
}

const listSpec = {
  endpoint: ENDPOINTS.list,
  response: 'json',
  schema: PersonListPageSchema,
} as const;

function splitBody(body: { mainDistinctId?: string; distinctIdsToSplit?: string[] }): {
  main_distinct_id?: string;
  distinct_ids_to_split?: string[];
} {
  if (body.mainDistinctId !== undefined && body.distinctIdsToSplit !== undefined) {
    throw new PostHogUsageError('split: mainDistinctId cannot be combined with distinctIdsToSplit');
  }
  if (body.mainDistinctId !== undefined) return { main_distinct_id: body.mainDistinctId };
  if (body.distinctIdsToSplit === undefined) return {};
  if (body.distinctIdsToSplit.length === 0) {
    throw new PostHogUsageError(
      'split: distinctIdsToSplit must not be empty (omit it to split every id)',
    );
  }
  return { distinct_ids_to_split: body.distinctIdsToSplit };
}

/** The properties of a PATCH: an object of at least one non-empty key, each with a value (null clears it). */
function checkProperties(properties: Record<string, JsonValue>): void {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new PostHogUsageError('updateProperties: properties must be an object of key → value');
  }
  const keys = Object.keys(properties);
  if (keys.length === 0) {
    throw new PostHogUsageError('updateProperties: properties must name at least one key');
  }
  if (keys.includes(''))
    throw new PostHogUsageError('updateProperties: a key must be a non-empty string');
  if (keys.some((key) => properties[key] === undefined)) {
    throw new PostHogUsageError(
      'updateProperties: every value is required (use null to clear a property)',
    );
  }
}

/** The body field and the distinct, checked values of a bulk_delete target: uuids or distinct ids, never both. */
function bulkDeleteIds(target: BulkDeleteTarget): {
  field: 'ids' | 'distinct_ids';
  values: string[];
} {
  const hasIds = 'ids' in target && target.ids !== undefined;
  const hasDistinct = 'distinctIds' in target && target.distinctIds !== undefined;
  if (hasIds === hasDistinct) {
    throw new PostHogUsageError(
      'bulkDelete: pass either { ids } or { distinctIds }, not both and not neither',
    );
  }
  if (!hasIds) {
    const { distinctIds } = target as { distinctIds: string[] };
    return { field: 'distinct_ids', values: dedupe(distinctIds, 'bulkDelete.distinctIds') };
  }
  const values = dedupe((target as { ids: string[] }).ids, 'bulkDelete.ids');
  const bad = values.findIndex((v) => !UUID_PATTERN.test(v));
  if (bad >= 0) {
    throw new PostHogUsageError(
      `bulkDelete.ids[${bad}] is not a person uuid (${JSON.stringify(values[bad])}); use { distinctIds } for distinct ids`,
    );
  }
  return { field: 'ids', values };
}

function emptyBulkDeleteResult(): BulkDeleteResult {
  return {
    personsFound: 0,
    personsDeleted: 0,
    personsQueuedForDeletion: 0,
    eventsQueuedForDeletion: false,
    recordingsQueuedForDeletion: false,
    deletionErrors: [],
    calls: 0,
  };
}

/** Adds one chunk's answer, in either response shape (synchronous or queued), to the merged result. */
function addBulkDeleteChunk(result: BulkDeleteResult, data: BulkDeleteResponse): void {
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
}
