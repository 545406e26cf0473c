import { v5 as uuidv5 } from 'uuid';
import {
  COMMAND_TYPES,
  type Command,
  type JsonValue,
  type PersonRef,
  personKeyOf,
  personRefOf,
} from '../messages/index.ts';
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

/** Capture `/batch/` body limit (posthog-persons-api.md §11), used for the lower bound. */
const CAPTURE_BATCH_MAX_BYTES_SERVER = 20 * 1024 * 1024;
/** The planner's own cap per capture call: a quarter of the server limit leaves room for the envelope. */
const CAPTURE_BATCH_MAX_BYTES = 5 * 1024 * 1024;

/**
 * Namespace of the capture event uuids the planner derives. PostHog de-duplicates events by uuid, so deriving them
 * from the commands (not at random) makes a redelivered batch resend the same events instead of new ones.
 */
export const CAPTURE_EVENT_UUID_NAMESPACE = '6f1c1b5e-3d2a-4f57-9a51-2b9f0c6e8d41';

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

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
  round: number;
  messageId: string;
}

interface Barrier {
  round: number;
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
 *   and merges are barriers; property writes between barriers form a round. Stages run round by round.
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
  const barriers: Barrier[] = [];
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
    barriers.push({ round, messageId, command, person });
    roundOf.set(personKey, round + 1);
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

  // Property writes per round. Bucketing by round keeps this linear however many rounds a person has.
  const writesByRound = new Map<number, [string, Write][]>();
  for (const entry of writes) {
    const list = writesByRound.get(entry[1].round);
    if (list === undefined) writesByRound.set(entry[1].round, [entry]);
    else list.push(entry);
  }
  const barriersByRound = new Map<number, Barrier[]>();
  for (const barrier of barriers) {
    const list = barriersByRound.get(barrier.round);
    if (list === undefined) barriersByRound.set(barrier.round, [barrier]);
    else list.push(barrier);
  }
  const rounds = [...new Set([...writesByRound.keys(), ...barriersByRound.keys()])].sort(
    (a, b) => a - b,
  );
  const captureEvents: { stage: number; event: PlannedCaptureEvent; serves: string[] }[] = [];
  let captureBytes = 0;
  let personalWrites = 0;
  for (const round of rounds) {
    const stage = 1 + 2 * round;
    const setEvents = new Map<
      string,
      { event: PlannedCaptureEvent & { event: '$set' }; serves: Set<string> }
    >();
    for (const [writeKey, write] of writesByRound.get(round) ?? []) {
      const serves = losers.get(writeKey) ?? [write.messageId];
      if (mode === 'capture' && 'distinctId' in write.person) {
        let entry = setEvents.get(write.personKey);
        if (entry === undefined) {
          entry = {
            event: {
              event: '$set',
              distinctId: write.person.distinctId,
              // No prototype: a property key may be any string, `__proto__` included.
              set: Object.create(null) as Record<string, JsonValue>,
              unset: [],
              timestamp: write.isoTime,
              uuid: '', // derived once the event's messages are known (below)
            },
            serves: new Set(),
          };
          setEvents.set(write.personKey, entry);
        }
        if (write.unset) entry.event.unset.push(write.key);
        else entry.event.set[write.key] = write.value;
        if (Date.parse(write.isoTime) > Date.parse(entry.event.timestamp)) {
          entry.event.timestamp = write.isoTime;
        }
        for (const id of serves) entry.serves.add(id);
        continue;
      }
      personalWrites += 1;
      calls.push(
        write.unset
          ? {
              endpoint: 'delete_property',
              stage,
              serves: [...serves],
              person: write.person,
              key: write.key,
            }
          : {
              endpoint: 'update_property',
              stage,
              serves: [...serves],
              person: write.person,
              key: write.key,
              value: write.value,
            },
      );
    }
    for (const { event, serves } of setEvents.values()) {
      const ids = [...serves].map((id) => commandIdOf.get(id) ?? id).sort();
      event.uuid = uuidv5(
        `set\0${event.distinctId}\0${round}\0${ids.join('\0')}`,
        CAPTURE_EVENT_UUID_NAMESPACE,
      );
      captureEvents.push({ stage, event, serves: [...serves] });
    }
    // Barriers of this round: splits one call each, merges folded into capture batches.
    for (const barrier of barriersByRound.get(round) ?? []) {
      const { command, messageId, person } = barrier;
      if (command.type === COMMAND_TYPES.split) {
        calls.push({
          endpoint: 'split',
          stage: stage + 1,
          serves: [messageId],
          person,
          body:
            command.data.distinctIdsToSplit !== undefined
              ? { distinctIdsToSplit: command.data.distinctIdsToSplit }
              : { mainDistinctId: command.data.mainDistinctId ?? '' },
        });
        lowerBound += 1;
      } else if (command.type === COMMAND_TYPES.merge) {
        for (const alias of command.data.mergedDistinctIds) {
          captureEvents.push({
            stage: stage + 1,
            serves: [messageId],
            event: {
              event: '$merge_dangerously',
              distinctId: command.data.survivorDistinctId,
              alias,
              timestamp: command.time,
              uuid: uuidv5(
                `merge\0${command.data.survivorDistinctId}\0${alias}\0${command.id}`,
                CAPTURE_EVENT_UUID_NAMESPACE,
              ),
            },
          });
        }
      }
    }
  }
  lowerBound += personalWrites;

