import { v5 as uuidv5 } from 'uuid';
import { expect } from 'vitest';
import { type JsonValue, personKeyOf, personRefOf } from '../../../../lib/messages/index.ts';
import {
  CAPTURE_BATCH_MAX_EVENTS,
  CAPTURE_EVENT_UUID_NAMESPACE,
  type InboundCommand,
  type Plan,
  type PlanOptions,
  SERVER_LIMITS,
} from '../../../../lib/planner/index.ts';

/**
 * Checks a plan against the rules, recomputing everything from the messages rather than from the plan.
 * Throws (through `expect`) on the first violation.
 */
export function checkInvariants(
  messages: InboundCommand[],
  plan: Plan,
  options: PlanOptions = {},
): void {
  const mode = options.propertyWrites ?? 'update_property';
  const served = new Set(plan.calls.flatMap((c) => c.serves));
  const skipped = new Map(plan.skipped.map((s) => [s.messageId, s]));

  // 1. Every message is served by a call or skipped with a reason, never both.
  for (const { messageId } of messages) {
    const skip = skipped.get(messageId);
    expect(
      served.has(messageId) || skip !== undefined,
      `${messageId} neither served nor skipped`,
    ).toBe(true);
    expect(
      served.has(messageId) && skip !== undefined,
      `${messageId} both served and skipped`,
    ).toBe(false);
    if (skip !== undefined) expect(skip.reason.length).toBeGreaterThan(10);
  }
  expect(plan.callCount).toBe(plan.calls.length);

  // 2. No call exceeds a server limit.
  for (const call of plan.calls) {
    expect(call.serves.length).toBeGreaterThan(0);
    if (call.endpoint === 'bulk_delete') {
      const ids = 'ids' in call.target ? call.target.ids : call.target.distinctIds;
      expect(Object.keys(call.target)).toHaveLength(1);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThanOrEqual(SERVER_LIMITS.bulkDeleteMaxIds);
    }
    if (call.endpoint === 'batch_by_distinct_ids') {
      expect(call.distinctIds.length).toBeGreaterThan(0);
      expect(call.distinctIds.length).toBeLessThanOrEqual(SERVER_LIMITS.batchByDistinctIdsMax);
    }
    if (call.endpoint === 'capture_batch') {
      expect(call.events.length).toBeGreaterThan(0);
      expect(call.events.length).toBeLessThanOrEqual(CAPTURE_BATCH_MAX_EVENTS);
    }
  }

  // 3. Each deleted id appears in exactly one call, with the union of the flags asked for it.
  const expected = new Map<string, { events: boolean; recordings: boolean; keep: boolean }>();
  for (const { command } of messages) {
    if (command.type !== 'persons.delete') continue;
    const d = command.data;
    const keys = [
      ...(d.distinctIds ?? []).map((id) => `d:${id}`),
      ...(d.personUuids ?? []).map((id) => `u:${id}`),
    ];
    for (const key of keys) {
      const prev = expected.get(key);
      expected.set(key, {
        events: (prev?.events ?? false) || d.deleteEvents,
        recordings: (prev?.recordings ?? false) || d.deleteRecordings,
        keep: (prev?.keep ?? true) && d.keepPerson,
      });
    }
  }
  const deleted = new Map<string, { events: boolean; recordings: boolean; keep: boolean }>();
  const flagSets = new Map<string, { uuids: number; distinctIds: number }>();
  for (const call of plan.calls) {
    if (call.endpoint !== 'bulk_delete') continue;
    const keys =
      'ids' in call.target
        ? call.target.ids.map((id) => `u:${id}`)
        : call.target.distinctIds.map((id) => `d:${id}`);
    for (const key of keys) {
      expect(deleted.has(key), `${key} deleted twice`).toBe(false);
      deleted.set(key, {
        events: call.flags.deleteEvents,
        recordings: call.flags.deleteRecordings,
        keep: call.flags.keepPerson,
      });
    }
    const flagKey = JSON.stringify(call.flags);
    const set = flagSets.get(flagKey) ?? { uuids: 0, distinctIds: 0 };
    if ('ids' in call.target) set.uuids += call.target.ids.length;
    else set.distinctIds += call.target.distinctIds.length;
    flagSets.set(flagKey, set);
  }
  expect(deleted).toEqual(expected);

  // 4. Delete calls: at most the combined-list bound + 1 per flag set (ids and distinct ids never share a call).
  const deleteCalls = plan.calls.filter((c) => c.endpoint === 'bulk_delete').length;
  let deleteBound = 0;
  for (const { uuids, distinctIds } of flagSets.values()) {
    deleteBound += Math.ceil((uuids + distinctIds) / SERVER_LIMITS.bulkDeleteMaxIds);
  }
  expect(deleteCalls).toBeLessThanOrEqual(deleteBound + flagSets.size);
  // ... and in fact optimal: no plan can do a flag set's uuids or distinct ids in fewer calls.
  let exactDeletes = 0;
  for (const { uuids, distinctIds } of flagSets.values()) {
    exactDeletes += Math.ceil(uuids / 1000) + Math.ceil(distinctIds / 1000);
  }
  expect(deleteCalls).toBe(exactDeletes);
  // Whole plan: the lower bound is recomputed from the messages alone (never from the plan).
  const bound = independentLowerBound(messages, mode);
  expect(plan.lowerBound).toBe(bound.total);
  const distinctFlagSets = new Set([...expected.values()].map((f) => JSON.stringify(f))).size;
  const captureCalls = plan.calls.filter((c) => c.endpoint === 'capture_batch');
  // Every call but capture is exactly the bound's share.
  expect(plan.callCount - captureCalls.length).toBe(bound.total - bound.capture);
  // Capture calls: exactly the bound's share (one per capture stage, the longest chain of capture segments), plus
  // only the calls a stage overflows into past 1000 events or the byte cap: the one explicit allowance.
  const captureStages = new Map<number, { calls: number; events: number; bytes: number }>();
  for (const call of captureCalls) {
    if (call.endpoint !== 'capture_batch') continue;
    const stage = captureStages.get(call.stage) ?? { calls: 0, events: 0, bytes: 0 };
    stage.calls += 1;
    stage.events += call.events.length;
    for (const event of call.events) stage.bytes += JSON.stringify(event).length;
    captureStages.set(call.stage, stage);
  }
  expect(captureStages.size).toBe(bound.capture);
  let overflow = 0;
  for (const { calls, events, bytes } of captureStages.values()) {
    overflow += calls - 1;
    const byCount = Math.ceil(events / CAPTURE_BATCH_MAX_EVENTS);
    // Under the planner's 5 MB cap per call only the event count splits a stage; past it, each call closed for
    // bytes holds, with the next, more than the cap.
    if (bytes <= CAPTURE_CALL_MAX_BYTES) expect(calls).toBe(byCount);
    else expect(calls).toBeLessThanOrEqual(byCount + 2 * Math.ceil(bytes / CAPTURE_CALL_MAX_BYTES));
  }
  // Issue 4's acceptance for the whole plan: at most the lower bound + 1 per distinct flag set, beyond overflow.
  expect(plan.callCount).toBeLessThanOrEqual(bound.total + distinctFlagSets + overflow);
  if (overflow === 0) expect(plan.callCount).toBeLessThanOrEqual(bound.total + distinctFlagSets);

  // 5. Last write wins per (person, key), by time, then message order.
  const gone = new Set([...expected].filter(([, f]) => !f.keep).map(([key]) => key));
  const winners = new Map<
    string,
    { unset: boolean; value: JsonValue; time: number; order: number }
  >();
  messages.forEach(({ command }, order) => {
    if (command.type !== 'person.properties.update') return;
    const ref = personRefOf(command);
    if (ref === undefined) return;
    const personKey = personKeyOf(ref);
    if (gone.has(personKey)) return;
    const time = Date.parse(command.time);
    const writes: [string, boolean, JsonValue][] = [
      ...Object.entries(command.data.set ?? {}).map(([k, v]): [string, boolean, JsonValue] => [
        k,
        false,
        v,
      ]),
      ...(command.data.unset ?? []).map((k): [string, boolean, JsonValue] => [k, true, null]),
    ];
    for (const [key, unset, value] of writes) {
      const id = `${personKey}\0${key}`;
      const current = winners.get(id);
      if (
        current === undefined ||
        time > current.time ||
        (time === current.time && order > current.order)
      ) {
        winners.set(id, { unset, value, time, order });
      }
    }
  });
  const written = new Map<string, { unset: boolean; value: JsonValue }>();
  const writeAt = new Map<string, Position>();
  const put = (id: string, write: { unset: boolean; value: JsonValue }, at: Position) => {
    expect(written.has(id), `${id} written twice`).toBe(false);
    written.set(id, write);
    writeAt.set(id, at);
  };
  plan.calls.forEach((call, index) => {
    const api: Position = { stage: call.stage, call: index, event: 0, capture: false };
    if (call.endpoint === 'update_property')
      put(`${personKeyOf(call.person)}\0${call.key}`, { unset: false, value: call.value }, api);
    if (call.endpoint === 'update_properties') {
      expect(Object.keys(call.properties).length).toBeGreaterThan(1);
      for (const [key, value] of Object.entries(call.properties))
        put(`${personKeyOf(call.person)}\0${key}`, { unset: false, value }, api);
    }
    if (call.endpoint === 'delete_property')
      put(`${personKeyOf(call.person)}\0${call.key}`, { unset: true, value: null }, api);
    if (call.endpoint === 'capture_batch') {
      call.events.forEach((event, eventIndex) => {
        if (event.event !== '$set') return;
        // update_property mode sends only several unsets of an existing person as an event.
        if (event.existingPerson === undefined) expect(mode).toBe('capture');
        else expect(Object.keys(event.set).length === 0 && event.unset.length > 1).toBe(true);
        const personKey =
          event.existingPerson === undefined
            ? `d:${event.distinctId}`
            : personKeyOf(event.existingPerson.person);
        const at: Position = { stage: call.stage, call: index, event: eventIndex, capture: true };
        for (const [key, value] of Object.entries(event.set))
          put(`${personKey}\0${key}`, { unset: false, value }, at);
        for (const key of event.unset)
          put(`${personKey}\0${key}`, { unset: true, value: null }, at);
      });
    }
  });
  expect(written).toEqual(
    new Map(
      [...winners].map(([id, w]) => [id, { unset: w.unset, value: w.unset ? null : w.value }]),
    ),
  );

  // 6. Per person (a merge counts for the survivor and each merged id), splits and merges keep their message order,
  // and each winning write stays on its side of them.
  // Order means: an earlier stage, or (capture calls of one stage run one after another in plan order) an earlier
  // capture call of the same stage, or an earlier event of the same capture call.
  const barrierAt = new Map<string, Position>();
  const mergeEventAt = new Map<string, Position>(); // event uuid → position
  plan.calls.forEach((call, index) => {
    if (call.endpoint === 'split') {
      for (const id of call.serves) {
        barrierAt.set(id, { stage: call.stage, call: index, event: 0, capture: false });
      }
    }
    if (call.endpoint === 'capture_batch') {
      call.events.forEach((event, eventIndex) => {
        if (event.event === '$merge_dangerously' && !mergeEventAt.has(event.uuid)) {
          mergeEventAt.set(event.uuid, {
            stage: call.stage,
            call: index,
            event: eventIndex,
            capture: true,
          });
        }
      });
    }
  });
  const byPerson = new Map<string, { order: number; at: Position; barrier: boolean }[]>();
  messages.forEach(({ messageId, command }, order) => {
    const ref = personRefOf(command);
    if (ref === undefined || skipped.has(messageId)) return;
    const personKey = personKeyOf(ref);
    const list = byPerson.get(personKey) ?? [];
    let at = barrierAt.get(messageId);
    if (command.type === 'person.merge') {
      // Its first event, found by the uuid the planner derives from the command (recomputed here).
      const first = command.data.mergedDistinctIds
        .map((alias) =>
          mergeEventAt.get(
            uuidv5(
              `merge\0${command.data.survivorDistinctId}\0${alias}\0${command.id}`,
              CAPTURE_EVENT_UUID_NAMESPACE,
            ),
          ),
        )
        .find((position) => position !== undefined);
      expect(first, `${messageId}: no $merge_dangerously event`).toBeDefined();
      at = first;
    }
    if (command.type !== 'person.properties.update' && at !== undefined) {
      list.push({ order, at, barrier: true });
    }
    byPerson.set(personKey, list);
    // A merge is ordered in the operations of each merged-away id too.
    if (command.type === 'person.merge' && at !== undefined) {
      for (const alias of new Set(command.data.mergedDistinctIds.map((id) => `d:${id}`))) {
        if (alias === personKey) continue;
        const aliasList = byPerson.get(alias) ?? [];
        aliasList.push({ order, at, barrier: true });
        byPerson.set(alias, aliasList);
      }
    }
  });
  for (const [id, w] of winners) {
    const personKey = id.slice(0, id.indexOf('\0'));
    const at = writeAt.get(id);
    expect(at, `${id} not written`).toBeDefined();
    if (at !== undefined) byPerson.get(personKey)?.push({ order: w.order, at, barrier: false });
  }
  for (const [personKey, steps] of byPerson) {
    const barriers = steps.filter((s) => s.barrier).sort((a, b) => a.order - b.order);
    for (let i = 1; i < barriers.length; i += 1) {
      const [previous, next] = [barriers[i - 1], barriers[i]];
      if (previous === undefined || next === undefined) continue;
      expect(runsBefore(previous.at, next.at), `${personKey} barriers out of order`).toBe(true);
    }
    for (const write of steps.filter((s) => !s.barrier)) {
      for (const b of barriers) {
        expect(
          write.order < b.order ? runsBefore(write.at, b.at) : runsBefore(b.at, write.at),
          `${personKey} write on the wrong side of a barrier`,
        ).toBe(true);
      }
    }
  }
}

