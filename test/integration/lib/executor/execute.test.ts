import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  executePlan,
  type Outcome,
  type PostHogClientLike,
} from '../../../../lib/executor/index.ts';
import { type Command, CommandSchema } from '../../../../lib/messages/index.ts';
import { type InboundCommand, type Plan, planBatch } from '../../../../lib/planner/index.ts';
import { PostHogClient, type PostHogClientOptions } from '../../../../lib/posthog/index.ts';
import {
  type PostHogEmulator,
  type PostHogEmulatorOptions,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';
import { deleteCommand, mergeCommand, splitCommand, updateCommand } from '../messages/factories.ts';

const UUID_1 = '0190a3c2-5b7e-7cde-8f01-000000000001';
const UUID_2 = '0190a3c2-5b7e-7cde-8f01-000000000002';
const UUID_3 = '0190a3c2-5b7e-7cde-8f01-000000000003';

let emulator: PostHogEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function setup(
  options: PostHogEmulatorOptions = {},
  clientOptions: Partial<PostHogClientOptions> = {},
): Promise<{ ph: PostHogEmulator; client: PostHogClient }> {
  const ph = await startPostHogEmulator({ rateLimits: { enabled: false }, ...options });
  emulator = ph;
  ph.seedPersons([
    { uuid: UUID_1, distinctIds: ['alice', 'alice-device'], properties: { plan: 'free' } },
    { uuid: UUID_2, distinctIds: ['bob'], properties: { plan: 'free' } },
    { uuid: UUID_3, distinctIds: ['carol', 'carol-phone', 'carol-laptop'], properties: {} },
  ]);
  const client = new PostHogClient({
    host: ph.url,
    projectId: ph.projectId,
    personalApiKey: ph.personalApiKey,
    projectToken: ph.projectToken,
    rateLimits: false,
    maxRetries: 0,
    ...clientOptions,
  });
  return { ph, client };
}

const inbound = (...raws: Record<string, unknown>[]): InboundCommand[] =>
  raws.map((raw, i) => ({
    messageId: `m${i}`,
    command: CommandSchema.parse({ ...raw, id: `c${i}` }) as Command,
  }));

const person = (ph: PostHogEmulator, distinctId: string) =>
  ph.state.persons.find((p) => p.distinctIds.includes(distinctId));

const everyMessage = (plan: Plan) =>
  new Set([...plan.calls.flatMap((c) => c.serves), ...plan.skipped.map((s) => s.messageId)]);

describe('executePlan against the emulator', () => {
  it('accepts the real client as a PostHogClientLike', () => {
    expectTypeOf<PostHogClient>().toExtend<PostHogClientLike>();
  });

  for (const mode of ['update_property', 'capture'] as const) {
    it(`applies deletes, updates, a split and a merge (${mode})`, async () => {
      // Prepare
      const { ph, client } = await setup();
      const messages = inbound(
        deleteCommand({ distinctIds: ['bob'] }),
        updateCommand({ distinctId: 'bob', set: { plan: 'pro' } }),
        updateCommand({ distinctId: 'alice', set: { plan: 'pro', seats: 3 } }),
        updateCommand({ uuid: UUID_1, unset: ['plan'] }, { time: '2026-11-28T20:00:00Z' }),
        splitCommand({ distinctId: 'carol', distinctIdsToSplit: ['carol-phone'] }),
        mergeCommand({ survivorDistinctId: 'alice', mergedDistinctIds: ['carol-laptop'] }),
      );
      const plan = planBatch(messages, { propertyWrites: mode });

      // Act
      const outcomes = await executePlan(plan, client);
      await ph.flush();

      // Assess
      expect(new Set(outcomes.keys())).toEqual(everyMessage(plan));
      expect([...outcomes.values()]).toEqual(Array(6).fill({ status: 'applied' }));
      expect(person(ph, 'bob')).toBeUndefined();
      expect(person(ph, 'alice')?.properties).toMatchObject({ seats: 3 });
      expect(person(ph, 'carol-phone')?.uuid).not.toBe(UUID_3);
      expect(person(ph, 'carol-laptop')?.uuid).toBe(UUID_1);
      // Capture events carry the planner's deterministic uuids, so a redelivery resends the same events.
      const planned = plan.calls.flatMap((c) =>
        c.endpoint === 'capture_batch' ? c.events.map((e) => e.uuid) : [],
      );
      const received = new Set(ph.state.events.map((e) => e.uuid));
      expect(planned.length).toBeGreaterThan(0);
      for (const uuid of planned) expect(received.has(uuid)).toBe(true);
    });
  }

  it('retries only the message whose person failed in a partly failed bulk_delete by uuid', async () => {
    // Prepare
    const { ph, client } = await setup();
    ph.failNextDeletion(UUID_2);
    const plan = planBatch(
      inbound(deleteCommand({ personUuids: [UUID_1] }), deleteCommand({ personUuids: [UUID_2] })),
    );

    // Act
    const outcomes = await executePlan(plan, client);

    // Assess
    expect(plan.callCount).toBe(1);
    expect(outcomes.get('m0')).toEqual({ status: 'applied' });
    expect(outcomes.get('m1')).toMatchObject({
      status: 'retry',
      code: 'deletion_errors',
      delayMs: 60_000,
    });
    expect(person(ph, 'bob')).toBeDefined();
  });

  it('finds the failed persons of a distinct-id bulk_delete by resolving the chunk again', async () => {
    // Prepare
    const { ph, client } = await setup();
    ph.failNextDeletion(UUID_3);
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['alice'] }),
        deleteCommand({ distinctIds: ['carol-phone', 'bob'] }),
        deleteCommand({ distinctIds: ['nobody'] }),
      ),
    );

    // Act
    const outcomes = await executePlan(plan, client);

    // Assess
    expect(plan.callCount).toBe(1);
    expect(Object.fromEntries(outcomes)).toEqual({
      m0: { status: 'applied' },
      m1: expect.objectContaining({ status: 'retry', code: 'deletion_errors' }),
      m2: { status: 'applied' },
    });
    const lookups = ph.state.requestLog.filter(
      (r) => r.endpoint === 'persons/batch_by_distinct_ids',
    );
    expect(lookups).toHaveLength(1);
  });

  it('counts a repeated split ("not on this person") as applied', async () => {
    // Prepare
    const { ph, client } = await setup();
    const plan = planBatch(
      inbound(splitCommand({ uuid: UUID_3, distinctIdsToSplit: ['carol-phone'] })),
    );
    await executePlan(plan, client);
    await ph.flush();

    // Act
    const again = await executePlan(plan, client);

    // Assess
    const splits = ph.state.requestLog.filter((r) => r.endpoint === 'persons/:id/split');
    expect(splits.map((r) => r.status)).toEqual([201, 400]);
    expect(again.get('m0')).toEqual({ status: 'applied' });
  });

  it('rejects a split whose ids are only partly off the person: it was never applied', async () => {
    // Prepare
    const { ph, client } = await setup();
    const plan = planBatch(
      inbound(splitCommand({ uuid: UUID_3, distinctIdsToSplit: ['carol-phone', 'carol-tablet'] })),
    );

    // Act
    const outcomes = await executePlan(plan, client);
    await ph.flush();

    // Assess
    expect(outcomes.get('m0')).toMatchObject({ status: 'rejected', code: 'http_400' });
    expect(outcomes.get('m0')).toHaveProperty(
      'reason',
      expect.stringMatching(/the split was not applied: "carol-phone" still on the person\)$/),
    );
    expect(person(ph, 'carol-phone')?.uuid).toBe(UUID_3);
  });

  it('rejects a change to a distinct id no person has, and applies the rest', async () => {
    const { client } = await setup();
    const plan = planBatch(
      inbound(
        updateCommand({ distinctId: 'ghost', set: { plan: 'pro' } }),
        updateCommand({ distinctId: 'alice', set: { plan: 'pro' } }),
      ),
    );
    const outcomes = await executePlan(plan, client);
    expect(outcomes.get('m0')).toEqual({
      status: 'rejected',
      code: 'person_not_found',
      reason: 'no PostHog person has distinct id "ghost"',
    });
    expect(outcomes.get('m1')).toEqual({ status: 'applied' });
  });

  it('rejects permanently on 403 and names the call', async () => {
    const { ph } = await setup();
    const readOnly = ph.addApiKey({ scopes: ['person:read'] });
    const client = new PostHogClient({
      host: ph.url,
      projectId: ph.projectId,
      personalApiKey: readOnly,
      rateLimits: false,
      maxRetries: 0,
    });
    const outcomes = await executePlan(
      planBatch(inbound(updateCommand({ uuid: UUID_1, set: { plan: 'x' } }))),
      client,
    );
    expect(outcomes.get('m0')).toMatchObject({ status: 'rejected', code: 'http_403' });
    expect(outcomes.get('m0')).toHaveProperty(
      'reason',
      expect.stringMatching(/^update_property failed: /),
    );
  });

  it('never counts a bulk_delete 404 (unknown project) as done: PostHog answers 202 for unknown persons', async () => {
    // Prepare
    const { ph } = await setup();
    const wrongProject = new PostHogClient({
      host: ph.url,
      projectId: ph.projectId + 41,
      personalApiKey: ph.personalApiKey,
      rateLimits: false,
      maxRetries: 0,
    });

    // Act
    const outcomes = await executePlan(
      planBatch(inbound(deleteCommand({ personUuids: [UUID_1] }))),
      wrongProject,
    );

    // Assess
    expect(outcomes.get('m0')).toMatchObject({ status: 'rejected', code: 'http_404' });
    expect(outcomes.get('m0')).toHaveProperty(
      'reason',
      expect.stringMatching(/^bulk_delete failed: .*unknown project/),
    );
    expect(person(ph, 'alice')).toBeDefined();
  });

  it('turns a 429 into retry with the Retry-After delay', async () => {
    const { ph, client } = await setup({ faults: { throttleRate: 1, retryAfterSeconds: 7 } });
    const outcomes = await executePlan(
      planBatch(inbound(deleteCommand({ personUuids: [UUID_1] }))),
      client,
    );
    expect(outcomes.get('m0')).toMatchObject({ status: 'retry', code: 'throttled', delayMs: 7000 });
    expect(person(ph, 'alice')).toBeDefined();
  });

  it('turns an outage into retry, and the lookups that failed into retry for their dependents', async () => {
    const { ph, client } = await setup();
    ph.setOutage(true);
    const plan = planBatch(
      inbound(
        updateCommand({ distinctId: 'alice', set: { plan: 'pro' } }),
        deleteCommand({ distinctIds: ['bob'] }),
        updateCommand({ distinctId: 'bob', set: { plan: 'pro' } }),
      ),
    );
    const outcomes = await executePlan(plan, client);
    expect(outcomes.get('m0')).toMatchObject({ status: 'retry', code: 'http_503' });
    expect(outcomes.get('m1')).toMatchObject({ status: 'retry', code: 'http_503' });
    expect(outcomes.get('m2')).toMatchObject({ status: 'retry', code: 'depends_on_delete' });
  });

  it('applies a change skipped because its person was deleted once the delete is applied', async () => {
    const { client } = await setup();
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['bob'] }),
        updateCommand({ distinctId: 'bob', set: { plan: 'pro' } }),
      ),
    );
    expect(plan.skipped.map((s) => s.messageId)).toEqual(['m1']);
    const outcomes = await executePlan(plan, client);
    expect(outcomes.get('m1')).toEqual({ status: 'applied' });
  });

  it('starts nothing past the deadline: every message retries with code deadline', async () => {
    const { ph, client } = await setup();
    const plan = planBatch(
      inbound(
        deleteCommand({ distinctIds: ['bob'] }),
        updateCommand({ distinctId: 'alice', set: { plan: 'pro' } }),
      ),
    );
    const outcomes = await executePlan(plan, client, { deadline: 1_000, now: () => 2_000 });
    const expected: Outcome = {
      status: 'retry',
      code: 'deadline',
      delayMs: 0,
      reason: expect.stringContaining(
        'was not started before the invocation deadline',
      ) as unknown as string,
    };
    expect(Object.fromEntries(outcomes)).toEqual({ m0: expected, m1: expected });
    expect(ph.state.requestLog).toHaveLength(0);
  });

  it('keeps the code of the failure whose retries the deadline cut short, so the batch loop backs off', async () => {
    // Prepare: PostHog answers 503; the client would back off 5 s before its retry, which the deadline forbids.
    const { ph, client } = await setup(
      {},
      { maxRetries: 3, backoffBaseMs: 5_000, backoffCapMs: 5_000, random: () => 1 },
    );
    ph.setOutage(true);
    const plan = planBatch(
      inbound({
        type: 'persons.delete',
        time: '2026-11-28T10:00:00Z',
        data: { personUuids: [UUID_1] },
      }),
    );

    // Act
    const outcomes = await executePlan(plan, client, { deadline: Date.now() + 2_000 });

    // Assess
    expect(outcomes.get('m0')).toMatchObject({ status: 'retry', code: 'http_503' });
    expect(ph.state.count({ endpoint: 'persons/bulk_delete' })).toBe(1);
  });

  it('runs the stages it has time for and retries the rest when the deadline passes mid-plan', async () => {
    // Prepare: the executor's clock jumps past the deadline as soon as the first response (stage 0) arrives.
    const deadline = Date.now() + 60_000;
    let clock = Date.now();
    const { ph, client } = await setup(undefined, {
      onResponse: () => {
        clock = deadline + 1;
      },
    });
    const plan = planBatch(
      inbound(
        deleteCommand({ personUuids: [UUID_2] }),
        updateCommand({ uuid: UUID_1, set: { plan: 'pro' } }),
      ),
    );

    // Act
    const outcomes = await executePlan(plan, client, { deadline, now: () => clock });

    // Assess
    expect(outcomes.get('m0')).toEqual({ status: 'applied' });
    expect(outcomes.get('m1')).toMatchObject({ status: 'retry', code: 'deadline', delayMs: 0 });
    expect(ph.state.requestLog.map((r) => r.endpoint)).toEqual(['persons/bulk_delete']);
  });

  it('sends the capture batches of one stage one after another, in plan order', async () => {
    // Prepare: 1,100 merge events of one survivor overflow one capture call, so stage 1 holds two.
    const { ph, client } = await setup();
    const merged = Array.from({ length: 1100 }, (_, i) => `old-${i}`);
    const messages = Array.from({ length: 11 }, (_, i) => ({
      messageId: `m${i}`,
      command: CommandSchema.parse(
        mergeCommand(
          { survivorDistinctId: 'alice', mergedDistinctIds: merged.slice(i * 100, i * 100 + 100) },
          { id: `c${i}` },
        ),
      ),
    }));
    const plan = planBatch(messages);
    const captures = plan.calls.filter((c) => c.endpoint === 'capture_batch');
    expect(captures.map((c) => c.endpoint === 'capture_batch' && c.events.length)).toEqual([
      1000, 100,
    ]);
    expect(captures[0]?.stage).toBe(captures[1]?.stage);
    let inFlight = 0;
    let mostInFlight = 0;
    const sent: string[] = [];
    const watched: PostHogClientLike = {
      batchByDistinctIds: (ids, o) => client.batchByDistinctIds(ids, o),
      bulkDelete: (target, flags, o) => client.bulkDelete(target, flags, o),
      split: (person, body, o) => client.split(person, body, o),
      updateProperty: (person, key, value, o) => client.updateProperty(person, key, value, o),
      updateProperties: (person, properties, o) => client.updateProperties(person, properties, o),
      retrieve: (person, o) => client.retrieve(person, o),
      deleteProperty: (person, key, o) => client.deleteProperty(person, key, o),
      captureBatch: async (events, o) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          await client.captureBatch(events, o);
          sent.push(String(events[0]?.properties?.['alias']));
        } finally {
          inFlight -= 1;
        }
      },
    };

    // Act
    const outcomes = await executePlan(plan, watched, { concurrency: 4 });
    await ph.flush();

    // Assess
    expect(mostInFlight).toBe(1);
    expect(sent).toEqual(['old-0', 'old-1000']);
    expect(new Set([...outcomes.values()].map((o) => o.status))).toEqual(new Set(['applied']));
    expect(ph.state.events.filter((e) => e.event === '$merge_dangerously')).toHaveLength(1100);
  });

  it('rejects merges when the client has no project token', async () => {
    const { ph } = await setup();
    const client = new PostHogClient({
      host: ph.url,
      projectId: ph.projectId,
      personalApiKey: ph.personalApiKey,
      rateLimits: false,
    });
    const outcomes = await executePlan(
      planBatch(inbound(mergeCommand({ survivorDistinctId: 'alice', mergedDistinctIds: ['bob'] }))),
      client,
    );
    expect(outcomes.get('m0')).toEqual({
      status: 'rejected',
      code: 'invalid_request',
      reason: "capture_batch failed: captureBatch needs projectToken (the project's phc_… token)",
    });
  });
});

