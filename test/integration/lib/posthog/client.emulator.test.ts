import { afterEach, describe, expect, it } from 'vitest';
import {
  isAlreadyDone,
  PostHogClient,
  type PostHogClientOptions,
  PostHogEndpointUnavailableError,
  splitPersonUuid,
} from '../../../../lib/posthog/index.ts';
import {
  type PostHogEmulator,
  type PostHogEmulatorOptions,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';

let emulator: PostHogEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: PostHogEmulatorOptions = {}): Promise<PostHogEmulator> {
  emulator = await startPostHogEmulator(options);
  return emulator;
}

function clientFor(
  emu: PostHogEmulator,
  options: Partial<PostHogClientOptions> = {},
): PostHogClient {
  return new PostHogClient({
    host: emu.url,
    projectId: emu.projectId,
    personalApiKey: emu.personalApiKey,
    projectToken: emu.projectToken,
    ...options,
  });
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('PostHogClient over real HTTP (emulator)', () => {
  it('finds, retrieves, lists (paginated) and exports persons', async () => {
    // Prepare
    const emu = await start({
      seed: {
        persons: ids('p', 5).map((d, i) => ({
          distinctIds: [d, `${d}-alt`],
          properties: { email: `${d}@example.com`, n: i },
        })),
      },
    });
    const client = clientFor(emu);

    // Act
    const found = await client.findByDistinctId('p-3-alt');
    const missing = await client.findByDistinctId('nobody');
    const record = await client.retrieve(found?.uuid ?? '');
    const byPk = await client.retrieve(record.id);
    const listed: string[] = [];
    for await (const person of client.list({ limit: 2 })) listed.push(person.uuid);
    const byEmail: string[] = [];
    for await (const person of client.list({ email: 'p-1@example.com' }))
      byEmail.push(...person.distinct_ids);
    const csv = await client.listCsv({});

    // Assess
    expect(found?.distinct_ids).toEqual(['p-3', 'p-3-alt']);
    expect(missing).toBeNull();
    expect(record).toMatchObject({ uuid: found?.uuid, properties: { n: 3 } });
    expect(typeof record.id).toBe('number');
    expect(byPk.uuid).toBe(record.uuid);
    expect(new Set(listed).size).toBe(5);
    expect(listed).toHaveLength(5);
    expect(emu.state.count({ endpoint: 'persons', method: 'GET' })).toBeGreaterThanOrEqual(5);
    expect(byEmail.sort()).toEqual(['p-1', 'p-1-alt']);
    expect(csv.split('\n')[0]).toContain('distinct_ids');
    expect(csv).toContain('p-4@example.com');
  });

  it('splits (queued), predicts the new uuid, and recognises a repeated split as already done', async () => {
    // Prepare
    const emu = await start({ seed: { persons: [{ distinctIds: ['keep', 'move-1', 'move-2'] }] } });
    const client = clientFor(emu);
    const source = await client.findByDistinctId('keep');
    const sourceUuid = source?.uuid ?? '';

    // Act
    const result = await client.split(sourceUuid, { distinctIdsToSplit: ['move-1'] });
    await emu.flush();
    const moved = await client.retrieve(splitPersonUuid(emu.projectId, 'move-1', sourceUuid));
    const again = await client
      .split(sourceUuid, { distinctIdsToSplit: ['move-1'] })
      .catch((e: unknown) => e);

    // Assess
    expect(result).toEqual({ queued: true });
    expect(moved.distinct_ids).toEqual(['move-1']);
    expect(isAlreadyDone(again, 'split')).toBe(true);
    expect((await client.retrieve(sourceUuid)).distinct_ids.sort()).toEqual(['keep', 'move-2']);
  });

  it('updates a property through a JSON body and deletes one', async () => {
    // Prepare
    const emu = await start({
      seed: { persons: [{ distinctIds: ['u1'], properties: { old: true } }] },
    });
    const client = clientFor(emu);
    const person = await client.findByDistinctId('u1');
    const uuid = person?.uuid ?? '';

    // Act
    const updated = await client.updateProperty(uuid, 'plan', { tier: 'pro', seats: 3 });
    const deleted = await client.deleteProperty(uuid, 'old');
    await emu.flush();

    // Assess
    expect(updated).toEqual({ accepted: true });
    expect(deleted).toEqual({ success: true });
    expect((await client.retrieve(uuid)).properties).toEqual({ plan: { tier: 'pro', seats: 3 } });
    const [call] = emu.state.requests({ endpoint: 'persons/:id/update_property' });
    expect(call?.query).toBeUndefined();
  });

  it('bulk-deletes 2,500 distinct ids in exactly 3 HTTP calls', async () => {
    // Prepare
    const distinctIds = ids('del', 2500);
    const emu = await start({ seed: { persons: distinctIds.map((d) => ({ distinctIds: [d] })) } });
    const client = clientFor(emu);
    const chunks: number[] = [];

    // Act
    const result = await client.bulkDelete(
      { distinctIds },
      { deleteEvents: true, onChunk: (p) => chunks.push(p.idsDone) },
    );

    // Assess
    expect(emu.state.count({ endpoint: 'persons/bulk_delete' })).toBe(3);
    expect(result).toMatchObject({
      personsFound: 2500,
      personsDeleted: 2500,
      personsQueuedForDeletion: 0,
      eventsQueuedForDeletion: true,
      deletionErrors: [],
      calls: 3,
    });
    expect(chunks).toEqual([1000, 2000, 2500]);
    expect(emu.state.persons).toHaveLength(0);
  });

  it('accepts the queued (async) bulk_delete shape and reports deletion errors with their step', async () => {
    // Prepare
    const emu = await start({
      bulkDeleteMode: 'async',
      seed: { persons: [{ distinctIds: ['a'] }, { distinctIds: ['b'] }] },
    });
    const client = clientFor(emu);
    const { a, b } = await client.batchByDistinctIds(['a', 'b']);
    const uuidA = a?.uuid ?? '';
    const uuidB = b?.uuid ?? '';
    emu.failNextDeletion(uuidB, 'tombstone_clickhouse');

    // Act
    const result = await client.bulkDelete({ ids: [uuidA, uuidB] });

    // Assess
    expect(result).toMatchObject({
      personsFound: 2,
      personsDeleted: 0,
      personsQueuedForDeletion: 1,
    });
    expect(result.deletionErrors).toEqual([{ personUuid: uuidB, step: 'tombstone_clickhouse' }]);
  });

  it('looks up 450 distinct ids in 3 batch_by_distinct_ids calls and returns all of them', async () => {
    // Prepare
    const distinctIds = ids('b', 450);
    const emu = await start({ seed: { persons: distinctIds.map((d) => ({ distinctIds: [d] })) } });
    const client = clientFor(emu);

    // Act
    const found = await client.batchByDistinctIds([...distinctIds, 'unknown-id']);

    // Assess
    expect(emu.state.count({ endpoint: 'persons/batch_by_distinct_ids' })).toBe(3);
    expect(Object.keys(found).sort()).toEqual([...distinctIds].sort());
    expect(found['b-449']?.distinct_ids).toEqual(['b-449']);
  });

  it('reads activity (all and per person), cohorts and deletion status', async () => {
    // Prepare
    const emu = await start({
      seed: { persons: [{ distinctIds: ['x'] }, { distinctIds: ['y'] }] },
    });
    const client = clientFor(emu);
    const x = (await client.findByDistinctId('x'))?.uuid ?? '';
    const y = (await client.findByDistinctId('y'))?.uuid ?? '';
    emu.seedCohort({ name: 'Paying', members: [x] });
    await client.updateProperty(x, 'a', 1);
    await client.updateProperty(y, 'a', 2);
    await client.bulkDelete({ ids: [y] }, { deleteEvents: true });

    // Act
    const all: string[] = [];
    for await (const entry of client.activity({ limit: 1 })) all.push(entry.activity);
    const ofX: string[] = [];
    for await (const entry of client.activity({ person: x })) ofX.push(entry.activity);
    const cohorts = await client.cohorts(x);
    const pending: string[] = [];
    for await (const row of client.deletionStatus({ status: 'pending' }))
      pending.push(row.person_uuid);
    emu.completeAsyncDeletions();
    const completed: string[] = [];
    for await (const row of client.deletionStatus({ status: 'completed', personUuid: y })) {
      completed.push(row.status);
    }

    // Assess
    expect(all).toEqual(['deleted', 'updated', 'updated']);
    expect(ofX).toEqual(['updated']);
    expect(cohorts).toEqual([expect.objectContaining({ name: 'Paying' })]);
    expect(pending).toEqual([y]);
    expect(completed).toEqual(['completed']);
  });

  it('pages funnel and correlation persons over GET and POST', async () => {
    // Prepare
    const people = ids('f', 5);
    // The routes answer only on older self-hosted PostHog (before PR #51237 and PR #73064).
    const emu = await start({
      funnelRoutes: 'legacy',
      seed: { persons: people.map((d) => ({ distinctIds: [d] })) },
    });
    emu.seedEvents(
      people.flatMap((d, i) => [
        { event: 'signup', distinctId: d },
        ...(i < 3 ? [{ event: 'pay', distinctId: d }] : []),
        ...(i < 2 ? [{ event: 'invite', distinctId: d }] : []),
      ]),
    );
    const client = clientFor(emu);
    const funnel = {
      events: [
        { id: 'signup', type: 'events', order: 0 },
        { id: 'pay', type: 'events', order: 1 },
      ],
      funnel_step: 2,
      limit: 2,
    };

    // Act
    const collect = async (it: AsyncIterable<{ uuid: string }>) => {
      const out: string[] = [];
      for await (const p of it) out.push(p.uuid);
      return out;
    };
    const viaGet = await collect(client.funnel(funnel));
    const viaPost = await collect(client.funnel(funnel, { method: 'POST' }));
    const page = await client.funnelPage({ ...funnel, funnel_step: 1, limit: 100 });
    const correlation = {
      events: funnel.events,
      funnel_correlation_person_entity: { id: 'invite', type: 'events' },
      funnel_correlation_person_converted: 'true',
      funnel_correlation_person_limit: 1,
    };
    const corrGet = await collect(client.funnelCorrelation(correlation));
    const corrPost = await collect(client.funnelCorrelation(correlation, { method: 'POST' }));

    // Assess
    expect(viaGet).toHaveLength(3);
    expect(new Set(viaPost)).toEqual(new Set(viaGet));
    expect(page.results[0]?.count).toBe(5);
    expect(corrGet).toHaveLength(2);
    expect(new Set(corrPost)).toEqual(new Set(corrGet));
    expect(emu.state.count({ endpoint: 'persons/funnel', method: 'POST' })).toBe(2);
  });

  it('explains that funnel routes refuse scoped personal keys, without retrying', async () => {
    // Prepare: PostHog between PR #51237 (2026-03-17) and PR #73064 (2026-07-23); the default key has ["*"]
    const emu = await start({ funnelRoutes: 'refused' });
    const client = clientFor(emu);

    // Act
    const error = await client.funnelPage({ funnel_step: 1, events: [] }).catch((e: unknown) => e);
    const corr = await client
      .funnelCorrelationPage({ events: [] }, { method: 'POST' })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(PostHogEndpointUnavailableError);
    expect(error).toMatchObject({ reason: 'personal_api_key_refused', status: 403 });
    expect((error as Error).message).toMatch(/refuses personal API keys/);
    expect(corr).toBeInstanceOf(PostHogEndpointUnavailableError);
    expect(emu.state.count({ status: 403 })).toBe(2);
  });

  it('explains that current PostHog removed the funnel routes (the default), for 400, 405 and 404, without retrying', async () => {
    // Prepare
    const emu = await start();
    const client = clientFor(emu);

    // Act
    const viaGet = await client.funnelPage({ funnel_step: 1, events: [] }).catch((e: unknown) => e);
    const viaPost = await client
      .funnelPage({ funnel_step: 1, events: [] }, { method: 'POST' })
      .catch((e: unknown) => e);
    const corr = await client.funnelCorrelationPage({ events: [] }).catch((e: unknown) => e);

    // Assess
    for (const [error, status] of [
      [viaGet, 400],
      [viaPost, 405],
      [corr, 404],
    ] as const) {
      expect(error).toBeInstanceOf(PostHogEndpointUnavailableError);
      expect(error).toMatchObject({ reason: 'removed', status });
      expect((error as Error).message).toMatch(/not available on this instance/);
      expect((error as Error).message).toMatch(/PR #73064/);
    }
    expect(emu.state.requestLog).toHaveLength(3);
  });

  it('captures, batches and merges with the project token on the capture route', async () => {
    // Prepare
    const emu = await start({
      seed: {
        persons: [
          { distinctIds: ['crm-1'], properties: { a: 1 } },
          { distinctIds: ['crm-2'], properties: { b: 2 } },
        ],
      },
    });
    const client = clientFor(emu);

    // Act
    await client.capture({ event: '$set', distinctId: 'crm-1', properties: { $set: { c: 3 } } });
    await client.captureBatch([
      { event: '$set', distinctId: 'crm-2', properties: { $set: { d: 4 } } },
      { event: 'clicked', distinctId: 'crm-2' },
    ]);
    await client.mergeDangerously({ survivorDistinctId: 'crm-1', mergedDistinctId: 'crm-2' });
    await emu.flush();

    // Assess
    const survivor = await client.findByDistinctId('crm-2');
    expect(survivor?.distinct_ids.sort()).toEqual(['crm-1', 'crm-2']);
    expect(survivor?.properties).toMatchObject({ a: 1, b: 2, c: 3, d: 4 });
    expect(emu.state.count({ endpoint: 'capture', status: 200 })).toBe(2);
    expect(emu.state.count({ endpoint: 'batch', status: 200 })).toBe(1);
  });

  it('sends 600 splits through the limiter against time-scaled limits and receives zero 429s', async () => {
    // Prepare: the emulator lives 60 minutes per real minute; the limiter's windows shrink alike
    // (rateLimits.timeScale), so both count the same 240-per-minute budget over 1-second windows.
    const emu = await start({
      timeScale: 60,
      seed: { persons: ids('s', 600).map((d) => ({ distinctIds: [d, `${d}-b`] })) },
    });
    const client = clientFor(emu, { rateLimits: { timeScale: 60 } });
    const uuids = emu.state.persons.map((p) => p.uuid);

    // Act
    const results = await Promise.all(uuids.map((uuid) => client.split(uuid)));

    // Assess
    expect(results).toHaveLength(600);
    expect(emu.state.count({ endpoint: 'persons/:id/split', status: 201 })).toBe(600);
    expect(emu.state.count({ status: 429 })).toBe(0);
  });

  it('without the limiter, going over the budget does collect 429s (so the test above can fail)', async () => {
    // Prepare: 20 per (real) minute, so 30 quick calls overrun it whatever the machine's speed.
    const emu = await start({
      rateLimits: { otherPerMinute: 20 },
      seed: { persons: ids('s', 30).map((d) => ({ distinctIds: [d, `${d}-b`] })) },
    });
    const client = clientFor(emu, { rateLimits: false, maxRetries: 0 });

    // Act
    const outcomes = await Promise.allSettled(emu.state.persons.map((p) => client.split(p.uuid)));

    // Assess
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(10);
    expect(emu.state.count({ status: 429 })).toBe(10);
  });
});
