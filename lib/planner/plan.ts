import { v5 as uuidv5 } from 'uuid';
import {
  COMMAND_TYPES,
  type Command,
  type JsonValue,
  type PersonRef,
  personKeyOf,
  personRefOf,
} from '../messages/index.ts';
import { CAPTURE_BATCH_SERVER_MAX_BYTES, chunk } from '../posthog/index.ts';
import {
  type BulkDeleteCall,
  CAPTURE_BATCH_MAX_EVENTS,
  type DeleteFlags,
  type InboundCommand,
  type Plan,
  type PlannedCall,
  type PlannedCaptureEvent,
  type PlanOptions,
  type PropertyWrites,
  SERVER_LIMITS,
  type SkippedMessage,
} from './types.ts';

/** The planner's own cap per capture call: a quarter of the server limit leaves room for the envelope. */
const CAPTURE_BATCH_MAX_BYTES = 5 * 1024 * 1024;

/**
 * Namespace of the capture event uuids the planner derives. PostHog de-duplicates events by uuid, so deriving them
 * from the commands (not at random) makes a redelivered batch resend the same events instead of new ones.
 */
export const CAPTURE_EVENT_UUID_NAMESPACE = '6f1c1b5e-3d2a-4f57-9a51-2b9f0c6e8d41';

const flagsKey = (f: DeleteFlags) =>
  `${+f.deleteEvents}${+f.deleteRecordings}${+f.keepPerson}` as const;

/** Millisecond time of a validated ISO string (validated upstream, so never NaN). */
const timeOf = (command: Command) => Date.parse(command.time);

interface DeleteTarget {
  flags: DeleteFlags;
  owners: string[];
}

interface Write {
  person: PersonRef;
  personKey: string;
  key: string;
  /** `undefined` value with `unset` true means delete the key. */
  unset: boolean;
  value: JsonValue;
  time: number;
  isoTime: string;
  /** Position of the message in the batch: the tie-break when two writes have the same time (later wins). */
  order: number;
  /** The person's round (barriers of the person before the message): the write runs in that round's step. */
  round: number;
  messageId: string;
}

/** A split or merge: it ends the current round of each person it names. */
interface Barrier {
  messageId: string;
  command: Command;
  person: PersonRef;
}

/**
 * Turns the valid commands of one SQS batch into the fewest PostHog calls. Pure: no I/O, clock, randomness or env,
 * so the same input always gives the same plan.
 *
 * Rules (docs/messages.md, "Planner"):
 * - **Deletes**: every id a batch names is deleted once, with the flags combined over the messages that name it
 *   (`deleteEvents`/`deleteRecordings` OR-ed, `keepPerson` AND-ed: the union of what was asked). Ids are grouped by
 *   flags, uuids and distinct ids in separate calls, and chunked to 1000.
 * - **Changes keep per-person message order**: for each person (as named: `d:<distinctId>` or `u:<uuid>`), splits
 *   and merges are barriers (a merge for the survivor and for each merged id); property writes between barriers form
 *   a round. Each person's rounds and barriers become an ordered list of steps, and the lists are scheduled together
 *   after stage 0 by alternating API phases and capture phases (see the scheduling comment below): the plan uses as
 *   many capture stages, hence capture calls (overflow past 1000 events or the byte cap aside), as the longest
 *   chain of capture segments forces, which is the lower bound.
 * - **Last write wins** per (person, key) over the whole batch, by `time`, ties broken by message order (later
 *   message wins). The losing messages are served by the winning call.
 * - **Persons deleted in the batch** (not `keepPerson`) get no split, update or merge: those messages are skipped
 *   with a reason and depend on the delete's outcome.
 * - **Resolution**: distinct ids that need a person id (splits, and updates in `update_property` mode) are
 *   resolved once, 200 per `batch_by_distinct_ids` call, in stage 0.
 * - Commands repeated under the same `id` for the same person share their calls.
 *
 * @example
 * const plan = planBatch(valid.map((m) => ({ messageId: m.messageId, command: m.command })));
 * console.log(`${plan.callCount} calls (naive ${plan.naiveCallCount}, lower bound ${plan.lowerBound})`);
 */