describe('executePlan: many keys of one person in one call (issue 15, point 1)', () => {
  const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);

  it('sets 100 keys with one PATCH and unsets 100 with one $unset event per found person', async () => {
    // Prepare
    const { ph, client } = await setup();
    ph.seedPersons([
      {
        uuid: '0190a3c2-5b7e-7cde-8f01-000000000010',
        distinctIds: ['dave'],
        properties: Object.fromEntries(keys.map((k) => [k, 'old'])),
      },
      {
        uuid: '0190a3c2-5b7e-7cde-8f01-000000000011',
        distinctIds: ['erin'],
        properties: Object.fromEntries(keys.map((k) => [k, 'old'])),
      },
    ]);
    const messages = inbound(
      updateCommand({ distinctId: 'alice', set: Object.fromEntries(keys.map((k, i) => [k, i])) }),
      updateCommand({ distinctId: 'dave', unset: keys }),
      updateCommand({ uuid: '0190a3c2-5b7e-7cde-8f01-000000000011', unset: keys }),
    );
    const plan = planBatch(messages, { captureUnsets: true });
    const before = ph.state.requests().length;

    // Act
    const outcomes = await executePlan(plan, client);
    await ph.flush();

    // Assert: 4 calls (lookup, retrieve, PATCH, one capture batch) instead of 302.
    expect([...outcomes.values()].map((o) => o.status)).toEqual(['applied', 'applied', 'applied']);
    expect(ph.state.requests().length - before).toBe(4);
    expect(person(ph, 'alice')?.properties).toMatchObject({ k0: 0, k99: 99, plan: 'free' });
    expect(
      Object.keys(person(ph, 'dave')?.properties ?? {}).filter((k) => keys.includes(k)),
    ).toEqual([]);
    expect(
      Object.keys(person(ph, 'erin')?.properties ?? {}).filter((k) => keys.includes(k)),
    ).toEqual([]);
  });

  it('never sends the $unset event of a person that is not there, so capture cannot create one', async () => {
    // Prepare
    const { ph, client } = await setup();
    const messages = inbound(
      updateCommand({ distinctId: 'nobody', unset: ['a', 'b'] }),
      updateCommand({ uuid: '0190a3c2-5b7e-7cde-8f01-0000000000ff', unset: ['a', 'b'] }),
      updateCommand({ distinctId: 'bob', unset: ['plan', 'x'] }),
    );
    const plan = planBatch(messages, { captureUnsets: true });

    // Act
    const outcomes = await executePlan(plan, client);
    await ph.flush();

    // Assert
    expect(outcomes.get('m0')).toMatchObject({ status: 'rejected', code: 'person_not_found' });
    expect(outcomes.get('m1')).toMatchObject({ status: 'rejected', code: 'person_not_found' });
    expect(outcomes.get('m2')).toEqual({ status: 'applied' });
    expect(person(ph, 'nobody')).toBeUndefined();
    expect(ph.state.persons).toHaveLength(3);
    expect(person(ph, 'bob')?.properties).not.toHaveProperty('plan');
  });

  it('falls back to one call per key when PostHog refuses the PATCH for a restricted key', async () => {
    // Prepare: `secret` is not writable, so the combined PATCH answers 400 for every key.
    const { ph, client } = await setup({ restrictedProperties: ['secret'] });
    const messages = inbound(
      updateCommand({ distinctId: 'alice', set: { plan: 'pro', seats: 3 } }),
      updateCommand({ distinctId: 'alice', set: { secret: 'x' } }),
    );
    const plan = planBatch(messages);
    expect(plan.calls.map((c) => c.endpoint)).toEqual([
      'batch_by_distinct_ids',
      'update_properties',
    ]);

    // Act
    const outcomes = await executePlan(plan, client);
    await ph.flush();

    // Assert: only the message writing the restricted key is rejected; the other one applies.
    expect(outcomes.get('m0')).toEqual({ status: 'applied' });
    expect(outcomes.get('m1')).toMatchObject({ status: 'rejected', code: 'http_400' });
    expect(person(ph, 'alice')?.properties).toMatchObject({ plan: 'pro', seats: 3 });
  });
});