  // Capture batches. Capture calls are not rate limited, but each is a call: events of different rounds share a
  // batch whenever no Persons API call of the same person (survivor or merged id) lies between them. Ingestion keeps
  // the order of a person's events within one /batch/ (produced in order per distinct id), so per-person order holds;
  // an event only moves later, across stages where none of its persons has an API call.
  // personKey → stages of its split/update/delete_property calls, ascending (calls are pushed stage by stage).
  const apiStages = new Map<string, number[]>();
  for (const call of calls) {
    if (
      call.endpoint !== 'split' &&
      call.endpoint !== 'update_property' &&
      call.endpoint !== 'delete_property'
    ) {
      continue;
    }
    const key = personKeyOf(call.person);
    const list = apiStages.get(key);
    if (list === undefined) apiStages.set(key, [call.stage]);
    else list.push(call.stage);
  }
  // Each event may run at any stage in [lo, hi]: not earlier than its own stage (lo), because persons are known
  // only as named and an event moved ahead of another person's API call could meet a state that call was meant to
  // change first (a merge before a split); and before the next API call of its persons (hi). Events are in stage
  // order, so each person's events get non-decreasing stages below and keep their order.
  const windows = captureEvents.map((entry) => {
    const keys =
      entry.event.event === '$merge_dangerously'
        ? [`d:${entry.event.distinctId}`, `d:${entry.event.alias}`]
        : [`d:${entry.event.distinctId}`];
    let hi = Number.POSITIVE_INFINITY;
    for (const key of keys) {
      const list = apiStages.get(key) ?? [];
      const after = list[firstAbove(list, entry.stage)];
      if (after !== undefined) hi = Math.min(hi, after - 1);
    }
    return { entry, lo: entry.stage, hi };
  });
  // The fewest stages that meet every window (greedy by window end), then each event at the first one it can use.
  const points: number[] = [];
  for (const window of [...windows].sort((a, b) => a.hi - b.hi)) {
    const last = points[points.length - 1];
    if (last === undefined || window.lo > last) points.push(window.hi);
  }
  const batches = new Map<number, typeof windows>();
  for (const window of windows) {
    const point = points[firstAbove(points, window.lo - 1)] ?? window.lo;
    const list = batches.get(point);
    if (list === undefined) batches.set(point, [window]);
    else list.push(window);
  }
  const captureCalls: PlannedCall[] = [];
  for (const [point, members] of batches) {
    // The open-ended batch (no API call of its persons follows) runs at the latest stage one of its events needs.
    // (A loop, not a spread into Math.max: a batch can hold far more events than a call can take arguments.)
    let stage = point;
    if (!Number.isFinite(point)) {
      stage = 0;
      for (const member of members) stage = Math.max(stage, member.lo);
    }
    let current: typeof captureEvents = [];
    let bytes = 0;
    const flush = () => {
      if (current.length === 0) return;
      const serves = new Set<string>();
      for (const entry of current) for (const id of entry.serves) serves.add(id);
      captureCalls.push({
        endpoint: 'capture_batch',
        stage,
        serves: [...serves],
        events: current.map((entry) => entry.event),
      });
      current = [];
      bytes = 0;
    };
    // Members are in event order already (windows are visited in order); overflow calls of one stage run in order.
    for (const { entry } of members) {
      const size = JSON.stringify(entry.event).length;
      captureBytes += size;
      if (current.length >= CAPTURE_BATCH_MAX_EVENTS || bytes + size > CAPTURE_BATCH_MAX_BYTES) {
        flush();
      }
      current.push(entry);
      bytes += size;
    }
    flush();
  }
  calls.push(...captureCalls);
  if (captureEvents.length > 0) {
    lowerBound += Math.max(
      Math.ceil(captureBytes / CAPTURE_BATCH_MAX_BYTES_SERVER),
      captureSegments(captureEvents, apiStages),
    );
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

/**
 * The fewest capture calls any plan that keeps per-person order needs: for the person whose events need the most,
 * 1 + the number of gaps between its consecutive capture events that one of its Persons API calls (a split, or an
 * update by the same name) must run in. Such events cannot share a call.
 */
function captureSegments(
  events: readonly { stage: number; event: PlannedCaptureEvent }[],
  apiStages: ReadonlyMap<string, readonly number[]>,
): number {
  const stagesOf = new Map<string, number[]>();
  for (const { stage, event } of events) {
    // The event's own person (the survivor of a merge): its order is what the rounds encode.
    const key = `d:${event.distinctId}`;
    const list = stagesOf.get(key);
    if (list === undefined) stagesOf.set(key, [stage]);
    else list.push(stage);
  }
  let most = 1;
  for (const [key, stages] of stagesOf) {
    const api = apiStages.get(key) ?? [];
    let segments = 1;
    for (let i = 1; i < stages.length; i += 1) {
      const [before, after] = [stages[i - 1] ?? 0, stages[i] ?? 0];
      if ((api[firstAbove(api, before)] ?? after) < after) segments += 1;
    }
    most = Math.max(most, segments);
  }
  return most;
}

/** Index of the first item of an ascending list greater than `value` (`list.length` when none is). */
function firstAbove(list: readonly number[], value: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((list[mid] ?? 0) > value) high = mid;
    else low = mid + 1;
  }
  return low;
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
