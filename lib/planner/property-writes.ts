import type { JsonValue, PersonRef } from '../messages/index.ts';
import type { Step, Write } from './model.ts';
import type { PlannedCall, UpdatePropertyCall } from './types.ts';

/** The steps of one person's round of property writes in `update_property` mode (see `PropertyWrites`). */
export interface PropertyWriteSteps {
  steps: Step[];
  /** A person named by uuid whose `$unset` event needs one of its distinct ids (a stage-0 retrieve). */
  retrieveUuid?: string;
  retrieveServes: string[];
}

/** What {@link propertyWriteSteps} needs besides the writes. */
export interface PropertyWriteOptions {
  /** Several unset keys become one `$unset` capture event (the project token can send it). */
  readonly captureUnsets: boolean;
  /** writeKey → every message that wrote it (the winning write serves them all) */
  readonly writers: ReadonlyMap<string, string[]>;
  /** The deterministic uuid of the `$unset` event serving these messages. */
  readonly uuidOf: (serves: string[]) => string;
}

/**
 * One person's round of writes (already last-write-wins per key) as the fewest Persons API calls: one call for all
 * set keys (`update_property` for one key, PATCH for several) and one for all unset keys (`delete_property` for one
 * key; for several, one `$unset` capture event bound to the existing person when `captureUnsets`, else one
 * `delete_property` each). Set and unset keys are disjoint, so the two calls do not need an order between them.
 */
export function propertyWriteSteps(
  roundWrites: readonly [string, Write][],
  options: PropertyWriteOptions,
): PropertyWriteSteps {
  const person = roundWrites[0]?.[1].person;
  const result: PropertyWriteSteps = { steps: [], retrieveServes: [] };
  if (person === undefined) return result;
  const servesOf = ([writeKey, write]: [string, Write]) => [
    ...(options.writers.get(writeKey) ?? [write.messageId]),
  ];
  const sets = roundWrites.filter(([, write]) => !write.unset);
  const unsets = roundWrites.filter(([, write]) => write.unset);
  const api: PlannedCall[] = setCalls(sets, person, servesOf);
  if (unsets.length > 1 && options.captureUnsets) {
    const serves = [...new Set(unsets.flatMap(servesOf))];
    result.steps.push(unsetEventStep(unsets, person, serves, options.uuidOf(serves)));
    if ('uuid' in person) {
      result.retrieveUuid = person.uuid;
      result.retrieveServes = serves;
    }
  } else {
    for (const entry of unsets) {
      const { key } = entry[1];
      api.push({ endpoint: 'delete_property', stage: 0, serves: servesOf(entry), person, key });
    }
  }
  if (api.length > 0) result.steps.unshift({ kind: 'api', calls: api });
  return result;
}

/** All set keys of the round: `update_property` for one, one PATCH (with the per-key calls to fall back on) for several. */
function setCalls(
  sets: readonly [string, Write][],
  person: PersonRef,
  servesOf: (entry: [string, Write]) => string[],
): PlannedCall[] {
  const perKey = sets.map(
    (entry): UpdatePropertyCall => ({
      endpoint: 'update_property',
      stage: 0,
      serves: servesOf(entry),
      person,
      key: entry[1].key,
      value: entry[1].value,
    }),
  );
  if (perKey.length <= 1) return perKey;
  // No prototype: a property key may be any string, `__proto__` included.
  const properties = Object.create(null) as Record<string, JsonValue>;
  for (const [, write] of sets) properties[write.key] = write.value;
  const serves = [...new Set(perKey.flatMap((call) => call.serves))];
  return [{ endpoint: 'update_properties', stage: 0, serves, person, properties, perKey }];
}

/** One `$unset` event for several keys, sent only to a person stage 0 found (it must not create one). */
function unsetEventStep(
  unsets: readonly [string, Write][],
  person: PersonRef,
  serves: string[],
  uuid: string,
): Step {
  const latest = unsets.reduce((a, b) => (b[1].time > a[1].time ? b : a))[1];
  return {
    kind: 'capture',
    events: [
      {
        serves,
        event: {
          event: '$set',
          distinctId: 'distinctId' in person ? person.distinctId : '',
          set: Object.create(null) as Record<string, JsonValue>,
          unset: unsets.map(([, write]) => write.key),
          timestamp: latest.isoTime,
          uuid,
          existingPerson: { person, serves },
        },
      },
    ],
  };
}
