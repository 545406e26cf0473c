import fc from 'fast-check';
import { type Command, CommandSchema } from '../../../../lib/messages/index.ts';
import type { InboundCommand } from '../../../../lib/planner/index.ts';

/** Pools are small so random batches collide on persons, keys and times, where the planner's rules matter. */
export interface Pools {
  distinctIds: number;
  uuids: number;
}

const uuidOf = (i: number) => `0190a3c2-5b7e-7cde-8f01-${i.toString(16).padStart(12, '0')}`;
const timeOf = (s: number) => new Date(Date.UTC(2026, 10, 28, 21, 0, 0) + s * 1000).toISOString();
const KEYS = ['plan', 'seats', 'email', 'tier', 'region', '$initial_os'] as const;

const value = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
);

/** Raw (producer-side) command data of every type, built from the pools. */
export function rawCommand(pools: Pools) {
  const distinctId = fc.integer({ min: 0, max: pools.distinctIds - 1 }).map((i) => `user-${i}`);
  const uuid = fc.integer({ min: 0, max: pools.uuids - 1 }).map(uuidOf);
  const time = fc.integer({ min: 0, max: 30 }).map(timeOf);
  const ref = fc.oneof(
    { weight: 3, arbitrary: distinctId.map((id) => ({ distinctId: id })) },
    { weight: 1, arbitrary: uuid.map((id) => ({ uuid: id })) },
  );

  const del = fc
    .record({
      distinctIds: fc.array(distinctId, { maxLength: 3 }),
      personUuids: fc.array(uuid, { maxLength: 2 }),
      deleteEvents: fc.boolean(),
      deleteRecordings: fc.boolean(),
      keepPerson: fc.boolean(),
    })
    .filter((d) => d.distinctIds.length + d.personUuids.length > 0)
    .map((data) => ({ type: 'persons.delete', data }));

  const update = fc
    .record({
      ref,
      set: fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 3 }),
      unset: fc.subarray([...KEYS], { maxLength: 2 }),
    })
    .map(({ ref: person, set, unset }) => ({
      set,
      unset: unset.filter((key) => !(key in set)),
      person,
    }))
    .filter((d) => Object.keys(d.set).length + d.unset.length > 0)
    .map(({ person, set, unset }) => ({
      type: 'person.properties.update',
      data: {
        ...person,
        ...(Object.keys(set).length > 0 ? { set } : {}),
        ...(unset.length > 0 ? { unset } : {}),
      },
    }));

  const split = fc
    .record({
      ref,
      main: fc.boolean(),
      ids: fc.uniqueArray(distinctId, { minLength: 1, maxLength: 3 }),
    })
    .map(({ ref: person, main, ids }) => ({
      type: 'person.split',
      data: main ? { ...person, mainDistinctId: ids[0] } : { ...person, distinctIdsToSplit: ids },
    }));

  const merge = fc
    .uniqueArray(distinctId, { minLength: 2, maxLength: 4 })
    .map(([survivor, ...merged]) => ({
      type: 'person.merge',
      data: { survivorDistinctId: survivor, mergedDistinctIds: merged },
    }));

  return fc
    .record({
      body: fc.oneof(
        { weight: 3, arbitrary: del },
        { weight: 4, arbitrary: update },
        { weight: 1, arbitrary: split },
        { weight: 1, arbitrary: merge },
      ),
      time,
    })
    .map(({ body, time: at }) => ({ ...body, time: at }));
}

/** A batch of validated inbound commands with unique message ids and command ids. */
export function batch(pools: Pools, options: { minLength?: number; maxLength: number }) {
  return fc
    .array(rawCommand(pools), {
      minLength: options.minLength ?? 1,
      maxLength: options.maxLength,
      size: 'max',
    })
    .map((raws): InboundCommand[] =>
      raws.map((raw, i) => ({
        messageId: `m${i}`,
        command: CommandSchema.parse({ ...raw, id: `c${i}` }) as Command,
      })),
    );
}
