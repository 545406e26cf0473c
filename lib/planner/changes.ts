import {
  COMMAND_TYPES,
  type Command,
  type JsonValue,
  type PersonRef,
  personKeyOf,
  personRefOf,
} from '../messages/index.ts';
import { deletedBy } from './deletes.ts';
import { type ChangeSet, type DeleteTarget, listAt } from './model.ts';
import type { InboundCommand, PropertyWrites } from './types.ts';

type UpdateCommand = Extract<Command, { type: typeof COMMAND_TYPES.update }>;

/**
 * Planner step 2, changes, in message order per person (as named: `d:<distinctId>` or `u:<uuid>`): splits and
 * merges are barriers (a merge for the survivor and for each merged id) that end the person's current round;
 * property writes between barriers form a round. Last write wins per (person, key) over the whole batch, by
 * `time`, ties broken by message order. Changes to a person deleted in the batch are skipped; a command repeated
 * under the same `id` for the same person becomes an alias of the first.
 */
export function collectChanges(
  messages: readonly InboundCommand[],
  targets: ReadonlyMap<string, DeleteTarget>,
  mode: PropertyWrites,
): ChangeSet {
  const changes: ChangeSet = {
    writes: new Map(),
    writers: new Map(),
    barriersOf: new Map(),
    roundOf: new Map(),
    aliases: new Map(),
    resolveOwners: new Map(),
    skipped: [],
  };
  const seenCommands = new Map<string, string>(); // `${type}\0${personKey}\0${command id}` → messageId
  messages.forEach(({ messageId, command }, order) => {
    if (command.type === COMMAND_TYPES.delete) return;
    const person = personRefOf(command);
    if (person === undefined || skipDeleted(changes, messageId, command, person, targets)) return;
    const personKey = personKeyOf(person);
    const identity = `${command.type}\0${personKey}\0${command.id}`;
    const first = seenCommands.get(identity);
    if (first !== undefined) {
      changes.aliases.set(messageId, first);
      return;
    }
    seenCommands.set(identity, messageId);
    if (needsResolution(command, person, mode) && 'distinctId' in person) {
      const owners = changes.resolveOwners.get(person.distinctId) ?? new Set<string>();
      changes.resolveOwners.set(person.distinctId, owners.add(messageId));
    }
    if (command.type === COMMAND_TYPES.update)
      addWrites(changes, messageId, command, person, order);
    else addBarrier(changes, messageId, command, person);
  });
  return changes;
}

/** Skips (and records as skipped) a change to a person the batch deletes: it depends on the delete's outcome. */
function skipDeleted(
  changes: ChangeSet,
  messageId: string,
  command: Command,
  person: PersonRef,
  targets: ReadonlyMap<string, DeleteTarget>,
): boolean {
  const involved =
    command.type === COMMAND_TYPES.merge
      ? [personKeyOf(person), ...command.data.mergedDistinctIds.map((id) => `d:${id}`)]
      : [personKeyOf(person)];
  const deleters = new Set(involved.flatMap((key) => deletedBy(targets, key)));
  if (deleters.size === 0) return false;
  changes.skipped.push({
    messageId,
    code: 'person_deleted_in_batch',
    reason: `${command.type} of ${describePerson(person)} is skipped: the person is deleted in the same batch by ${[...deleters].join(', ')}`,
    dependsOn: [...deleters],
  });
  return true;
}

/** Splits, and updates in `update_property` mode, call the Persons API by uuid: a distinct id must be resolved. */
function needsResolution(command: Command, person: PersonRef, mode: PropertyWrites): boolean {
  return (
    'distinctId' in person &&
    (command.type === COMMAND_TYPES.split ||
      (command.type === COMMAND_TYPES.update && mode === 'update_property'))
  );
}

/** Each key an update sets or unsets becomes the (person, key) write if it is the latest so far. */
function addWrites(
  changes: ChangeSet,
  messageId: string,
  command: UpdateCommand,
  person: PersonRef,
  order: number,
): void {
  const personKey = personKeyOf(person);
  const round = changes.roundOf.get(personKey) ?? 0;
  const time = Date.parse(command.time); // validated upstream, so never NaN
  const entries: [string, boolean, JsonValue][] = [
    ...Object.entries(command.data.set ?? {}).map(([key, value]): [string, boolean, JsonValue] => [
      key,
      false,
      value,
    ]),
    ...(command.data.unset ?? []).map((key): [string, boolean, JsonValue] => [key, true, null]),
  ];
  for (const [key, unset, value] of entries) {
    const writeKey = `${personKey}\0${key}`;
    // A message names a key once (set keys are unique, unset has no repeats nor set keys).
    listAt(changes.writers, writeKey).push(messageId);
    const current = changes.writes.get(writeKey);
    // Later time wins; equal times: the later message in the batch wins (its position is `order`).
    if (
      current === undefined ||
      time > current.time ||
      (time === current.time && order > current.order)
    ) {
      const isoTime = command.time;
      changes.writes.set(writeKey, {
        person,
        personKey,
        key,
        unset,
        value,
        time,
        isoTime,
        order,
        round,
        messageId,
      });
    }
  }
}

/** A merge orders the operations of every person it names: it ends a round of the survivor and of each alias. */
function addBarrier(
  changes: ChangeSet,
  messageId: string,
  command: Command,
  person: PersonRef,
): void {
  const keys =
    command.type === COMMAND_TYPES.merge
      ? [
          ...new Set(
            [command.data.survivorDistinctId, ...command.data.mergedDistinctIds].map(
              (id) => `d:${id}`,
            ),
          ),
        ]
      : [personKeyOf(person)];
  const barrier = { messageId, command, person };
  for (const key of keys) {
    listAt(changes.barriersOf, key).push(barrier);
    changes.roundOf.set(key, (changes.roundOf.get(key) ?? 0) + 1);
  }
}

function describePerson(person: PersonRef): string {
  return 'uuid' in person
    ? `person ${person.uuid}`
    : `the person of distinct id ${JSON.stringify(person.distinctId)}`;
}
