import type { ApiRequest, ApiResult, EmulatorContext } from './context.ts';
import { pageUrl, withParams } from './context.ts';
import {
  EmulatorHttpError,
  envelope,
  methodNotAllowed,
  notFound,
  serverError,
  swappedRequiredError,
  validationError,
} from './errors.ts';
import { parseUuid, pyRepr, pyTruthy, splitTargetUuid } from './ids.ts';
import { minimalPerson, personRecord, personsCsv, serializedPerson } from './serialize.ts';
import type { PersonRow } from './store.ts';
import type { ActivityChange, JsonObject, JsonValue } from './types.ts';

/** An f-string in PostHog (`safely_get_object`): the offending id is interpolated. */
const notAPersonId = (id: string): string =>
  `The ID provided does not look like a personID. If you are using a distinctId, please use /persons?distinct_id=${id} instead.`;

const empty = (status: number): ApiResult => ({ status, body: null });
const json = (status: number, body: JsonValue): ApiResult => ({ status, body });

/** Python `int(value)` for a query parameter: a bad value is an uncaught ValueError, i.e. 500. */
const intParam = (query: URLSearchParams, name: string, fallback: number): number => {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw serverError();
  return Number.parseInt(raw, 10);
};

/** `safely_get_object`: numeric pk or uuid, else the exact 400; unknown (or other team's) person 404. */
export const getPerson = (ctx: EmulatorContext, req: ApiRequest): PersonRow => {
  const id = req.personId ?? '';
  let person: PersonRow | undefined;
  // uuid.UUID(str) first, then int(): anything else is the exact 400.
  if (parseUuid(id)) person = ctx.store.byUuid(req.teamId, id);
  else if (/^\s*[-+]?\d+\s*$/.test(id)) person = ctx.store.byPk(req.teamId, Number(id));
  else throw validationError(notAPersonId(id));
  if (!person || person.clickhouseOnly) throw notFound();
  return person;
};

const livePersons = (ctx: EmulatorContext, teamId: number): PersonRow[] =>
  ctx.store.persons(teamId);

/** ActorsQuery order: `created_at DESC, id DESC` — total, so pages never skip or repeat on ties. */
const byCreatedDesc = (a: PersonRow, b: PersonRow): number =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) ||
  (a.uuid < b.uuid ? 1 : a.uuid > b.uuid ? -1 : 0);

interface PropertyFilter {
  key: string;
  value?: JsonValue;
  operator?: string;
  type?: string;
}

const matchesFilter = (p: PersonRow, f: PropertyFilter): boolean => {
  const actual = p.properties[f.key];
  const op = f.operator ?? 'exact';
  const values = Array.isArray(f.value) ? f.value : [f.value ?? null];
  const str = (v: JsonValue | undefined) => (v === undefined || v === null ? '' : String(v));
  switch (op) {
    case 'exact':
      return actual !== undefined && values.some((v) => str(v) === str(actual));
    case 'is_not':
      return !values.some((v) => str(v) === str(actual));
    case 'icontains':
      return (
        actual !== undefined && str(actual).toLowerCase().includes(str(values[0]).toLowerCase())
      );
    case 'not_icontains':
      return !str(actual).toLowerCase().includes(str(values[0]).toLowerCase());
    case 'is_set':
      return actual !== undefined;
    case 'is_not_set':
      return actual === undefined;
    default:
      throw validationError(`Unsupported operator ${op}`);
  }
};

