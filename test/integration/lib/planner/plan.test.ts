import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type Command, CommandSchema } from '../../../../lib/messages/index.ts';
import {
  type InboundCommand,
  type Plan,
  type PlannedCall,
  planBatch,
  singleMessageCallCount,
} from '../../../../lib/planner/index.ts';
import {
  deleteCommand,
  mergeCommand,
  splitCommand,
  UUID_A,
  UUID_B,
  updateCommand,
} from '../messages/factories.ts';
import { batch, rawCommand } from './arbitraries.ts';
import { checkInvariants } from './invariants.ts';

/** A uuid v5 (the planner derives capture event uuids). */
const V5 = expect.stringMatching(
  /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
);

const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 21, 0, s)).toISOString();

/** Inbound messages m0, m1, ... from raw commands, with command ids c0, c1, ... */
const inbound = (...raws: Record<string, unknown>[]): InboundCommand[] =>
  raws.map((raw, i) => ({
    messageId: `m${i}`,
    command: CommandSchema.parse({ ...raw, id: `c${i}` }) as Command,
  }));

const byEndpoint = <E extends PlannedCall['endpoint']>(plan: Plan, endpoint: E) =>
  plan.calls.filter((c): c is Extract<PlannedCall, { endpoint: E }> => c.endpoint === endpoint);

describe('planBatch: deletes', () => {
  it('plans 10,000 single-id deletes with the same flags as exactly 10 bulk_delete calls', () => {
    // Prepare
    const messages = Array.from({ length: 10_000 }, (_, i) => ({
      messageId: `m${i}`,
      command: CommandSchema.parse(
        deleteCommand({ distinctIds: [`user-${i}`], deleteEvents: true }, { id: `c${i}` }),
      ),
    }));

    // Act
    const plan = planBatch(messages);

    // Assess
    const deletes = byEndpoint(plan, 'bulk_delete');
    expect(deletes).toHaveLength(10);
    expect(plan.calls).toHaveLength(10);
    expect(
      deletes.every((c) => 'distinctIds' in c.target && c.target.distinctIds.length === 1000),
    ).toBe(true);
    expect(plan).toMatchObject({
      callCount: 10,
      lowerBound: 10,
      naiveCallCount: 10_000,
      skipped: [],
    });
    checkInvariants(messages, plan);
  });

  it('de-duplicates ids across messages and remembers who asked for each', () => {
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['a', 'b', 'a'] }),
        deleteCommand({ distinctIds: ['b', 'c'] }),
      ),
    );
    expect(plan.calls).toEqual([
      {
        endpoint: 'bulk_delete',
        stage: 0,
        serves: ['m0', 'm1'],
        target: { distinctIds: ['a', 'b', 'c'] },
        flags: { deleteEvents: false, deleteRecordings: false, keepPerson: false },
        owners: { a: ['m0'], b: ['m0', 'm1'], c: ['m1'] },
      },
    ]);
  });

  it('never mixes uuids and distinct ids in one call', () => {
    const plan = planBatch(inbound(deleteCommand({ distinctIds: ['a'], personUuids: [UUID_A] })));
    expect(byEndpoint(plan, 'bulk_delete').map((c) => c.target)).toEqual([
      { ids: [UUID_A] },
      { distinctIds: ['a'] },
    ]);
    expect(plan.lowerBound).toBe(2);
  });

  it('keeps different flag sets apart', () => {
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['a'], deleteEvents: true }),
        deleteCommand({ distinctIds: ['b'] }),
        deleteCommand({ distinctIds: ['c'], deleteEvents: true }),
      ),
    );
    expect(byEndpoint(plan, 'bulk_delete').map((c) => [c.target, c.flags.deleteEvents])).toEqual([
      [{ distinctIds: ['a', 'c'] }, true],
      [{ distinctIds: ['b'] }, false],
    ]);
  });

  it('deletes an id asked for twice once, with the union of what was asked', () => {
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['a'], deleteEvents: true, keepPerson: true }),
        deleteCommand({ distinctIds: ['a'], deleteRecordings: true }),
      ),
    );
    expect(byEndpoint(plan, 'bulk_delete')).toEqual([
      expect.objectContaining({
        target: { distinctIds: ['a'] },
        flags: { deleteEvents: true, deleteRecordings: true, keepPerson: false },
        serves: ['m0', 'm1'],
      }),
    ]);
  });

  it('chunks 2,500 uuids of one message into 3 calls', () => {
    const uuids = Array.from(
      { length: 2500 },
      (_, i) => `0190a3c2-5b7e-7cde-8f01-${i.toString(16).padStart(12, '0')}`,
    );
    const plan = planBatch(inbound(deleteCommand({ personUuids: uuids })));
    expect(
      byEndpoint(plan, 'bulk_delete').map((c) => ('ids' in c.target ? c.target.ids.length : 0)),
    ).toEqual([1000, 1000, 500]);
    expect(plan).toMatchObject({ lowerBound: 3, callCount: 3, naiveCallCount: 3 });
  });
});