/** The planner's byte cap per capture call (`CAPTURE_BATCH_MAX_BYTES` in lib/planner/plan.ts). */
const CAPTURE_CALL_MAX_BYTES = 5 * 1024 * 1024;

/** Where a call or capture event runs: its stage, its index in `plan.calls`, its index among the call's events. */
interface Position {
  stage: number;
  call: number;
  event: number;
  capture: boolean;
}

/** Whether `a` certainly happens before `b` (calls of one stage run concurrently, except capture calls). */
function runsBefore(a: Position, b: Position): boolean {
  if (a.stage !== b.stage) return a.stage < b.stage;
  if (!a.capture || !b.capture) return false;
  return a.call !== b.call ? a.call < b.call : a.event < b.event;
}

/**
 * The fewest calls any correct plan needs for `messages`, computed from the messages only (never from a plan):
 * - per combined flag set, ⌈uuids/1000⌉ + ⌈distinct ids/1000⌉ bulk_deletes (a call has one flag set and one id kind);
 * - ⌈distinct ids needing a person id / 200⌉ lookups (splits, and updates in update_property mode);
 * - one call per split; through the Persons API, per person and round (the writes between two of its splits or
 *   merges), one call for all its set keys (update_property or PATCH) and one per unset key (delete_property);
 * - capture calls: the most capture segments on any chain of operations, where each person's operations run in
 *   message order, a merge is an operation of the survivor and of each merged id, and a Persons API call (split
 *   or update) between two capture events of a chain starts a new segment (those events cannot share a call).
 * Changes to persons deleted in the batch and repeated (same type, person and id) commands need no call.
 */