/** GET persons/ */
export const listPersons = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const q = req.query;
  let persons = livePersons(ctx, req.teamId);
  const distinctId = q.get('distinct_id');
  if (distinctId !== null) {
    const p = ctx.store.byDistinctId(req.teamId, distinctId);
    persons = p ? [p] : [];
  }
  const email = q.get('email');
  if (email !== null) persons = persons.filter((p) => p.properties['email'] === email);
  const search = q.get('search');
  if (search) {
    const needle = search.toLowerCase();
    persons = persons.filter(
      (p) =>
        ['email', 'name'].some((k) =>
          String(p.properties[k] ?? '')
            .toLowerCase()
            .includes(needle),
        ) ||
        p.distinctIds.includes(search) ||
        p.uuid === parseUuid(search),
    );
  }
  const properties = q.get('properties');
  if (properties) {
    let filters: PropertyFilter[];
    try {
      filters = JSON.parse(properties) as PropertyFilter[];
    } catch {
      throw serverError(); // json.loads raises outside any handler: 500 (inferred)
    }
    if (Array.isArray(filters)) {
      persons = persons.filter((p) =>
        filters.every((f) => f.type === 'cohort' || matchesFilter(p, f)),
      );
    }
  }
  persons.sort(byCreatedDesc);
  const csv = q.get('format') === 'csv';
  // CSV exports ignore paging: CSV_EXPORT_LIMIT rows from offset 0. `limit=0` means the default page size.
  const limit = csv ? 10_000 : intParam(q, 'limit', 100) || 100;
  const offset = csv ? 0 : intParam(q, 'offset', 0);
  const page = persons.slice(offset, offset + limit);
  const rows = page
    .filter((p) => !p.clickhouseOnly)
    .map((p) => serializedPerson(p, ctx.restricted));
  if (csv) {
    return { status: 200, body: personsCsv(rows), contentType: 'text/csv; charset=utf-8' };
  }
  const body: JsonObject = {
    results: rows,
    next:
      limit > 0 && page.length >= limit
        ? pageUrl(ctx, req.path, withParams(q, { offset: offset + limit, limit }))
        : null,
    previous:
      offset - limit >= 0
        ? pageUrl(ctx, req.path, withParams(q, { offset: offset - limit, limit }))
        : null,
  };
  if (q.has('include_total')) body['count'] = persons.length;
  return json(200, body);
};

/** GET persons/:id/ */
export const retrievePerson = (ctx: EmulatorContext, req: ApiRequest): ApiResult =>
  json(200, personRecord(getPerson(ctx, req), ctx.restricted));

/** POST persons/ */
export const createPerson = (): ApiResult => {
  throw methodNotAllowed(
    'POST',
    'Creating persons via this API is not allowed. Please create persons by sending an $identify event. See https://posthog.com/docs/product-analytics/identify for details.',
  );
};

interface DeleteFlags {
  deleteEvents: boolean;
  deleteRecordings: boolean;
  keepPerson: boolean;
}

interface DeleteOutcome {
  found: number;
  deleted: number;
  queued: number;
  errors: { person_uuid: string; step?: string }[];
}

const deleteNow = (ctx: EmulatorContext, teamId: number, person: PersonRow): void => {
  ctx.store.deletePerson(person);
  ctx.store.logActivity({
    teamId,
    user: ctx.settings.user,
    activity: 'deleted',
    itemId: person.pk,
    name: person.uuid,
    changes: null,
  });
};

/** `_bulk_delete_persons`: the code shared by DELETE and bulk_delete. */
const deletePersons = (
  ctx: EmulatorContext,
  teamId: number,
  persons: PersonRow[],
  flags: DeleteFlags,
): DeleteOutcome => {
  const errors: DeleteOutcome['errors'] = [];
  const asyncMode = ctx.settings.bulkDeleteMode === 'async';
  const toDelete: PersonRow[] = [];
  for (const person of persons) {
    if (flags.deleteEvents) ctx.store.addAsyncDeletion(teamId, person.uuid);
    if (flags.deleteRecordings) {
      ctx.store.recordingDeletions.push({
        teamId,
        personUuid: person.uuid,
        at: new Date().toISOString(),
      });
    }
    if (flags.keepPerson) continue;
    const failedStep = ctx.store.deletionFailures.get(person.uuid);
    if (failedStep !== undefined) {
      ctx.store.deletionFailures.delete(person.uuid);
      errors.push(
        asyncMode ? { person_uuid: person.uuid, step: failedStep } : { person_uuid: person.uuid },
      );
      continue;
    }
    toDelete.push(person);
  }
  if (asyncMode) {
    ctx.scheduler.schedule('async_delete', ctx.settings.asyncDeleteDelayMs, () => {
      for (const person of toDelete) {
        if (ctx.store.byPk(teamId, person.pk)) deleteNow(ctx, teamId, person);
      }
    });
    return { found: persons.length, deleted: 0, queued: toDelete.length, errors };
  }
  for (const person of toDelete) deleteNow(ctx, teamId, person);
  return { found: persons.length, deleted: toDelete.length, queued: 0, errors };
};

/** DELETE persons/:id/ — flags are tested for presence, so `?delete_events=false` also queues (inferred quirk). */
export const destroyPerson = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  const outcome = deletePersons(ctx, req.teamId, [person], {
    deleteEvents: req.query.has('delete_events'),
    deleteRecordings: req.query.has('delete_recordings'),
    keepPerson: req.query.has('keep_person'),
  });
  const failed = outcome.errors[0];
  if (failed) {
    throw new EmulatorHttpError(
      503,
      envelope(
        'server_error',
        'person_deletion_failed',
        `Failed to delete person at step ${failed.step ?? 'delete_postgres'}. Please retry.`,
      ),
    );
  }
  return empty(202);
};