describe('planBatch: property updates', () => {
  it('collapses updates of one person and key to the latest time, served for every writer', () => {
    const plan = planBatch(
      inbound(
        updateCommand({ distinctId: 'a', set: { plan: 'pro', seats: 3 } }, { time: at(5) }),
        updateCommand({ distinctId: 'a', set: { plan: 'free' } }, { time: at(3) }),
      ),
    );
    // Both winning keys of the person go out as one PATCH (one `$set`, one call of the 240/min budget).
    const perKey = [
      {
        endpoint: 'update_property',
        stage: 0,
        serves: ['m0', 'm1'],
        person: { distinctId: 'a' },
        key: 'plan',
        value: 'pro',
      },
      {
        endpoint: 'update_property',
        stage: 0,
        serves: ['m0'],
        person: { distinctId: 'a' },
        key: 'seats',
        value: 3,
      },
    ];
    expect(plan.calls).toEqual([
      { endpoint: 'batch_by_distinct_ids', stage: 0, serves: ['m0', 'm1'], distinctIds: ['a'] },
      {
        endpoint: 'update_properties',
        stage: 1,
        serves: ['m0', 'm1'],
        person: { distinctId: 'a' },
        properties: { plan: 'pro', seats: 3 },
        perKey,
      },
    ]);
    expect(plan).toMatchObject({ lowerBound: 2, callCount: 2, naiveCallCount: 4 });
  });

  it('writes 100 set keys of one message as one PATCH and 100 unset keys as one $unset event to the found person', () => {
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    const set = Object.fromEntries(keys.map((key, i) => [key, i]));
    const plan = planBatch(
      inbound(
        updateCommand({ distinctId: 'a', set }),
        updateCommand({ distinctId: 'b', unset: keys }),
        updateCommand({ uuid: UUID_A, unset: keys }),
      ),
      { captureUnsets: true },
    );
    expect(plan.calls.map((c) => [c.stage, c.endpoint])).toEqual([
      [0, 'batch_by_distinct_ids'],
      [0, 'retrieve'],
      [1, 'update_properties'],
      [2, 'capture_batch'],
    ]);
    expect(byEndpoint(plan, 'retrieve')).toEqual([
      { endpoint: 'retrieve', stage: 0, serves: ['m2'], uuid: UUID_A },
    ]);
    const [capture] = byEndpoint(plan, 'capture_batch');
    expect(capture?.events).toHaveLength(2);
    expect(capture?.events.map((e) => e.event === '$set' && e.existingPerson)).toEqual([
      { person: { distinctId: 'b' }, serves: ['m1'] },
      { person: { uuid: UUID_A }, serves: ['m2'] },
    ]);
    expect(capture?.events.map((e) => (e.event === '$set' ? e.unset.length : 0))).toEqual([
      100, 100,
    ]);
    // The person named by uuid gets its distinct id from the retrieve, at run time.
    expect(capture?.events[1]?.distinctId).toBe('');
    expect(plan).toMatchObject({ callCount: 4, lowerBound: 4, naiveCallCount: 6 });
  });

  it('without captureUnsets (no project token) unsets one key per delete_property call', () => {
    const plan = planBatch(inbound(updateCommand({ distinctId: 'b', unset: ['x', 'y', 'z'] })));
    expect(byEndpoint(plan, 'delete_property').map((c) => c.key)).toEqual(['x', 'y', 'z']);
    expect(byEndpoint(plan, 'capture_batch')).toEqual([]);
  });

  it('breaks a tie in time by message order: the later message wins', () => {
    const plan = planBatch(
      inbound(
        updateCommand({ uuid: UUID_A, set: { plan: 'first' } }),
        updateCommand({ uuid: UUID_A, set: { plan: 'second' } }),
      ),
    );
    expect(byEndpoint(plan, 'update_property').map((c) => c.value)).toEqual(['second']);
  });

  it('turns a later unset into delete_property', () => {
    const plan = planBatch(
      inbound(
        updateCommand({ uuid: UUID_A, set: { plan: 'pro' } }, { time: at(1) }),
        updateCommand({ uuid: UUID_A, unset: ['plan'] }, { time: at(2) }),
      ),
    );
    expect(plan.calls).toEqual([
      {
        endpoint: 'delete_property',
        stage: 1,
        serves: ['m0', 'm1'],
        person: { uuid: UUID_A },
        key: 'plan',
      },
    ]);
  });

  it('in capture mode sends one $set/$unset event per person in one capture batch, no lookups', () => {
    const plan = planBatch(
      inbound(
        updateCommand({ distinctId: 'a', set: { plan: 'pro' }, unset: ['trial'] }),
        updateCommand({ distinctId: 'b', set: { plan: 'team' } }),
        updateCommand({ uuid: UUID_A, set: { plan: 'free' } }),
      ),
      { propertyWrites: 'capture' },
    );
    expect(plan.calls).toEqual([
      {
        endpoint: 'update_property',
        stage: 1,
        serves: ['m2'],
        person: { uuid: UUID_A },
        key: 'plan',
        value: 'free',
      },
      {
        endpoint: 'capture_batch',
        stage: 2,
        serves: ['m0', 'm1'],
        events: [
          {
            event: '$set',
            distinctId: 'a',
            set: { plan: 'pro' },
            unset: ['trial'],
            timestamp: '2026-11-28T21:00:00Z',
            uuid: V5,
          },
          {
            event: '$set',
            distinctId: 'b',
            set: { plan: 'team' },
            unset: [],
            timestamp: '2026-11-28T21:00:00Z',
            uuid: V5,
          },
        ],
      },
    ]);
    expect(plan).toMatchObject({ lowerBound: 2, callCount: 2, naiveCallCount: 3 });
  });

  it('resolves 450 distinct ids in 3 lookups, planned once', () => {
    const raws = Array.from({ length: 450 }, (_, i) =>
      updateCommand({ distinctId: `u${i}`, set: { plan: 'pro' } }),
    );
    const plan = planBatch(inbound(...raws, ...raws.slice(0, 10)));
    expect(byEndpoint(plan, 'batch_by_distinct_ids').map((c) => c.distinctIds.length)).toEqual([
      200, 200, 50,
    ]);
  });
});