export function planBatch(messages: InboundCommand[], options: PlanOptions = {}): Plan {
  const mode: PropertyWrites = options.propertyWrites ?? 'update_property';
  const calls: PlannedCall[] = [];
  const skipped: SkippedMessage[] = [];
  let lowerBound = 0;

  // 1. Deletes: one combined flag set per target id.
  const targets = new Map<string, DeleteTarget>();
  for (const { messageId, command } of messages) {
    if (command.type !== COMMAND_TYPES.delete) continue;
    const { deleteEvents, deleteRecordings, keepPerson } = command.data;
    const keys = [
      ...(command.data.personUuids ?? []).map((uuid) => `u:${uuid}`),
      ...(command.data.distinctIds ?? []).map((id) => `d:${id}`),
    ];
    for (const key of new Set(keys)) {
      const existing = targets.get(key);
      if (existing === undefined) {
        targets.set(key, {
          flags: { deleteEvents, deleteRecordings, keepPerson },
          owners: [messageId],
        });
        continue;
      }
      existing.flags = {
        deleteEvents: existing.flags.deleteEvents || deleteEvents,
        deleteRecordings: existing.flags.deleteRecordings || deleteRecordings,
        keepPerson: existing.flags.keepPerson && keepPerson,
      };
      // Ids are de-duplicated per message above, so a message is never added twice.
      existing.owners.push(messageId);
    }
  }
  const deleteGroups = new Map<
    string,
    { flags: DeleteFlags; uuids: string[]; distinctIds: string[] }
  >();
  for (const [key, target] of targets) {
    const groupKey = flagsKey(target.flags);
    let group = deleteGroups.get(groupKey);
    if (group === undefined) {
      group = { flags: target.flags, uuids: [], distinctIds: [] };
      deleteGroups.set(groupKey, group);
    }
    (key.startsWith('u:') ? group.uuids : group.distinctIds).push(key.slice(2));
  }
  for (const group of deleteGroups.values()) {
    for (const [kind, items] of [
      ['ids', group.uuids],
      ['distinctIds', group.distinctIds],
    ] as const) {
      const chunks = chunk(items, SERVER_LIMITS.bulkDeleteMaxIds);
      lowerBound += chunks.length;
      for (const ids of chunks) {
        const owners: Record<string, string[]> = Object.create(null);
        const serves = new Set<string>();
        for (const id of ids) {
          const target = targets.get(`${kind === 'ids' ? 'u' : 'd'}:${id}`);
          const ownerIds = target?.owners ?? [];
          owners[id] = ownerIds;
          for (const owner of ownerIds) serves.add(owner);
        }
        const call: BulkDeleteCall = {
          endpoint: 'bulk_delete',
          stage: 0,
          serves: [...serves],
          target: kind === 'ids' ? { ids } : { distinctIds: ids },
          flags: group.flags,
          owners,
        };
        calls.push(call);
      }
    }
  }
  /** Persons that will be gone after stage 0 (keepPerson deletes leave the person in place). */
  const goneBy = (key: string): string[] | undefined => {
    const target = targets.get(key);
    return target !== undefined && !target.flags.keepPerson ? target.owners : undefined;
  };

  // 2. Changes, in message order per person.
  const writes = new Map<string, Write>(); // `${personKey}\0${key}` → winning write
  const losers = new Map<string, string[]>(); // same key → all messages that wrote it
  const barriersOf = new Map<string, Barrier[]>(); // personKey → the barrier ending each of its rounds
  const roundOf = new Map<string, number>(); // personKey → current round
  const aliases = new Map<string, string>(); // duplicate messageId → first messageId with the same command id
  const seenCommands = new Map<string, string>(); // `${type}\0${personKey}\0${command id}` → messageId
  const resolveOwners = new Map<string, Set<string>>(); // distinctId → messages that need its person id
  const commandIdOf = new Map(messages.map((m) => [m.messageId, m.command.id]));

  messages.forEach(({ messageId, command }, order) => {
    if (command.type === COMMAND_TYPES.delete) return;
    const person = personRefOf(command);
    if (person === undefined) return;
    const personKey = personKeyOf(person);

    const deletedBy = new Set<string>();
    const involved =
      command.type === COMMAND_TYPES.merge
        ? [personKey, ...command.data.mergedDistinctIds.map((id) => `d:${id}`)]
        : [personKey];
    for (const key of involved) for (const owner of goneBy(key) ?? []) deletedBy.add(owner);
    if (deletedBy.size > 0) {
      skipped.push({
        messageId,
        code: 'person_deleted_in_batch',
        reason: `${command.type} of ${describePerson(person)} is skipped: the person is deleted in the same batch by ${[...deletedBy].join(', ')}`,
        dependsOn: [...deletedBy],
      });
      return;
    }

    const identity = `${command.type}\0${personKey}\0${command.id}`;
    const first = seenCommands.get(identity);
    if (first !== undefined) {
      aliases.set(messageId, first);
      return;
    }
    seenCommands.set(identity, messageId);

    const round = roundOf.get(personKey) ?? 0;
    const needsResolution =
      'distinctId' in person &&
      (command.type === COMMAND_TYPES.split ||
        (command.type === COMMAND_TYPES.update && mode === 'update_property'));
    if (needsResolution) {
      let owners = resolveOwners.get(person.distinctId);
      if (owners === undefined) {
        owners = new Set();
        resolveOwners.set(person.distinctId, owners);
      }
      owners.add(messageId);
    }

    if (command.type === COMMAND_TYPES.update) {
      const time = timeOf(command);
      const entries: [string, boolean, JsonValue][] = [
        ...Object.entries(command.data.set ?? {}).map(
          ([key, value]) => [key, false, value] as [string, boolean, JsonValue],
        ),
        ...(command.data.unset ?? []).map(
          (key) => [key, true, null] as [string, boolean, JsonValue],
        ),
      ];
      for (const [key, unset, value] of entries) {
        const writeKey = `${personKey}\0${key}`;
        const all = losers.get(writeKey);
        if (all === undefined) losers.set(writeKey, [messageId]);
        // A message names a key once (set keys are unique, unset has no repeats nor set keys).
        else all.push(messageId);
        const current = writes.get(writeKey);
        // Later time wins; equal times: the later message in the batch wins (its position is `order`).
        if (
          current === undefined ||
          time > current.time ||
          (time === current.time && order > current.order)
        ) {
          writes.set(writeKey, {
            person,
            personKey,
            key,
            unset,
            value,
            time,
            isoTime: command.time,
            order,
            round,
            messageId,
          });
        }
      }
      return;
    }
    // A merge orders the operations of every person it names: it ends a round of the survivor and of each alias.
    const barrier: Barrier = { messageId, command, person };
    const keys =
      command.type === COMMAND_TYPES.merge
        ? mergeKeys(command.data.survivorDistinctId, command.data.mergedDistinctIds)
        : [personKey];
    for (const key of keys) {
      const ends = barriersOf.get(key);
      if (ends === undefined) barriersOf.set(key, [barrier]);
      else ends.push(barrier);
      roundOf.set(key, (roundOf.get(key) ?? 0) + 1);
    }
  });

  // Stage 0: resolutions.
  const toResolve = [...resolveOwners.keys()];
  for (const distinctIds of chunk(toResolve, SERVER_LIMITS.batchByDistinctIdsMax)) {
    const serves = new Set<string>();
    for (const id of distinctIds)
      for (const owner of resolveOwners.get(id) ?? []) serves.add(owner);
    calls.push({ endpoint: 'batch_by_distinct_ids', stage: 0, serves: [...serves], distinctIds });
    lowerBound += 1;
  }

  // Each person's operations after stage 0, in message order: per round, its writes, then the barrier that ends
  // the round. A merge ends a round of every person it names, so it sits in each of their lists (one shared step).
  const steps = new Map<string, Step[]>();
  const stepsOf = (personKey: string): Step[] => {
    let list = steps.get(personKey);
    if (list === undefined) {
      list = [];
      steps.set(personKey, list);
    }
    return list;
  };
  const writesOf = new Map<string, [string, Write][][]>(); // personKey → writes by round
  for (const entry of writes) {
    const { personKey, round } = entry[1];
    let rounds = writesOf.get(personKey);
    if (rounds === undefined) {
      rounds = [];
      writesOf.set(personKey, rounds);
    }
    let list = rounds[round];
    if (list === undefined) {
      list = [];
      rounds[round] = list;
    }
    list.push(entry);
  }
  const mergeSteps = new Map<Barrier, Step>();
  let personalWrites = 0;
  let captureBytes = 0;
  // Persons in order of first appearance (writes, then barriers), so the plan is deterministic.
  const persons = [...new Set([...writesOf.keys(), ...barriersOf.keys()])];
  for (const personKey of persons) {
    const rounds = writesOf.get(personKey) ?? [];
    const ends = barriersOf.get(personKey) ?? [];
    const list = stepsOf(personKey);
    for (let round = 0; round < Math.max(rounds.length, ends.length + 1); round += 1) {
      const roundWrites = rounds[round] ?? [];
      if (roundWrites.length > 0) {
        const first = roundWrites[0]?.[1];
        if (mode === 'capture' && first !== undefined && 'distinctId' in first.person) {
          const event: PlannedCaptureEvent & { event: '$set' } = {
            event: '$set',
            distinctId: first.person.distinctId,
            // No prototype: a property key may be any string, `__proto__` included.
            set: Object.create(null) as Record<string, JsonValue>,
            unset: [],
            timestamp: first.isoTime,
            uuid: '',
          };
          const serves = new Set<string>();
          for (const [writeKey, write] of roundWrites) {
            if (write.unset) event.unset.push(write.key);
            else event.set[write.key] = write.value;
            if (write.time > Date.parse(event.timestamp)) event.timestamp = write.isoTime;
            for (const id of losers.get(writeKey) ?? [write.messageId]) serves.add(id);
          }
          const ids = [...serves].map((id) => commandIdOf.get(id) ?? id).sort();
          event.uuid = uuidv5(
            `set\0${event.distinctId}\0${round}\0${ids.join('\0')}`,
            CAPTURE_EVENT_UUID_NAMESPACE,
          );
          list.push({ kind: 'capture', events: [{ event, serves: [...serves] }] });
        } else {
          const api: PlannedCall[] = [];
          for (const [writeKey, write] of roundWrites) {
            const serves = losers.get(writeKey) ?? [write.messageId];
            personalWrites += 1;
            api.push(
              write.unset
                ? {
                    endpoint: 'delete_property',
                    stage: 0,
                    serves: [...serves],
                    person: write.person,
                    key: write.key,
                  }
                : {
                    endpoint: 'update_property',
                    stage: 0,
                    serves: [...serves],
                    person: write.person,
                    key: write.key,
                    value: write.value,
                  },
            );
          }
          list.push({ kind: 'api', calls: api });
        }
      }
      const barrier = ends[round];
      if (barrier === undefined) continue;
      const { command, messageId, person } = barrier;
      if (command.type === COMMAND_TYPES.split) {
        lowerBound += 1;
        list.push({
          kind: 'api',
          calls: [
            {
              endpoint: 'split',
              stage: 0,
              serves: [messageId],
              person,
              body:
                command.data.distinctIdsToSplit !== undefined
                  ? { distinctIdsToSplit: command.data.distinctIdsToSplit }
                  : { mainDistinctId: command.data.mainDistinctId ?? '' },
            },
          ],
        });
      } else if (command.type === COMMAND_TYPES.merge) {
        let step = mergeSteps.get(barrier);
        if (step === undefined) {
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
                uuid: uuidv5(
                  `merge\0${survivor}\0${alias}\0${command.id}`,
                  CAPTURE_EVENT_UUID_NAMESPACE,
                ),
              },
            })),
          };
          mergeSteps.set(barrier, step);
        }
        list.push(step);
      }
    }
  }
  lowerBound += personalWrites;

  // Scheduling. Only WHEN calls run is decided here (which calls exist is settled above). Alternate an API phase
  // (every person whose next step is an API step takes it, one stage per step, until no person's next step is one)
  // with a capture phase (one stage: every person whose next step is a capture step takes it and every capture step
  // right behind it). A merge (one step in the list of each person it names) runs only once it heads all of those
  // lists; a person waiting for it takes no later step meanwhile. The lists follow message order, so no two steps
  // wait for each other.
  // Why this is optimal: call a capture step's depth the most capture segments on any chain of steps ending at it
  // (captures in a row are one segment; an API step between two captures starts a new one). Any plan that keeps the
  // lists' order needs a stage boundary wherever an API step separates captures, so it runs a depth-k step in its
  // k-th capture stage or later. This greedy runs every depth-k step in its k-th capture phase (by induction on k:
  // the API phase before it ran every API step whose earlier steps were done, and the capture phase takes chains of
  // capture steps as far as they go). So the capture stages number the deepest depth, the least any plan can have;
  // the lower bound counts them, and the capture calls exceed them only by overflow past 1000 events or the byte cap.
  const captureCalls: PlannedCall[] = [];
  const lists = [...steps.values()].filter((list) => list.length > 0);
  const heads = new Map<Step[], number>(lists.map((list) => [list, 0]));
  const listsOfStep = new Map<Step, Step[][]>();
  for (const list of lists) {
    for (const step of list) {
      const owners = listsOfStep.get(step);
      if (owners === undefined) listsOfStep.set(step, [list]);
      else owners.push(list);
    }
  }
  const headOf = (list: Step[]) => list[heads.get(list) ?? list.length];
  let remaining = lists;
  let stage = 1;
  let captureStages = 0;
  while (remaining.length > 0) {
    let progressed = false;
    for (;;) {
      const ready = remaining.filter((list) => headOf(list)?.kind === 'api');
      if (ready.length === 0) break;
      for (const list of ready) {
        const step = headOf(list);
        if (step?.kind === 'api') for (const call of step.calls) calls.push({ ...call, stage });
        heads.set(list, (heads.get(list) ?? 0) + 1);
      }
      stage += 1;
      progressed = true;
    }
    const events: CaptureEntry[] = [];
    const work = remaining.filter((list) => headOf(list)?.kind === 'capture');
    for (let next = 0; next < work.length; next += 1) {
      const list = work[next] ?? [];
      for (let step = headOf(list); step?.kind === 'capture'; step = headOf(list)) {
        const owners = listsOfStep.get(step) ?? [list];
        // A shared step (a merge) waits until it heads every list it is in; the last one to reach it runs it.
        if (owners.some((owner) => headOf(owner) !== step)) break;
        for (const event of step.events) events.push(event);
        for (const owner of owners) {
          heads.set(owner, (heads.get(owner) ?? 0) + 1);
          if (owner !== list) work.push(owner);
        }
      }
    }
    if (events.length > 0) {
      captureStages += 1;
      captureBytes += packCaptureCalls(events, stage, captureCalls);
      stage += 1;
      progressed = true;
    }
    if (!progressed) throw new Error('planner: per-person step lists wait on each other (a bug)');
    remaining = remaining.filter((list) => headOf(list) !== undefined);
  }
  calls.push(...captureCalls);
  if (captureStages > 0) {
    lowerBound += Math.max(Math.ceil(captureBytes / CAPTURE_BATCH_SERVER_MAX_BYTES), captureStages);
  }

  // Duplicates (same command id, same person) share the calls of the first message.
  if (aliases.size > 0) {
    const byCanonical = new Map<string, string[]>();
    for (const [alias, canonical] of aliases) {
      const list = byCanonical.get(canonical) ?? [];
      list.push(alias);
      byCanonical.set(canonical, list);
    }
    for (const call of calls) {
      const extra = call.serves.flatMap((id) => byCanonical.get(id) ?? []);
      if (extra.length > 0) call.serves = [...call.serves, ...extra];
    }
  }

  calls.sort((a, b) => a.stage - b.stage);
  return {
    calls,
    skipped,
    lowerBound,
    callCount: calls.length,
    naiveCallCount: messages.reduce((sum, m) => sum + singleMessageCallCount(m.command, mode), 0),
  };
}