const pyLen = (value: JsonValue | undefined): number => {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length;
  throw serverError(); // len() of a number or bool: TypeError
};

/** POST persons/bulk_delete/ (§4): validation in PostHog's order, then the shared delete. */
export const bulkDelete = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const distinctIds = req.body['distinct_ids'];
  const ids = req.body['ids'];
  if (pyTruthy(distinctIds) && pyTruthy(ids)) {
    throw validationError('You must provide either distinct_ids or ids, not both');
  }
  if (pyTruthy(distinctIds) && pyLen(distinctIds) > 1000) {
    throw validationError('You can only pass 1000 distinct_ids in one call');
  }
  if (pyTruthy(ids) && pyLen(ids) > 1000) {
    throw validationError('You can only pass 1000 ids in one call');
  }
  if (!pyTruthy(distinctIds) && !pyTruthy(ids)) {
    throw validationError('You need to specify either distinct_ids or ids');
  }
  const list = (pyTruthy(ids) ? ids : distinctIds) as JsonValue;
  if (!Array.isArray(list)) throw serverError();
  const found = new Map<number, PersonRow>();
  for (const value of list) {
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    const person = pyTruthy(ids)
      ? ctx.store.byUuid(req.teamId, String(value)) // non-uuid strings resolve to nothing (documented choice)
      : ctx.store.byDistinctId(req.teamId, String(value));
    if (person && !person.clickhouseOnly) found.set(person.pk, person);
  }
  const flags: DeleteFlags = {
    deleteEvents: pyTruthy(req.body['delete_events']),
    deleteRecordings: pyTruthy(req.body['delete_recordings']),
    keepPerson: pyTruthy(req.body['keep_person']),
  };
  const outcome = deletePersons(ctx, req.teamId, [...found.values()], flags);
  const body: JsonObject =
    ctx.settings.bulkDeleteMode === 'async'
      ? {
          persons_found: outcome.found,
          persons_deleted: 0,
          persons_queued_for_deletion: outcome.queued,
          events_queued_for_deletion: flags.deleteEvents && outcome.found > 0,
          recordings_queued_for_deletion: flags.deleteRecordings && outcome.found > 0,
          deletion_errors: outcome.errors as unknown as JsonValue,
        }
      : {
          persons_found: outcome.found,
          persons_deleted: flags.keepPerson ? 0 : outcome.deleted,
          events_queued_for_deletion: flags.deleteEvents && outcome.found > 0,
          recordings_queued_for_deletion: flags.deleteRecordings && outcome.found > 0,
          deletion_errors: outcome.errors as unknown as JsonValue,
        };
  return json(202, body);
};

/** POST persons/:id/delete_events/ — queue an AsyncDeletion, keep the person. */
export const deleteEvents = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  ctx.store.addAsyncDeletion(req.teamId, person.uuid);
  return empty(202);
};

/** POST persons/:id/delete_recordings/ — queue a recording deletion, keep the person. */
export const deleteRecordings = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  ctx.store.recordingDeletions.push({
    teamId: req.teamId,
    personUuid: person.uuid,
    at: new Date().toISOString(),
  });
  return empty(202);
};

/** POST persons/batch_by_distinct_ids/ — silent cap at 200 ids, 10 distinct ids per person. */
export const batchByDistinctIds = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const ids = req.body['distinct_ids'];
  const results: JsonObject = {};
  if (Array.isArray(ids)) {
    for (const id of ids.slice(0, 200)) {
      if (typeof id !== 'string' && typeof id !== 'number') continue;
      const person = ctx.store.byDistinctId(req.teamId, String(id));
      if (person && !person.clickhouseOnly)
        results[String(id)] = minimalPerson(person, ctx.restricted);
    }
  }
  return json(200, { results });
};

/** POST persons/batch_by_uuids/ — at most 200; a malformed uuid is a 400. */
export const batchByUuids = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const uuids = req.body['uuids'];
  const results: JsonObject = {};
  if (Array.isArray(uuids)) {
    const first = uuids.slice(0, 200);
    if (first.some((u) => typeof u !== 'string' || parseUuid(u) === null)) {
      throw validationError('One or more UUIDs are invalid.');
    }
    for (const u of first as string[]) {
      const person = ctx.store.byUuid(req.teamId, u);
      if (person && !person.clickhouseOnly)
        results[person.uuid] = minimalPerson(person, ctx.restricted);
    }
  }
  return json(200, { results });
};