describe('planBatch: deleted persons, splits, merges and order', () => {
  it('skips changes to a person deleted in the same batch, saying why', () => {
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['a'], personUuids: [UUID_A] }),
        updateCommand({ distinctId: 'a', set: { plan: 'pro' } }),
        splitCommand({ uuid: UUID_A, mainDistinctId: 'x' }),
        mergeCommand({ survivorDistinctId: 'crm-1', mergedDistinctIds: ['a'] }),
        updateCommand({ distinctId: 'b', set: { plan: 'pro' } }),
      ),
    );
    expect(plan.skipped).toEqual([
      {
        messageId: 'm1',
        code: 'person_deleted_in_batch',
        reason:
          'person.properties.update of the person of distinct id "a" is skipped: the person is deleted in the same batch by m0',
        dependsOn: ['m0'],
      },
      {
        messageId: 'm2',
        code: 'person_deleted_in_batch',
        reason: `person.split of person ${UUID_A} is skipped: the person is deleted in the same batch by m0`,
        dependsOn: ['m0'],
      },
      {
        messageId: 'm3',
        code: 'person_deleted_in_batch',
        reason:
          'person.merge of the person of distinct id "crm-1" is skipped: the person is deleted in the same batch by m0',
        dependsOn: ['m0'],
      },
    ]);
    expect(plan.calls.flatMap((c) => c.serves)).not.toContain('m1');
    expect(byEndpoint(plan, 'update_property')).toHaveLength(1);
  });

  it('still updates a person whose delete keeps the person', () => {
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['a'], deleteEvents: true, keepPerson: true }),
        updateCommand({ distinctId: 'a', set: { plan: 'pro' } }),
      ),
    );
    expect(plan.skipped).toEqual([]);
    expect(byEndpoint(plan, 'update_property')).toHaveLength(1);
  });

  it("keeps a person's update, split, update in message order across stages", () => {
    const plan = planBatch(
      inbound(
        updateCommand({ distinctId: 'a', set: { seats: 1 } }, { time: at(1) }),
        splitCommand({ distinctId: 'a', distinctIdsToSplit: ['device-1'] }, { time: at(2) }),
        updateCommand({ distinctId: 'a', set: { plan: 'pro' } }, { time: at(3) }),
        mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['crm-2'] }, { time: at(4) }),
      ),
    );
    expect(plan.calls.map((c) => [c.endpoint, c.stage, c.serves])).toEqual([
      ['batch_by_distinct_ids', 0, ['m0', 'm1', 'm2']],
      ['update_property', 1, ['m0']],
      ['split', 2, ['m1']],
      ['update_property', 3, ['m2']],
      ['capture_batch', 4, ['m3']],
    ]);
  });

  it('folds the merges of a batch into one capture call', () => {
    const plan = planBatch(
      inbound(
        mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['a2', 'a3'] }),
        mergeCommand({ survivorDistinctId: 'b', mergedDistinctIds: ['b2'] }),
      ),
    );
    expect(plan.calls).toEqual([
      {
        endpoint: 'capture_batch',
        stage: 1,
        serves: ['m0', 'm1'],
        events: [
          {
            event: '$merge_dangerously',
            distinctId: 'a',
            alias: 'a2',
            timestamp: '2026-11-28T21:00:00Z',
            uuid: V5,
          },
          {
            event: '$merge_dangerously',
            distinctId: 'a',
            alias: 'a3',
            timestamp: '2026-11-28T21:00:00Z',
            uuid: V5,
          },
          {
            event: '$merge_dangerously',
            distinctId: 'b',
            alias: 'b2',
            timestamp: '2026-11-28T21:00:00Z',
            uuid: V5,
          },
        ],
      },
    ]);
    expect(plan).toMatchObject({ lowerBound: 1, callCount: 1, naiveCallCount: 2 });
  });

  it('folds capture events of later rounds into one batch when no API call of the person lies between', () => {
    // Prepare: a's rounds are split by a merge (a capture event), b's by a split (a Persons API call).
    const messages = inbound(
      updateCommand({ distinctId: 'a', set: { seats: 1 } }, { time: at(1) }),
      mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['a2'] }, { time: at(2) }),
      updateCommand({ distinctId: 'a', set: { plan: 'pro' } }, { time: at(3) }),
      mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['a3'] }, { time: at(4) }),
      updateCommand({ distinctId: 'b', set: { seats: 1 } }, { time: at(1) }),
      splitCommand({ distinctId: 'b', distinctIdsToSplit: ['b-phone'] }, { time: at(2) }),
      updateCommand({ distinctId: 'b', set: { plan: 'pro' } }, { time: at(3) }),
    );

    // Act
    const plan = planBatch(messages, { propertyWrites: 'capture' });

    // Assess
    expect(
      plan.calls.map((c) => [
        c.endpoint,
        c.stage,
        c.endpoint === 'capture_batch' ? c.events.map((e) => `${e.event} ${e.distinctId}`) : [],
      ]),
    ).toEqual([
      ['batch_by_distinct_ids', 0, []],
      // a has no Persons API call, so all its events, in message order, ride in the first capture call with b's
      // first $set; b's second $set must wait for its split.
      [
        'capture_batch',
        1,
        ['$set a', '$merge_dangerously a', '$set a', '$merge_dangerously a', '$set b'],
      ],
      ['split', 2, []],
      ['capture_batch', 3, ['$set b']],
    ]);
    // Two capture calls are the least any plan keeps b's order with: $set, then the split, then $set.
    expect(plan).toMatchObject({ callCount: 4, lowerBound: 4 });
    checkInvariants(messages, plan, { propertyWrites: 'capture' });
  });

  it("meets the bound for the issue's A/B example: 3 calls", () => {
    // Prepare: A: $set then split; B: split then $set. A $set needs a distinct id, so the splits need one lookup.
    const messages = inbound(
      updateCommand({ distinctId: 'A', set: { plan: 'pro' } }, { time: at(1) }),
      splitCommand({ distinctId: 'A', distinctIdsToSplit: ['A-phone'] }, { time: at(2) }),
      splitCommand({ distinctId: 'B', distinctIdsToSplit: ['B-phone'] }, { time: at(1) }),
      updateCommand({ distinctId: 'B', set: { plan: 'team' } }, { time: at(2) }),
    );

    // Act
    const plan = planBatch(messages, { propertyWrites: 'capture' });

    // Assess: B's split, ONE capture call with both $sets, A's split (+ the lookup of A and B in stage 0).
    expect(
      plan.calls.map((c) => [
        c.endpoint,
        c.stage,
        c.endpoint === 'capture_batch'
          ? c.events.map((e) => `${e.event} ${e.distinctId}`)
          : c.serves,
      ]),
    ).toEqual([
      ['batch_by_distinct_ids', 0, ['m1', 'm2']],
      ['split', 1, ['m2']],
      ['capture_batch', 2, ['$set A', '$set B']],
      ['split', 3, ['m1']],
    ]);
    expect(byEndpoint(plan, 'capture_batch')).toHaveLength(1);
    // Without the lookup: 3 calls, the lower bound.
    expect(plan.callCount - byEndpoint(plan, 'batch_by_distinct_ids').length).toBe(3);
    expect(plan).toMatchObject({ callCount: 4, lowerBound: 4 });
    checkInvariants(messages, plan, { propertyWrites: 'capture' });
  });

  it('runs a merge only after the earlier operations of every person it names', () => {
    // Prepare: b's split precedes the merge of b into a; a's $set precedes it too, and c's split follows a's $set.
    const messages = inbound(
      updateCommand({ distinctId: 'a', set: { plan: 'pro' } }, { time: at(1) }),
      splitCommand({ distinctId: 'b', distinctIdsToSplit: ['b-phone'] }, { time: at(1) }),
      mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['b'] }, { time: at(2) }),
      updateCommand({ distinctId: 'a', set: { seats: 3 } }, { time: at(3) }),
      updateCommand({ distinctId: 'c', set: { tier: 'gold' } }, { time: at(1) }),
      splitCommand({ distinctId: 'c', distinctIdsToSplit: ['c-phone'] }, { time: at(2) }),
    );

    // Act
    const plan = planBatch(messages, { propertyWrites: 'capture' });

    // Assess: the merge waits for b's split but not for c's; a's later $set rides right behind the merge.
    expect(
      plan.calls.map((c) => [
        c.endpoint,
        c.stage,
        c.endpoint === 'capture_batch'
          ? c.events.map((e) =>
              e.event === '$set' ? `$set ${e.distinctId}` : `merge ${e.alias}>${e.distinctId}`,
            )
          : c.serves,
      ]),
    ).toEqual([
      ['batch_by_distinct_ids', 0, ['m1', 'm5']],
      ['split', 1, ['m1']],
      ['capture_batch', 2, ['$set a', 'merge b>a', '$set a', '$set c']],
      ['split', 3, ['m5']],
    ]);
    expect(plan).toMatchObject({ callCount: 4, lowerBound: 4 });
    checkInvariants(messages, plan, { propertyWrites: 'capture' });
  });

  it('holds a merge back until each person it names reaches it, keeping both orders', () => {
    // Prepare: a: $set, split, merge(b into a). b: merge, then $set. The merge must follow a's split, so b's $set
    // (after the merge) lands in the second capture call too.
    const messages = inbound(
      updateCommand({ distinctId: 'a', set: { plan: 'pro' } }, { time: at(1) }),
      splitCommand({ distinctId: 'a', distinctIdsToSplit: ['a-phone'] }, { time: at(2) }),
      mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['b'] }, { time: at(3) }),
      updateCommand({ distinctId: 'b', set: { seats: 1 } }, { time: at(4) }),
    );

    // Act
    const plan = planBatch(messages, { propertyWrites: 'capture' });

    // Assess
    expect(
      plan.calls.map((c) => [
        c.endpoint,
        c.stage,
        c.endpoint === 'capture_batch'
          ? c.events.map((e) =>
              e.event === '$set' ? `$set ${e.distinctId}` : `merge ${e.alias}>${e.distinctId}`,
            )
          : c.serves,
      ]),
    ).toEqual([
      ['batch_by_distinct_ids', 0, ['m1']],
      ['capture_batch', 1, ['$set a']],
      ['split', 2, ['m1']],
      ['capture_batch', 3, ['merge b>a', '$set b']],
    ]);
    expect(plan).toMatchObject({ callCount: 4, lowerBound: 4 });
    checkInvariants(messages, plan, { propertyWrites: 'capture' });
  });

  it('derives capture event uuids from the commands: the same batch resends the same events', () => {
    const batch = () =>
      inbound(
        mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['a2', 'a3'] }),
        updateCommand({ distinctId: 'b', set: { plan: 'pro' } }),
      );
    const uuids = (plan: Plan) =>
      byEndpoint(plan, 'capture_batch').flatMap((c) => c.events.map((e) => e.uuid));
    const first = uuids(planBatch(batch(), { propertyWrites: 'capture' }));
    expect(first).toHaveLength(3);
    expect(new Set(first).size).toBe(3);
    expect(uuids(planBatch(batch(), { propertyWrites: 'capture' }))).toEqual(first);
    const other = inbound(mergeCommand({ survivorDistinctId: 'z', mergedDistinctIds: ['a2'] }));
    expect(uuids(planBatch(other))).not.toContain(first[0]);
  });

  it('plans a split by uuid without a lookup, and by distinct id with one', () => {
    const plan = planBatch(
      inbound(
        splitCommand({ uuid: UUID_B, mainDistinctId: 'keep' }),
        splitCommand({ distinctId: 'x', distinctIdsToSplit: ['y'] }),
      ),
    );
    expect(plan.calls).toEqual([
      { endpoint: 'batch_by_distinct_ids', stage: 0, serves: ['m1'], distinctIds: ['x'] },
      {
        endpoint: 'split',
        stage: 1,
        serves: ['m0'],
        person: { uuid: UUID_B },
        body: { mainDistinctId: 'keep' },
      },
      {
        endpoint: 'split',
        stage: 1,
        serves: ['m1'],
        person: { distinctId: 'x' },
        body: { distinctIdsToSplit: ['y'] },
      },
    ]);
  });

  it('lets a repeated command (same id, same person) share the first one’s calls', () => {
    const command = CommandSchema.parse(
      splitCommand({ distinctId: 'x', distinctIdsToSplit: ['y'] }),
    );
    const plan = planBatch([
      { messageId: 'm0', command },
      { messageId: 'm1', command },
    ]);
    expect(byEndpoint(plan, 'split')).toEqual([expect.objectContaining({ serves: ['m0', 'm1'] })]);
  });
});