export function independentLowerBound(
  messages: InboundCommand[],
  mode: NonNullable<PlanOptions['propertyWrites']>,
): { total: number; capture: number } {
  const flags = new Map<string, { events: boolean; recordings: boolean; keep: boolean }>();
  for (const { command } of messages) {
    if (command.type !== 'persons.delete') continue;
    const d = command.data;
    for (const key of [
      ...(d.distinctIds ?? []).map((id) => `d:${id}`),
      ...(d.personUuids ?? []).map((id) => `u:${id}`),
    ]) {
      const prev = flags.get(key);
      flags.set(key, {
        events: (prev?.events ?? false) || d.deleteEvents,
        recordings: (prev?.recordings ?? false) || d.deleteRecordings,
        keep: (prev?.keep ?? true) && d.keepPerson,
      });
    }
  }
  const kinds = new Map<string, { uuids: number; distinctIds: number }>();
  for (const [key, f] of flags) {
    const k = JSON.stringify(f);
    const entry = kinds.get(k) ?? { uuids: 0, distinctIds: 0 };
    if (key.startsWith('u:')) entry.uuids += 1;
    else entry.distinctIds += 1;
    kinds.set(k, entry);
  }
  let bound = 0;
  for (const { uuids, distinctIds } of kinds.values()) {
    bound += Math.ceil(uuids / 1000) + Math.ceil(distinctIds / 1000);
  }

  const gone = (key: string) => flags.get(key)?.keep === false;
  const seen = new Set<string>();
  const lookups = new Set<string>();
  const ops: {
    personKey: string;
    keys: string[];
    order: number;
    kind: 'split' | 'merge' | 'update';
  }[] = [];
  const winners = new Map<string, { time: number; order: number; unset: boolean; round: number }>();
  const roundOf = new Map<string, number>(); // person → splits and merges naming it so far
  messages.forEach(({ command }, order) => {
    const ref = personRefOf(command);
    if (ref === undefined) return;
    const personKey = personKeyOf(ref);
    const involved =
      command.type === 'person.merge'
        ? [personKey, ...command.data.mergedDistinctIds.map((id) => `d:${id}`)]
        : [personKey];
    if (involved.some(gone)) return;
    const identity = `${command.type}\0${personKey}\0${command.id}`;
    if (seen.has(identity)) return;
    seen.add(identity);
    if (command.type === 'person.split') {
      bound += 1;
      if ('distinctId' in ref) lookups.add(ref.distinctId);
      ops.push({ personKey, keys: [personKey], order, kind: 'split' });
      roundOf.set(personKey, (roundOf.get(personKey) ?? 0) + 1);
    } else if (command.type === 'person.merge') {
      ops.push({ personKey, keys: [...new Set(involved)], order, kind: 'merge' });
      for (const key of new Set(involved)) roundOf.set(key, (roundOf.get(key) ?? 0) + 1);
    } else if (command.type === 'person.properties.update') {
      if ('distinctId' in ref && mode === 'update_property') lookups.add(ref.distinctId);
      const time = Date.parse(command.time);
      const round = roundOf.get(personKey) ?? 0;
      for (const [key, unset] of [
        ...Object.keys(command.data.set ?? {}).map((k) => [k, false] as const),
        ...(command.data.unset ?? []).map((k) => [k, true] as const),
      ]) {
        const id = `${personKey}\0${key}`;
        const current = winners.get(id);
        if (
          current === undefined ||
          time > current.time ||
          (time === current.time && order > current.order)
        )
          winners.set(id, { time, order, unset, round });
      }
      ops.push({ personKey, keys: [personKey], order, kind: 'update' });
    }
  });
  bound += Math.ceil(lookups.size / 200);

  // Which update messages still write something after last-write-wins, and how.
  const writingUpdates = new Set<number>();
  const roundsWithSets = new Set<string>();
  for (const [id, { order, unset, round }] of winners) {
    writingUpdates.add(order);
    const personKey = id.slice(0, id.indexOf('\0'));
    if (mode === 'capture' && personKey.startsWith('d:')) continue;
    if (unset) bound += 1;
    else roundsWithSets.add(`${personKey}\0${round}`);
  }
  bound += roundsWithSets.size;
  const captured = (op: (typeof ops)[number]) =>
    op.kind === 'merge' ||
    (op.kind === 'update' &&
      writingUpdates.has(op.order) &&
      mode === 'capture' &&
      op.personKey.startsWith('d:'));
  const api = (op: (typeof ops)[number]) =>
    op.kind === 'split' || (op.kind === 'update' && writingUpdates.has(op.order) && !captured(op));
  // Capture calls: the capture steps of all persons form a partial order (each person's operations in message
  // order; a merge is in the order of every person it names). Walking the messages in order, `need` is the earliest
  // capture stage (1, 2, ...) a person's next capture event may use and `last` the stage of its latest one: a
  // Persons API call must follow `last`, so the next capture event needs a later stage.
  const need = new Map<string, number>();
  const last = new Map<string, number>();
  let captureCalls = 0;
  for (const op of ops) {
    if (captured(op)) {
      let stage = 1;
      for (const key of op.keys) stage = Math.max(stage, need.get(key) ?? 1);
      for (const key of op.keys) {
        need.set(key, stage);
        last.set(key, stage);
      }
      captureCalls = Math.max(captureCalls, stage);
    } else if (api(op)) {
      const key = op.personKey;
      need.set(key, Math.max(need.get(key) ?? 1, (last.get(key) ?? 0) + 1));
    }
  }
  return { total: bound + captureCalls, capture: captureCalls };
}