/** POST persons/:id/split/ (§5): validate, answer 201, apply after the split delay. */
export const splitPerson = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  const main = req.body['main_distinct_id'] ?? null;
  const toSplit = req.body['distinct_ids_to_split'] ?? null;
  if (toSplit !== null) {
    if (!Array.isArray(toSplit) || !toSplit.every((v) => typeof v === 'string')) {
      throw validationError('must be a list of strings', 'distinct_ids_to_split');
    }
    if (toSplit.length === 0) throw validationError('must not be empty', 'distinct_ids_to_split');
    if (main !== null) {
      throw validationError('main_distinct_id cannot be combined with distinct_ids_to_split');
    }
    const missing = [...new Set(toSplit as string[])]
      .filter((d) => !person.distinctIds.includes(d))
      .sort();
    if (missing.length > 0) {
      throw validationError(
        `not on this person: [${missing.map(pyRepr).join(', ')}]`,
        'distinct_ids_to_split',
      );
    }
  }
  const before = [...person.distinctIds];
  const after: JsonObject = { distinct_ids: before };
  if (toSplit !== null) after['distinct_ids_to_split'] = toSplit;
  ctx.store.logActivity({
    teamId: req.teamId,
    user: ctx.settings.user,
    activity: 'split_person',
    itemId: person.pk,
    name: person.uuid,
    changes: [{ type: 'Person', action: 'split', field: null, before: null, after }],
  });
  const teamId = req.teamId;
  // A non-string main_distinct_id (e.g. 1) equals no distinct id in Python, so every id is split off.
  const mainId: string | null | typeof NO_MATCH =
    typeof main === 'string' ? main : main === null ? null : NO_MATCH;
  ctx.scheduler.schedule('split', ctx.settings.splitDelayMs, () => {
    applySplit(ctx, teamId, person.pk, mainId, toSplit as string[] | null);
  });
  return json(201, { success: true });
};

const NO_MATCH: unique symbol = Symbol('no distinct id');

/** The split task: each moved id gets its own person with the deterministic uuid; the original keeps its properties. */
const applySplit = (
  ctx: EmulatorContext,
  teamId: number,
  pk: number,
  main: string | null | typeof NO_MATCH,
  toSplit: string[] | null,
): void => {
  const person = ctx.store.byPk(teamId, pk);
  if (!person) return;
  let moving: string[];
  if (toSplit) moving = person.distinctIds.filter((d) => toSplit.includes(d));
  else {
    // An unchecked main_distinct_id that is not on the person splits every id off (S20).
    const keep = main ?? person.distinctIds[0];
    moving = person.distinctIds.filter((d) => keep === NO_MATCH || d !== keep);
  }
  for (const distinctId of moving) {
    const uuid = splitTargetUuid(teamId, distinctId, person.uuid);
    let target = ctx.store.byUuid(teamId, uuid);
    if (!target) {
      target = ctx.store.createPerson({
        teamId,
        distinctIds: [],
        uuid,
        version: person.version + 101,
      });
    }
    ctx.store.addDistinctId(target, distinctId);
  }
};

/** The async `$set` capture_internal sends on behalf of the persons API. */
const captureInternal = (
  ctx: EmulatorContext,
  teamId: number,
  person: PersonRow,
  event: string,
  properties: JsonObject,
): void => {
  const distinctId = person.distinctIds[0];
  // `instance.distinct_ids[0]` runs outside the try that ignores capture failures: IndexError, 500.
  if (distinctId === undefined) throw serverError();
  ctx.ingestLater([
    {
      teamId,
      event,
      distinctId,
      properties: { ...properties, $process_person_profile: true },
      timestamp: new Date().toISOString(),
    },
  ]);
};

const updatedChange: ActivityChange = {
  type: 'Person',
  action: 'changed',
  field: 'properties',
  before: null,
  after: null,
};

/** POST persons/:id/update_property/ (§6): JSON body only; 202 empty; `$set` after the ingestion delay. */
export const updateProperty = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  if (!('value' in req.body)) throw swappedRequiredError('value');
  const key = req.body['key'];
  if (key === undefined || key === null) throw swappedRequiredError('key');
  const keyName = typeof key === 'string' ? key : JSON.stringify(key);
  if (ctx.restricted.has(keyName)) {
    throw validationError(`You do not have write access to the property "${keyName}".`);
  }
  return setProperties(ctx, req, person, { [keyName]: req.body['value'] ?? null });
};