/** A capture event with the messages it serves. */
interface CaptureEntry {
  event: PlannedCaptureEvent;
  serves: string[];
}

/**
 * One step of a person's operations, in the order they must take effect. An API step's calls may run concurrently
 * (one round's property writes, or a split alone); a capture step's events run in order. A merge's step is one
 * object shared by the lists of all persons it names.
 */
type Step = { kind: 'api'; calls: PlannedCall[] } | { kind: 'capture'; events: CaptureEntry[] };

/** The person keys a merge names: the survivor and each merged-away id, once each. */
function mergeKeys(survivor: string, merged: readonly string[]): string[] {
  return [...new Set([survivor, ...merged].map((id) => `d:${id}`))];
}

/**
 * Packs the events of one capture stage, in order, into `capture_batch` calls of at most
 * {@link CAPTURE_BATCH_MAX_EVENTS} events and {@link CAPTURE_BATCH_MAX_BYTES}. The executor runs the capture calls of
 * a stage one after another in plan order, so overflow calls keep the events' order. Returns the events' bytes.
 */
function packCaptureCalls(
  events: readonly CaptureEntry[],
  stage: number,
  out: PlannedCall[],
): number {
  let total = 0;
  let current: CaptureEntry[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length === 0) return;
    const serves = new Set<string>();
    for (const entry of current) for (const id of entry.serves) serves.add(id);
    out.push({
      endpoint: 'capture_batch',
      stage,
      serves: [...serves],
      events: current.map((entry) => entry.event),
    });
    current = [];
    bytes = 0;
  };
  for (const entry of events) {
    const size = JSON.stringify(entry.event).length;
    total += size;
    if (current.length >= CAPTURE_BATCH_MAX_EVENTS || bytes + size > CAPTURE_BATCH_MAX_BYTES)
      flush();
    current.push(entry);
    bytes += size;
  }
  flush();
  return total;
}

