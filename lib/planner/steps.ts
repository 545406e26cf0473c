import { v5 as uuidv5 } from 'uuid';
import { COMMAND_TYPES, type JsonValue } from '../messages/index.ts';
import {
  type Barrier,
  CAPTURE_EVENT_UUID_NAMESPACE,
  type ChangeSet,
  listAt,
  type Step,
  type Write,
} from './model.ts';
import { propertyWriteSteps } from './property-writes.ts';
import type { PlannedCaptureEvent, PropertyWrites } from './types.ts';

/** Each person's steps in message order, and the Persons API calls they hold (for the lower bound). */
export interface PersonSteps {
  /** personKey → steps, in the order they must take effect */
  readonly steps: Map<string, Step[]>;
  /** Property write calls and splits: Persons API calls any plan needs. */
  readonly personsApiCalls: number;
  /** person uuid → the messages whose `$unset` event needs one of its distinct ids (a stage-0 retrieve) */
  readonly retrieveOwners: Map<string, Set<string>>;
}

/** What building steps needs besides the changes. */
interface StepContext {
  readonly changes: ChangeSet;
  readonly mode: PropertyWrites;
  /** `update_property` mode: several unset keys of a person are one `$unset` capture event. */
  readonly captureUnsets: boolean;
  readonly retrieveOwners: Map<string, Set<string>>;
  /** messageId → command id, for deterministic event uuids */
  readonly commandIdOf: ReadonlyMap<string, string>;
  /** A merge's one step, shared by the lists of every person it names. */
  readonly mergeSteps: Map<Barrier, Step>;
}

/**
 * Planner step 3, steps: each person's operations after stage 0, in message order: per round, its writes (one
 * `$set` capture event in capture mode, else one call per key), then the barrier that ends the round (a split call,
 * or a merge's capture events). A merge ends a round of every person it names, so it sits in each of their lists
 * (one shared step).
 */
export function buildSteps(
  changes: ChangeSet,
  mode: PropertyWrites,
  commandIdOf: ReadonlyMap<string, string>,
  captureUnsets: boolean,
): PersonSteps {
  const retrieveOwners = new Map<string, Set<string>>();
  const context: StepContext = {
    changes,
    mode,
    captureUnsets,
    retrieveOwners,
    commandIdOf,
    mergeSteps: new Map(),
  };
  const writesOf = writesByRound(changes);
  const steps = new Map<string, Step[]>();
  // Persons in order of first appearance (writes, then barriers), so the plan is deterministic.
  for (const personKey of new Set([...writesOf.keys(), ...changes.barriersOf.keys()])) {
    const rounds = writesOf.get(personKey) ?? [];
    const ends = changes.barriersOf.get(personKey) ?? [];
    const list = listAt(steps, personKey);
    for (let round = 0; round < Math.max(rounds.length, ends.length + 1); round += 1) {
      const writes = rounds[round] ?? [];
      if (writes.length > 0) list.push(...writeSteps(context, writes, personKey, round));
      const barrier = ends[round];
      if (barrier !== undefined) list.push(barrierStep(context, barrier));
    }
  }
  return { steps, personsApiCalls: countApiCalls(steps), retrieveOwners };
}

/** The Persons API calls of all steps (API steps are never shared between persons, so none counts twice). */
function countApiCalls(steps: ReadonlyMap<string, Step[]>): number {
  let calls = 0;
  for (const list of steps.values())
    for (const step of list) if (step.kind === 'api') calls += step.calls.length;
  return calls;
}

/** personKey → the winning writes of each round, as `[writeKey, write]`. */
function writesByRound(changes: ChangeSet): Map<string, [string, Write][][]> {
  const writesOf = new Map<string, [string, Write][][]>();
  for (const entry of changes.writes) {
    const { personKey, round } = entry[1];
    const rounds = listAt(writesOf, personKey);
    let list = rounds[round];
    if (list === undefined) {
      list = [];
      rounds[round] = list;
    }
    list.push(entry);
  }
  return writesOf;
}

