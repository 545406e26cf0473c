import { randomUUID } from 'node:crypto';
import { isDistinctIdIllegal, uuidFromDistinctId } from './ids.ts';
import type { EmulatorStore, PersonRow } from './store.ts';
import type { JsonObject, JsonValue } from './types.ts';

/** One event as ingestion sees it, after capture accepted it (top-level `$set`/`$set_once` already merged in). */
export interface IngestEvent {
  teamId: number;
  event: string;
  distinctId: string;
  properties: JsonObject;
  /** ISO-8601. */
  timestamp: string;
  uuid?: string;
}

const MERGE_EVENTS = new Set(['$identify', '$create_alias', '$merge_dangerously']);

/**
 * Event properties copied onto the person (`$set`) and, as `$initial_*`, once (`$set_once`): PostHog
 * `nodejs/src/worker/ingestion/persons/person-property-utils.ts` (`EVENT_TO_PERSON_PROPERTIES` + `CAMPAIGN_PROPERTIES`).
 */
export const EVENT_TO_PERSON_PROPERTIES: readonly string[] = [
  '$app_build',
  '$app_name',
  '$app_namespace',
  '$app_version',
  '$browser',
  '$browser_version',
  '$device_type',
  '$current_url',
  '$pathname',
  '$os',
  '$os_name',
  '$os_version',
  '$referring_domain',
  '$referrer',
  '$screen_height',
  '$screen_width',
  '$viewport_height',
  '$viewport_width',
  '$raw_user_agent',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_name',
  'utm_term',
  'gclid',
  'gad_source',
  'gclsrc',
  'dclid',
  'gbraid',
  'wbraid',
  'fbclid',
  'msclkid',
  'twclid',
  'li_fat_id',
  'mc_cid',
  'igshid',
  'ttclid',
  'rdt_cid',
  'irclid',
  '_kx',
  'epik',
  'qclid',
  'sccid',
];