function describePerson(person: PersonRef): string {
  return 'uuid' in person
    ? `person ${person.uuid}`
    : `the person of distinct id ${JSON.stringify(person.distinctId)}`;
}

/**
 * The calls one command needs when planned alone: the naive, message-at-a-time cost (`planBatch([m]).callCount`,
 * computed directly). A test checks the two agree.
 */
export function singleMessageCallCount(
  command: Command,
  mode: PropertyWrites = 'update_property',
): number {
  switch (command.type) {
    case COMMAND_TYPES.delete: {
      const uuids = new Set(command.data.personUuids ?? []).size;
      const distinctIds = new Set(command.data.distinctIds ?? []).size;
      return (
        Math.ceil(uuids / SERVER_LIMITS.bulkDeleteMaxIds) +
        Math.ceil(distinctIds / SERVER_LIMITS.bulkDeleteMaxIds)
      );
    }
    case COMMAND_TYPES.split:
      return command.data.distinctId !== undefined ? 2 : 1;
    case COMMAND_TYPES.update: {
      const keys = Object.keys(command.data.set ?? {}).length + (command.data.unset?.length ?? 0);
      if (command.data.distinctId === undefined) return keys;
      return mode === 'capture' ? 1 : keys + 1;
    }
    case COMMAND_TYPES.merge:
      return 1;
  }
}
