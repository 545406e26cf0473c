import { expect } from 'vitest';
import { type JsonValue, personKeyOf, personRefOf } from '../../../lib/messages/index.ts';
import {
  CAPTURE_BATCH_MAX_EVENTS,
  type InboundCommand,
  type Plan,
  type PlanOptions,
  SERVER_LIMITS,
} from '../../../lib/planner/index.ts';

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
  expect(plan.lowerBound).toBeLessThanOrEqual(plan.callCount);
  // Whole plan: only capture calls (one per stage that needs one, more past 1000 events) may exceed the bound.
  const captureCalls = plan.calls.filter((c) => c.endpoint === 'capture_batch').length;
  expect(plan.callCount).toBeLessThanOrEqual(
    plan.lowerBound + flagSets.size + Math.max(0, captureCalls - 1),
  );

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
  const writeStage = new Map<string, number>();
  let stage = 0;
  const put = (id: string, write: { unset: boolean; value: JsonValue }) => {
    expect(written.has(id), `${id} written twice`).toBe(false);
    written.set(id, write);
    writeStage.set(id, stage);
  };
  for (const call of plan.calls) {
    stage = call.stage;
    if (call.endpoint === 'update_property')
      put(`${personKeyOf(call.person)}\0${call.key}`, { unset: false, value: call.value });
    if (call.endpoint === 'delete_property')
      put(`${personKeyOf(call.person)}\0${call.key}`, { unset: true, value: null });
    if (call.endpoint === 'capture_batch') {
      for (const event of call.events) {
        if (event.event !== '$set') continue;
        expect(mode).toBe('capture');
        for (const [key, value] of Object.entries(event.set))
          put(`d:${event.distinctId}\0${key}`, { unset: false, value });
        for (const key of event.unset)
          put(`d:${event.distinctId}\0${key}`, { unset: true, value: null });
      }
    }
  }
  expect(written).toEqual(
    new Map(
      [...winners].map(([id, w]) => [id, { unset: w.unset, value: w.unset ? null : w.value }]),
    ),
  );

  // 6. Per person, splits and merges keep their message order, and each winning write stays on its side of them.
  const barrierStage = new Map<string, number>();
  for (const call of plan.calls) {
    if (
      call.endpoint === 'split' ||
      (call.endpoint === 'capture_batch' &&
        call.events.some((e) => e.event === '$merge_dangerously'))
    ) {
      for (const id of call.serves)
        barrierStage.set(id, Math.min(barrierStage.get(id) ?? call.stage, call.stage));
    }
  }
  const byPerson = new Map<string, { order: number; stage: number; barrier: boolean }[]>();
  messages.forEach(({ messageId, command }, order) => {
    const ref = personRefOf(command);
    if (ref === undefined || skipped.has(messageId)) return;
    const personKey = personKeyOf(ref);
    const list = byPerson.get(personKey) ?? [];
    const barrier = barrierStage.get(messageId);
    if (command.type !== 'person.properties.update' && barrier !== undefined) {
      list.push({ order, stage: barrier, barrier: true });
    }
    byPerson.set(personKey, list);
  });
  for (const [id, w] of winners) {
    const personKey = id.slice(0, id.indexOf('\0'));
    byPerson
      .get(personKey)
      ?.push({ order: w.order, stage: writeStage.get(id) ?? -1, barrier: false });
  }
  for (const [personKey, steps] of byPerson) {
    const barriers = steps.filter((s) => s.barrier).sort((a, b) => a.order - b.order);
    for (let i = 1; i < barriers.length; i += 1) {
      expect(
        (barriers[i]?.stage ?? 0) > (barriers[i - 1]?.stage ?? 0),
        `${personKey} barriers out of order`,
      ).toBe(true);
    }
    for (const write of steps.filter((s) => !s.barrier)) {
      for (const b of barriers) {
        expect(
          write.order < b.order ? write.stage < b.stage : write.stage > b.stage,
          `${personKey} write on the wrong side of a barrier`,
        ).toBe(true);
      }
    }
  }
}