/** PATCH (and PUT) persons/:id/ — `{"properties": {...}}` sent as a `$set`; 202. */
export const patchPerson = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  const properties = req.body['properties'];
  if (properties === undefined || properties === null) throw swappedRequiredError('properties');
  if (typeof properties !== 'object' || Array.isArray(properties)) {
    throw validationError('Expected a dictionary of items.', 'properties');
  }
  const blocked = Object.keys(properties)
    .filter((k) => ctx.restricted.has(k))
    .sort();
  if (blocked.length > 0) {
    throw validationError(
      `You do not have write access to the following properties: ${blocked.join(', ')}.`,
    );
  }
  return setProperties(ctx, req, person, properties as JsonObject);
};

/**
 * What update_property and PATCH share (S1 `_set_properties`): a `$set` through internal capture, applied by
 * ingestion later, and an `updated` activity entry; 202 with an empty body.
 */
function setProperties(
  ctx: EmulatorContext,
  req: ApiRequest,
  person: PersonRow,
  properties: JsonObject,
): ApiResult {
  captureInternal(ctx, req.teamId, person, '$set', { $set: properties });
  ctx.store.logActivity({
    teamId: req.teamId,
    user: ctx.settings.user,
    activity: 'updated',
    itemId: person.pk,
    name: null,
    changes: [{ ...updatedChange }],
  });
  return empty(202);
}

/**
 * POST persons/:id/delete_property/ — `{"$unset": "key"}` → `$delete_person_property` with `{"$unset": [key]}`;
 * 201 `{"success": true}`. A missing `$unset` reaches `request.data["$unset"]` (KeyError): 500.
 */
export const deleteProperty = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  if (!('$unset' in req.body)) throw serverError();
  const key = req.body['$unset'] ?? null;
  if (typeof key === 'string' && key !== '' && ctx.restricted.has(key)) {
    throw validationError(`You do not have write access to the property "${key}".`);
  }
  captureInternal(ctx, req.teamId, person, '$delete_person_property', { $unset: [key] });
  ctx.store.logActivity({
    teamId: req.teamId,
    user: ctx.settings.user,
    activity: 'delete_property',
    itemId: person.pk,
    name: person.uuid,
    changes: [{ type: 'Person', action: 'changed', field: null, before: null, after: null }],
  });
  return json(201, { success: true });
};

const activityPage = (ctx: EmulatorContext, req: ApiRequest, entries: JsonValue[]): ApiResult => {
  const limit = intParam(req.query, 'limit', 10);
  const page = intParam(req.query, 'page', 1);
  if (limit <= 0) throw serverError();
  const pages = Math.max(1, Math.ceil(entries.length / limit));
  if (page < 1 || page > pages) throw serverError(); // Django EmptyPage, uncaught (inferred)
  const results = entries.slice((page - 1) * limit, page * limit);
  return json(200, {
    results,
    next: page < pages ? pageUrl(ctx, req.path, withParams(req.query, { page: page + 1 })) : null,
    previous: page > 1 ? pageUrl(ctx, req.path, withParams(req.query, { page: page - 1 })) : null,
    total_count: entries.length,
  });
};

const newestFirst = (ctx: EmulatorContext, teamId: number, itemId?: string): JsonValue[] =>
  ctx.store.activity
    .filter((a) => a.teamId === teamId && (itemId === undefined || a.entry.item_id === itemId))
    .map((a) => structuredClone(a.entry) as unknown as JsonValue)
    .reverse();

/** GET persons/activity/ — every Person entry of the team, newest first. */
export const allActivity = (ctx: EmulatorContext, req: ApiRequest): ApiResult =>
  activityPage(ctx, req, newestFirst(ctx, req.teamId));

/** GET persons/:id/activity/ — the person must still exist. */
export const personActivity = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const person = getPerson(ctx, req);
  return activityPage(ctx, req, newestFirst(ctx, req.teamId, String(person.pk)));
};