describe('planBatch: purity and counts', () => {
  it('returns the same plan for the same input and leaves the input alone', () => {
    fc.assert(
      fc.property(batch({ distinctIds: 20, uuids: 5 }, { maxLength: 60 }), (messages) => {
        const before = structuredClone(messages);
        const first = planBatch(messages, { propertyWrites: 'capture' });
        expect(planBatch(messages, { propertyWrites: 'capture' })).toEqual(first);
        expect(messages).toEqual(before);
      }),
      { numRuns: 50 },
    );
  });

  it('counts naive calls as the sum of single-message plans', () => {
    fc.assert(
      fc.property(
        rawCommand({ distinctIds: 5, uuids: 3 }),
        fc.constantFrom('update_property', 'capture' as const),
        (raw, mode) => {
          const command = CommandSchema.parse({ ...raw, id: 'c' });
          const alone = planBatch([{ messageId: 'm', command }], { propertyWrites: mode });
          expect(singleMessageCallCount(command, mode)).toBe(alone.callCount);
          const withCapture = planBatch([{ messageId: 'm', command }], {
            propertyWrites: mode,
            captureUnsets: true,
          });
          expect(singleMessageCallCount(command, mode, true)).toBe(withCapture.callCount);
          expect(alone.naiveCallCount).toBe(alone.callCount);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('exposes PlannedCall as a union discriminated on endpoint', () => {
    expectTypeOf<PlannedCall['endpoint']>().toEqualTypeOf<
      | 'batch_by_distinct_ids'
      | 'bulk_delete'
      | 'split'
      | 'update_property'
      | 'update_properties'
      | 'retrieve'
      | 'delete_property'
      | 'capture_batch'
    >();
    expectTypeOf<Extract<PlannedCall, { endpoint: 'bulk_delete' }>['target']>().toEqualTypeOf<
      { ids: string[] } | { distinctIds: string[] }
    >();
    expectTypeOf(planBatch).returns.toEqualTypeOf<Plan>();
  });
});

describe('planBatch: invariants on random batches', () => {
  for (const mode of ['update_property', 'capture'] as const) {
    it(`holds on small, colliding batches (${mode})`, () => {
      fc.assert(
        fc.property(batch({ distinctIds: 12, uuids: 4 }, { maxLength: 80 }), (messages) => {
          checkInvariants(messages, planBatch(messages, { propertyWrites: mode }), {
            propertyWrites: mode,
          });
        }),
        { numRuns: 100 },
      );
    });
  }

  it('holds on batches of up to 10,000 messages', () => {
    fc.assert(
      fc.property(
        batch({ distinctIds: 20_000, uuids: 3000 }, { minLength: 2000, maxLength: 10_000 }),
        fc.constantFrom('update_property', 'capture' as const),
        (messages, mode) => {
          const plan = planBatch(messages, { propertyWrites: mode });
          checkInvariants(messages, plan, { propertyWrites: mode });
          expect(plan.callCount).toBeLessThan(plan.naiveCallCount);
        },
      ),
      // Shrinking a 10,000-message counterexample takes far longer than the test; report it as found.
      { numRuns: 3, endOnFailure: true },
    );
  });
});