/**
 * One round's writes: a `$set` capture event (capture mode, a person named by distinct id), else the fewest
 * Persons API calls (property-writes.ts).
 */
function writeSteps(
  context: StepContext,
  writes: [string, Write][],
  personKey: string,
  round: number,
): Step[] {
  const first = writes[0]?.[1];
  if (context.mode === 'capture' && first !== undefined && 'distinctId' in first.person) {
    return [setEventStep(context, writes, first.person.distinctId, first.isoTime, round)];
  }
  const written = propertyWriteSteps(writes, {
    captureUnsets: context.captureUnsets,
    writers: context.changes.writers,
    uuidOf: (ids) => {
      const commandIds = ids.map((id) => context.commandIdOf.get(id) ?? id).sort();
      return uuidv5(
        `unset\0${personKey}\0${round}\0${commandIds.join('\0')}`,
        CAPTURE_EVENT_UUID_NAMESPACE,
      );
    },
  });
  if (written.retrieveUuid !== undefined) {
    const owners = context.retrieveOwners.get(written.retrieveUuid) ?? new Set<string>();
    for (const id of written.retrieveServes) owners.add(id);
    context.retrieveOwners.set(written.retrieveUuid, owners);
  }
  return written.steps;
}

function setEventStep(
  context: StepContext,
  writes: [string, Write][],
  distinctId: string,
  firstTime: string,
  round: number,
): Step {
  const event: PlannedCaptureEvent & { event: '$set' } = {
    event: '$set',
    distinctId,
    // No prototype: a property key may be any string, `__proto__` included.
    set: Object.create(null) as Record<string, JsonValue>,
    unset: [],
    timestamp: firstTime,
    uuid: '',
  };
  const serves = new Set<string>();
  for (const [writeKey, write] of writes) {
    if (write.unset) event.unset.push(write.key);
    else event.set[write.key] = write.value;
    if (write.time > Date.parse(event.timestamp)) event.timestamp = write.isoTime;
    for (const id of context.changes.writers.get(writeKey) ?? [write.messageId]) serves.add(id);
  }
  const ids = [...serves].map((id) => context.commandIdOf.get(id) ?? id).sort();
  event.uuid = uuidv5(
    `set\0${distinctId}\0${round}\0${ids.join('\0')}`,
    CAPTURE_EVENT_UUID_NAMESPACE,
  );
  return { kind: 'capture', events: [{ event, serves: [...serves] }] };
}

/** The step of a split (one API call) or of a merge (its capture events, one step shared by every person). */
function barrierStep(context: StepContext, barrier: Barrier): Step {
  const { command, messageId, person } = barrier;
  if (command.type === COMMAND_TYPES.split) {
    const body =
      command.data.distinctIdsToSplit !== undefined
        ? { distinctIdsToSplit: command.data.distinctIdsToSplit }
        : { mainDistinctId: command.data.mainDistinctId ?? '' };
    return {
      kind: 'api',
      calls: [{ endpoint: 'split', stage: 0, serves: [messageId], person, body }],
    };
  }
  let step = context.mergeSteps.get(barrier);
  if (step === undefined && command.type === COMMAND_TYPES.merge) {
    const survivor = command.data.survivorDistinctId;
    step = {
      kind: 'capture',
      events: command.data.mergedDistinctIds.map((alias) => ({
        serves: [messageId],
        event: {
          event: '$merge_dangerously',
          distinctId: survivor,
          alias,
          timestamp: command.time,
          uuid: uuidv5(`merge\0${survivor}\0${alias}\0${command.id}`, CAPTURE_EVENT_UUID_NAMESPACE),
        },
      })),
    };
    context.mergeSteps.set(barrier, step);
  }
  if (step === undefined) throw new Error(`planner: ${command.type} is not a barrier (a bug)`);
  return step;
}