/** GET persons/cohorts/?person_id= — `{id,name,count}` of the static cohorts the person is in. */
export const personCohorts = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const personId = req.query.get('person_id');
  if (personId === null) throw serverError(); // request.GET["person_id"]: MultiValueDictKeyError
  const person = /^\d+$/.test(personId)
    ? ctx.store.byPk(req.teamId, Number(personId))
    : ctx.store.byUuid(req.teamId, personId);
  if (!person || person.clickhouseOnly) throw notFound();
  const results = [...ctx.store.cohorts.values()]
    .filter((c) => c.teamId === req.teamId && !c.deleted && c.memberUuids.includes(person.uuid))
    .sort((a, b) => a.id - b.id)
    .map((c) => ({
      id: c.id,
      name: c.name,
      count: c.memberUuids.filter((u) => ctx.store.byUuid(c.teamId, u)).length,
    }));
  return json(200, { results });
};

/** GET persons/deletion_status/ — AsyncDeletion rows of the team. */
export const deletionStatus = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const status = req.query.get('status') ?? 'all';
  if (!['pending', 'completed', 'all'].includes(status)) {
    throw validationError(`"${status}" is not a valid choice.`, 'status');
  }
  const personUuidParam = req.query.get('person_uuid');
  let personUuid: string | null = null;
  if (personUuidParam !== null) {
    personUuid = parseUuid(personUuidParam);
    if (!personUuid) throw validationError('Must be a valid UUID.', 'person_uuid');
  }
  const rows = ctx.store.asyncDeletions
    .filter((r) => r.teamId === req.teamId)
    .filter((r) => personUuid === null || r.personUuid === personUuid)
    .filter(
      (r) =>
        status === 'all' ||
        (status === 'completed' ? r.deleteVerifiedAt !== null : r.deleteVerifiedAt === null),
    )
    .reverse();
  const lenient = (name: string, fallback: number): number => {
    const n = Number.parseInt(req.query.get(name) ?? '', 10);
    return Number.isInteger(n) && n >= 0 ? n : fallback;
  };
  const limit = lenient('limit', 100) || 100;
  const offset = lenient('offset', 0);
  const page = rows.slice(offset, offset + limit);
  return json(200, {
    count: rows.length,
    next:
      offset + limit < rows.length
        ? pageUrl(ctx, req.path, withParams(req.query, { offset: offset + limit, limit }))
        : null,
    previous:
      offset > 0
        ? pageUrl(
            ctx,
            req.path,
            withParams(req.query, { offset: Math.max(0, offset - limit), limit }),
          )
        : null,
    results: page.map((r) => ({
      person_uuid: r.personUuid,
      created_at: r.createdAt,
      status: r.deleteVerifiedAt === null ? 'pending' : 'completed',
      delete_verified_at: r.deleteVerifiedAt,
    })),
  });
};

/**
 * GET persons/values/?key=&value= (S1 `values`; test_person.py `test_person_property_values`): the distinct values
 * of one person property with how many persons have each, most common first, `value` filtering by a
 * case-insensitive substring. No `key`, a `$virt…` key or an access-controlled key gives no results. Empty values
 * are left out (`test_person_property_values_excludes_empty`).
 */
export const propertyValues = (ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const headers = { 'Cache-Control': 'max-age=10' };
  const key = req.query.get('key');
  const search = req.query.get('value')?.toLowerCase();
  if (!key || key.startsWith('$virt') || ctx.restricted.has(key)) {
    return { status: 200, body: { results: [], refreshing: false }, headers };
  }
  const counts = new Map<string, number>();
  for (const person of ctx.store.persons(req.teamId)) {
    const value = person.properties[key];
    if (value === undefined || value === null || value === '') continue;
    const name = typeof value === 'string' ? value : JSON.stringify(value);
    if (search && !name.toLowerCase().includes(search)) continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const results = [...counts]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, count]) => ({ name, count }));
  return { status: 200, body: { results, refreshing: false }, headers };
};

/**
 * POST persons/reset_person_distinct_id/ (S1 `reset_person_distinct_id`; test_person.py
 * `test_reset_person_distinct_id`, `_not_found`): `{"distinct_id": str}` or 400 "distinct_id is required"; 202 with an
 * empty body. PostHog raises the id's ClickHouse version past a deletion so it can be used again
 * (posthog/models/person/deletion.py `reset_deleted_person_distinct_ids`); the emulator frees a deleted person's ids
 * at once, so there is nothing left to reset and live persons are untouched, as in PostHog.
 */
export const resetPersonDistinctId = (_ctx: EmulatorContext, req: ApiRequest): ApiResult => {
  const distinctId = req.body['distinct_id'];
  if (typeof distinctId !== 'string' || distinctId === '') {
    throw validationError('distinct_id is required');
  }
  return empty(202);
};
