import { randomUUID } from 'node:crypto';
import { isDistinctIdIllegal, uuidFromDistinctId } from './ids.ts';
import type { EmulatorStore, PersonRow } from './store.ts';
import type { JsonObject, JsonValue } from './types.ts';

/** One event as ingestion sees it, after capture accepted it. */
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

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `$set`, `$set_once` and `$unset` of an event applied to a property bag (S16; `$unset` may be an array or object). */
export const applyPropertyUpdates = (target: JsonObject, properties: JsonObject): void => {
  const set = properties['$set'];
  const setOnce = properties['$set_once'];
  const unset = properties['$unset'];
  if (isObject(setOnce)) {
    for (const [k, v] of Object.entries(setOnce)) if (!(k in target)) target[k] = v;
  }
  if (isObject(set)) Object.assign(target, set);
  const unsetKeys = Array.isArray(unset)
    ? unset.filter((k): k is string => typeof k === 'string')
    : isObject(unset)
      ? Object.keys(unset)
      : [];
  for (const k of unsetKeys) delete target[k];
};

const older = (a: string, b: string): string => (Date.parse(a) <= Date.parse(b) ? a : b);

/**
 * PostHog's person-processing step of ingestion (S16 `handleIdentifyOrAlias`, `merge`, `mergePeople`), run on the
 * emulator's in-memory store. Returns the stored event, or null when the event was dropped.
 */
export const ingestEvent = (store: EmulatorStore, input: IngestEvent): void => {
  const { teamId, event, distinctId, properties } = input;
  const processPersons = properties['$process_person_profile'] !== false;
  if (!processPersons && (MERGE_EVENTS.has(event) || event === '$groupidentify')) return;

  let person: PersonRow | undefined;
  if (processPersons) {
    if (MERGE_EVENTS.has(event)) {
      const other =
        event === '$identify'
          ? properties['$anon_distinct_id']
          : (properties['alias'] ?? undefined);
      const otherId =
        typeof other === 'string' || typeof other === 'number' ? String(other) : undefined;
      if (otherId !== undefined) {
        person = merge(store, input, otherId, event === '$merge_dangerously');
      }
    }
    if (!person) {
      person = store.byDistinctId(teamId, distinctId);
      if (!person) {
        person = store.createPerson({
          teamId,
          distinctIds: [distinctId],
          uuid: ingestionUuid(store, teamId, distinctId),
          createdAt: input.timestamp,
        });
      }
      applyPropertyUpdates(person.properties, properties);
    }
    if (event === '$identify' && person) person.isIdentified = true;
    if (!person.lastSeenAt || Date.parse(input.timestamp) > Date.parse(person.lastSeenAt)) {
      person.lastSeenAt = input.timestamp;
    }
  }

  store.addEvent({
    uuid: input.uuid ?? randomUUID(),
    teamId,
    event,
    distinctId,
    properties,
    timestamp: input.timestamp,
    personUuid: person?.uuid ?? null,
  });
};

/**
 * Merge the person of `otherId` into the person of the event's distinct id. Returns the person the event is then
 * processed against (with its `$set` etc. applied), or undefined to fall back to the plain path.
 */
const merge = (
  store: EmulatorStore,
  input: IngestEvent,
  otherId: string,
  unrestricted: boolean,
): PersonRow | undefined => {
  const { teamId, distinctId: intoId, properties } = input;
  if (isDistinctIdIllegal(intoId) || isDistinctIdIllegal(otherId)) {
    store.warnings.push({
      type: 'cannot_merge_with_illegal_distinct_id',
      teamId,
      details: {
        illegalDistinctId: isDistinctIdIllegal(intoId) ? intoId : otherId,
        otherDistinctId: isDistinctIdIllegal(intoId) ? otherId : intoId,
        eventUuid: input.uuid ?? null,
      },
    });
    return undefined;
  }
  if (intoId === otherId) return undefined;

  const into = store.byDistinctId(teamId, intoId);
  const other = store.byDistinctId(teamId, otherId);

  if (into && other) {
    if (into.pk === other.pk) {
      applyPropertyUpdates(into.properties, properties);
      return into;
    }
    if (!unrestricted && other.isIdentified) {
      store.warnings.push({
        type: 'cannot_merge_already_identified',
        teamId,
        details: { sourcePersonDistinctId: otherId, targetPersonDistinctId: intoId },
      });
      applyPropertyUpdates(into.properties, properties);
      return into;
    }
    // mergePeople: the survivor's properties win on a conflict; then the event's own updates.
    const merged: JsonObject = { ...other.properties, ...into.properties };
    applyPropertyUpdates(merged, properties);
    into.properties = merged;
    into.createdAt = older(into.createdAt, other.createdAt);
    into.isIdentified = true;
    into.version += 1;
    for (const id of [...other.distinctIds]) store.addDistinctId(into, id);
    store.addOverride(other.uuid, into.uuid);
    for (const cohort of store.cohorts.values()) {
      if (cohort.memberUuids.includes(other.uuid) && !cohort.memberUuids.includes(into.uuid)) {
        cohort.memberUuids.push(into.uuid);
      }
    }
    store.deletePerson(other);
    return into;
  }
  if (other || into) {
    const person = (other ?? into) as PersonRow;
    store.addDistinctId(person, other ? intoId : otherId);
    person.isIdentified = true;
    applyPropertyUpdates(person.properties, properties);
    return person;
  }
  const created = store.createPerson({
    teamId,
    distinctIds: [intoId, otherId],
    uuid: ingestionUuid(store, teamId, intoId),
    createdAt: input.timestamp,
    isIdentified: true,
  });
  applyPropertyUpdates(created.properties, properties);
  return created;
};

/**
 * The uuid ingestion gives a new person: PostHog's `uuidFromDistinctId(teamId, distinctId)` of the event's
 * distinct id, so person uuids are predictable (and split's `:split` suffix rule is reachable). Should that uuid
 * still be taken (the id was split off its first person, whose uuid it named), a random one stands in where real
 * PostHog would hit its unique constraint.
 */
function ingestionUuid(store: EmulatorStore, teamId: number, distinctId: string): string {
  const derived = uuidFromDistinctId(teamId, distinctId);
  return store.hasUuid(derived) ? randomUUID() : derived;
}