/** `computeEventPropertyUpdates`: these events never update a person (person-update.ts `NO_PERSON_UPDATE_EVENTS`). */
const NO_PERSON_UPDATE_EVENTS = new Set(['$exception', '$$heatmap']);
/** `normalizeEvent` skips the person-property lift for these (nodejs/src/utils/event.ts). */
const NO_LIFT_EVENTS = new Set(['$snapshot', '$performance_event']);

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * PostHog `personInitialAndUTMProperties` (nodejs/src/utils/db/utils.ts): each known event property present on the
 * event goes into `$set` unless `$set` names it already, and (when not null) into `$set_once` as `$initial_<name>`.
 * Server SDKs (`$is_server: true`) keep their host `$os`/`$os_version` off the person. `$os_name` is an alias of `$os`
 * (the event's own `$os` is filled from it upstream) and never becomes a person property itself.
 */
export const liftPersonProperties = (properties: JsonObject): void => {
  const skipServerHostOs = properties['$is_server'] === true;
  if (properties['$os'] === undefined && properties['$os_name'] !== undefined) {
    properties['$os'] = properties['$os_name'];
  }
  let set: JsonObject | undefined;
  let setOnce: JsonObject | undefined;
  for (const key of EVENT_TO_PERSON_PROPERTIES) {
    if (!(key in properties)) continue;
    if (skipServerHostOs && (key === '$os' || key === '$os_version')) continue;
    const value = properties[key] ?? null;
    if (set === undefined || setOnce === undefined) {
      const existingSet = properties['$set'];
      const existingSetOnce = properties['$set_once'];
      set = isObject(existingSet) ? existingSet : {};
      setOnce = isObject(existingSetOnce) ? existingSetOnce : {};
    }
    if (!(key in set)) set[key] = value;
    const initialKey = `$initial_${key.replace('$', '')}`;
    // A null never goes into $set_once: it would block the real first-touch value for good.
    if (value !== null && !(initialKey in setOnce)) setOnce[initialKey] = value;
  }
  if (set === undefined || setOnce === undefined) return;
  delete set['$os_name'];
  delete setOnce['$initial_os_name'];
  properties['$set'] = set;
  properties['$set_once'] = setOnce;
};

/** What one event changes on a person (person-update.ts `PropertyUpdates`). */
interface PropertyUpdates {
  toSet: JsonObject;
  toUnset: string[];
}

/**
 * PostHog `computeEventPropertyUpdates` (person-update.ts), against the person's properties BEFORE the event:
 * `$set_once` only for keys that are undefined, `$set` for keys whose value differs, and `$unset` only for keys the
 * person already has. So `$set` and `$unset` of one key in one event removes a key the person had, and sets a key
 * it did not have.
 */
const computeUpdates = (input: IngestEvent, personProperties: JsonObject): PropertyUpdates => {
  const toSet: JsonObject = {};
  const toUnset: string[] = [];
  if (NO_PERSON_UPDATE_EVENTS.has(input.event)) return { toSet, toUnset };
  const props = input.properties;
  const set: JsonObject = {
    ...(input.event === 'survey shown' ? { $survey_last_seen_date: input.timestamp } : {}),
    ...(isObject(props['$set']) ? props['$set'] : {}),
  };
  const setOnce = isObject(props['$set_once']) ? props['$set_once'] : {};
  const unset = props['$unset'];
  // `Array.isArray(unsetProps) ? unsetProps : Object.keys(unsetProps || {})`, JavaScript's rules included.
  const unsetKeys: unknown[] = Array.isArray(unset) ? unset : Object.keys(Object(unset ?? {}));
  for (const [key, value] of Object.entries(setOnce)) {
    if (personProperties[key] === undefined) toSet[key] = value;
  }
  for (const [key, value] of Object.entries(set)) {
    if (personProperties[key] !== value) toSet[key] = value;
  }
  for (const key of unsetKeys) {
    if (typeof key === 'string' && key in personProperties) toUnset.push(key);
  }
  return { toSet, toUnset };
};

/** `applyEventPropertyUpdates`: the sets, then the unsets. */
const applyUpdates = (target: JsonObject, updates: PropertyUpdates): void => {
  Object.assign(target, updates.toSet);
  for (const key of updates.toUnset) delete target[key];
};

/** `DateTime.startOf('hour')` in UTC. */
const startOfHour = (iso: string): string => {
  const d = new Date(iso);
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString();
};

/** The state of one event's person processing (PostHog's `PersonContext`). */
interface PersonContext {
  store: EmulatorStore;
  input: IngestEvent;
  uuid: string;
  /** Set by a merge of two different, legal distinct ids (person-merge-service.ts `mergeDistinctIds`). */
  updateIsIdentified: boolean;
}

/** A merge's outcome (`PersonMergeResult`): the person to continue with, and whether it still needs the update step. */
interface MergeResult {
  person?: PersonRow;
  needsPersonUpdate: boolean;
}

/**
 * PostHog's person processing (nodejs/src/worker/ingestion/persons/: `PersonEventProcessor.processEvent`,
 * `PersonMergeService`, `PersonPropertyService`, `PersonCreateService`) on the emulator's in-memory store.
 */
export const ingestEvent = (store: EmulatorStore, input: IngestEvent): void => {
  const { teamId, event, distinctId } = input;
  const properties = input.properties;
  const processPerson = properties['$process_person_profile'] !== false;
  if (!processPerson && (MERGE_EVENTS.has(event) || event === '$groupidentify')) return;
  // normalizeEvent, then normalizeProcessPerson (nodejs/src/utils/event.ts).
  if (!NO_LIFT_EVENTS.has(event)) liftPersonProperties(properties);
  if (!processPerson || event === '$groupidentify') {
    delete properties['$set'];
    delete properties['$set_once'];
    delete properties['$unset'];
  }
  const uuid = input.uuid ?? randomUUID();

  let person: PersonRow | undefined;
  if (processPerson) {
    const ctx: PersonContext = { store, input, uuid, updateIsIdentified: false };
    const merged = handleIdentifyOrAlias(ctx);
    if (merged.person && !merged.needsPersonUpdate) person = merged.person;
    else if (merged.person) person = updatePersonProperties(ctx, merged.person);
    else {
      const existing = store.byDistinctId(teamId, distinctId);
      person = existing
        ? updatePersonProperties(ctx, existing)
        : createPerson(ctx, [distinctId], ctx.updateIsIdentified);
    }
  }

  store.addEvent({
    uuid,
    teamId,
    event,
    distinctId,
    properties,
    timestamp: input.timestamp,
    personUuid: person?.uuid ?? null,
  });
};

/**
 * `handleIdentifyOrAlias`: `$create_alias`/`$merge_dangerously` with a truthy `alias`, or `$identify` that carries
 * a `$anon_distinct_id` key at all, merge; anything else (server-side `identify()` sends no anon id) does not.
 */
const handleIdentifyOrAlias = (ctx: PersonContext): MergeResult => {
  const { event, properties, distinctId } = ctx.input;
  if ((event === '$create_alias' || event === '$merge_dangerously') && properties['alias']) {
    return merge(ctx, String(properties['alias']), distinctId);
  }
  if (event === '$identify' && '$anon_distinct_id' in properties) {
    return merge(ctx, String(properties['$anon_distinct_id']), distinctId);
  }
  return { needsPersonUpdate: true };
};

/** `PersonMergeService.merge` + `mergeDistinctIds`. Only a merge of two different legal ids marks the person identified. */
const merge = (ctx: PersonContext, otherId: string, intoId: string): MergeResult => {
  const { store, input } = ctx;
  const { teamId } = input;
  if (intoId === otherId) return { needsPersonUpdate: true };
  for (const [illegal, other] of [
    [intoId, otherId],
    [otherId, intoId],
  ] as const) {
    if (isDistinctIdIllegal(illegal)) {
      store.warnings.push({
        type: 'cannot_merge_with_illegal_distinct_id',
        teamId,
        details: { illegalDistinctId: illegal, otherDistinctId: other, eventUuid: ctx.uuid },
      });
      return { needsPersonUpdate: true };
    }
  }
  ctx.updateIsIdentified = true;
  const other = store.byDistinctId(teamId, otherId);
  const into = store.byDistinctId(teamId, intoId);
  if (other && into) {
    if (other.pk === into.pk) return { person: into, needsPersonUpdate: true };
    return mergePeople(ctx, into, intoId, other, otherId);
  }
  if (other || into) {
    const existing = (other ?? into) as PersonRow;
    store.addDistinctId(existing, other ? intoId : otherId);
    return { person: existing, needsPersonUpdate: true };
  }
  const created = createPerson(ctx, [intoId, otherId], true);
  return { person: created, needsPersonUpdate: false };
};

/**
 * `mergePeople`: refused (warning `cannot_merge_already_identified`) when the other person is identified, unless
 * the event is `$merge_dangerously`. Otherwise the survivor's properties win conflicts, then the event's updates
 * apply; the older `created_at` stays; version is one past the higher of the two.
 */
const mergePeople = (
  ctx: PersonContext,
  into: PersonRow,
  intoId: string,
  other: PersonRow,
  otherId: string,
): MergeResult => {
  const { store, input } = ctx;
  if (input.event !== '$merge_dangerously' && other.isIdentified) {
    store.warnings.push({
      type: 'cannot_merge_already_identified',
      teamId: input.teamId,
      details: {
        sourcePersonDistinctId: otherId,
        targetPersonDistinctId: intoId,
        eventUuid: ctx.uuid,
      },
    });
    return { person: into, needsPersonUpdate: true };
  }
  const merged: JsonObject = { ...other.properties, ...into.properties };
  applyUpdates(merged, computeUpdates(input, merged));
  into.properties = merged;
  into.createdAt =
    Date.parse(other.createdAt) < Date.parse(into.createdAt) ? other.createdAt : into.createdAt;
  into.isIdentified = true;
  into.version = Math.max(into.version, other.version) + 1;
  for (const id of [...other.distinctIds]) store.addDistinctId(into, id);
  store.addOverride(other.uuid, into.uuid);
  for (const cohort of store.cohorts.values()) {
    if (cohort.memberUuids.includes(other.uuid) && !cohort.memberUuids.includes(into.uuid)) {
      cohort.memberUuids.push(into.uuid);
    }
  }
  store.deletePerson(other);
  return { person: into, needsPersonUpdate: true };
};

/**
 * `PersonCreateService.createPerson`: properties are `{...$set_once, ...$set, $creator_event_uuid}` (no `$unset`),
 * the uuid derives from the first distinct id, and `last_seen_at` starts empty (the INSERT in
 * postgres-person-repository.ts `createPerson` has no such column; the next event sets it).
 */
const createPerson = (
  ctx: PersonContext,
  distinctIds: string[],
  isIdentified: boolean,
): PersonRow => {
  const { store, input } = ctx;
  const props = input.properties;
  const set = isObject(props['$set']) ? props['$set'] : {};
  const setOnce = isObject(props['$set_once']) ? props['$set_once'] : {};
  return store.createPerson({
    teamId: input.teamId,
    distinctIds,
    uuid: ingestionUuid(store, input.teamId, distinctIds[0] ?? input.distinctId),
    createdAt: input.timestamp,
    isIdentified,
    properties: { ...setOnce, ...set, $creator_event_uuid: ctx.uuid },
  });
};

/**
 * `PersonPropertyService.updatePersonProperties`: the event's updates, `is_identified` after a merge, and
 * `last_seen_at` = the event time rounded down to the hour when that is later (unless
 * `$update_person_last_seen_at: false`).
 */
const updatePersonProperties = (ctx: PersonContext, person: PersonRow): PersonRow => {
  applyUpdates(person.properties, computeUpdates(ctx.input, person.properties));
  if (ctx.updateIsIdentified && !person.isIdentified) person.isIdentified = true;
  if (ctx.input.properties['$update_person_last_seen_at'] !== false) {
    const rounded = startOfHour(ctx.input.timestamp);
    if (!person.lastSeenAt || Date.parse(rounded) > Date.parse(person.lastSeenAt)) {
      person.lastSeenAt = rounded;
    }
  }
  return person;
};

/**
 * The uuid ingestion gives a new person: PostHog's `uuidFromDistinctId(teamId, distinctId)` of its first distinct id,
 * so person uuids are predictable (and split's `:split` suffix rule is reachable). Should that uuid still be taken
 * (the id was split off its first person, whose uuid it named), a random one stands in where real PostHog would hit
 * its unique constraint.
 */
function ingestionUuid(store: EmulatorStore, teamId: number, distinctId: string): string {
  const derived = uuidFromDistinctId(teamId, distinctId);
  return store.hasUuid(derived) ? randomUUID() : derived;
}
