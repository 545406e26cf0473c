import { describe, expect, it } from 'vitest';
import { DEMO_FUNNEL_EVENTS } from '../../../../local/posthog-emulator/demo-seed.ts';
import { demoSeed } from '../../../../local/posthog-emulator/index.ts';
import { apiClient, call, capture, emulator } from './helpers.ts';

describe('PostHog emulator capture (§11)', () => {
  it('accepts /i/v0/e/, /e, /capture/ and /batch/ with the project token as api_key, token or $token', async () => {
    // Prepare
    const ph = await emulator();

    // Act
    const single = await call(`${ph.url}/i/v0/e/`, {
      method: 'POST',
      body: {
        api_key: ph.projectToken,
        event: 'a',
        distinct_id: 'd1',
        properties: { $set: { x: 1 } },
      },
    });
    const legacy = await call(`${ph.url}/e`, {
      method: 'POST',
      body: { token: ph.projectToken, event: 'b', distinct_id: 'd1' },
    });
    const cap = await call(`${ph.url}/capture/`, {
      method: 'POST',
      body: { event: 'c', properties: { distinct_id: 'd2', $token: ph.projectToken } },
    });
    const batch = await call(`${ph.url}/batch/`, {
      method: 'POST',
      body: {
        api_key: ph.projectToken,
        historical_migration: false,
        batch: [
          { event: 'd', properties: { distinct_id: 'd3' }, timestamp: '2026-01-01T00:00:00Z' },
          { event: 'e', distinct_id: 'd3' },
        ],
      },
    });
    await ph.flush();

    // Assess
    expect([single.status, legacy.status, cap.status, batch.status]).toEqual([200, 200, 200, 200]);
    expect(single.json).toEqual({ status: 1 });
    expect(ph.state.events.map((e) => e.event)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // PersonCreateService.createPerson stamps the uuid of the event that created the person.
    expect(ph.state.personByDistinctId('d1')?.properties).toEqual({
      x: 1,
      $creator_event_uuid: ph.state.events[0]?.uuid,
    });
    expect(ph.state.personByDistinctId('d3')?.createdAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it("answers the Rust capture's errors: 401 no token, 403 unknown token, 400 missing distinct_id or bad JSON", async () => {
    // Prepare
    const ph = await emulator();
    const post = (body: unknown) => call(`${ph.url}/i/v0/e/`, { method: 'POST', body });

    // Act
    const noToken = await post({ event: 'a', distinct_id: 'x' });
    const unknown = await post({ api_key: 'phc_nope', event: 'a', distinct_id: 'x' });
    const noDistinct = await post({ api_key: ph.projectToken, event: 'a' });
    const emptyBatch = await call(`${ph.url}/batch/`, {
      method: 'POST',
      body: { api_key: ph.projectToken, batch: [] },
    });
    const badJson = await call(`${ph.url}/batch/`, {
      method: 'POST',
      rawBody: '{',
      headers: { 'Content-Type': 'application/json' },
    });

    // Assess
    expect(noToken.json).toMatchObject({ status: 401, code: 'ingest_key_required' });
    expect(unknown.json).toMatchObject({ status: 403, code: 'ingest_key_unknown' });
    expect(noDistinct.status).toBe(400);
    expect(emptyBatch.status).toBe(400);
    expect(badJson.status).toBe(400);
    expect(ph.state.events).toEqual([]);
  });

  it('applies $set, $set_once and $unset (array or object) in ingestion, after the ingestion delay', async () => {
    // Prepare
    const ph = await emulator({ ingestionDelayMs: 60_000 });

    // Act
    await capture(ph, {
      event: '$set',
      distinct_id: 'u',
      properties: { $set: { a: 1, b: 2, c: 3 }, $set_once: { first: 'x' } },
    });
    const beforeFlush = ph.state.personByDistinctId('u');
    await capture(ph, {
      event: '$set',
      distinct_id: 'u',
      properties: { $set_once: { first: 'y', a: 9 }, $unset: ['b'] },
    });
    await capture(ph, { event: 'e', distinct_id: 'u', properties: { $unset: { c: null } } });
    await ph.flush();

    // Assess
    expect(beforeFlush).toBeUndefined();
    expect(ph.state.personByDistinctId('u')?.properties).toEqual({
      a: 1,
      first: 'x',
      $creator_event_uuid: ph.state.events[0]?.uuid,
    });
  });
  it("gives a person created by ingestion PostHog's uuid5 of its first distinct id, so a split of that id takes the ':split' uuid", async () => {
    // Prepare
    const ph = await emulator();
    await capture(ph, { event: 'pageview', distinct_id: 'anon-1' });
    await capture(ph, {
      event: '$identify',
      distinct_id: 'user-1',
      properties: { $anon_distinct_id: 'anon-1' },
    });
    await ph.flush();
    const created = ph.state.personByDistinctId('anon-1');

    // Act: move the id that named the person off it
    await apiClient(ph)('POST', `persons/${created?.uuid}/split/`, {
      distinct_ids_to_split: ['anon-1'],
    });
    await ph.flush();

    // Assess: known answers from Python's uuid.uuid5(UUID("932979b4-…"), "1:anon-1") and "1:anon-1:split"
    expect(created?.uuid).toBe('cfa956a0-5af4-51c6-9ef5-cb3c80e09b69');
    expect(ph.state.personByDistinctId('user-1')?.uuid).toBe(
      'cfa956a0-5af4-51c6-9ef5-cb3c80e09b69',
    );
    expect(ph.state.personByDistinctId('anon-1')?.uuid).toBe(
      '50969c23-6154-5465-bcf1-cf1be9128e54',
    );
  });
});

describe('PostHog emulator identity merges (§11, S16)', () => {
  it('$merge_dangerously merges two identified persons: survivor wins conflicts, then the event $set; older created_at', async () => {
    // Prepare
    const ph = await emulator();
    const [survivor, merged] = ph.seedPersons([
      {
        distinctIds: ['crm-1'],
        properties: { email: 's@x.com', plan: 'pro' },
        isIdentified: true,
        createdAt: '2026-03-01T00:00:00Z',
      },
      {
        distinctIds: ['crm-2', 'crm-2b'],
        properties: { email: 'm@x.com', phone: '123' },
        isIdentified: true,
        createdAt: '2026-01-01T00:00:00Z',
      },
    ]);
    ph.seedEvents([
      { event: 'purchase', distinctId: 'crm-2', timestamp: new Date().toISOString() },
    ]);

    // Act
    const res = await capture(ph, {
      event: '$merge_dangerously',
      distinct_id: 'crm-1',
      properties: { alias: 'crm-2', $set: { plan: 'enterprise' } },
    });
    await ph.flush();
    const lookup = await apiClient(ph)('POST', 'persons/batch_by_distinct_ids/', {
      distinct_ids: ['crm-2b'],
    });

    // Assess
    expect(res.status).toBe(200);
    const after = ph.state.personByUuid(survivor?.uuid ?? '');
    expect(after?.distinctIds).toEqual(['crm-1', 'crm-2', 'crm-2b']);
    expect(after?.properties).toEqual({ email: 's@x.com', phone: '123', plan: 'enterprise' });
    expect(after?.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(ph.state.personByUuid(merged?.uuid ?? '')).toBeUndefined();
    expect(lookup.json.results['crm-2b'].uuid).toBe(survivor?.uuid);
  });

  it('merged persons count as one in funnels (events of the merged-away person follow the survivor)', async () => {
    // Prepare: the funnel route answers only on older self-hosted PostHog
    const ph = await emulator({ funnelRoutes: 'legacy' });
    ph.seedPersons([{ distinctIds: ['anon'] }, { distinctIds: ['user'], isIdentified: true }]);
    const now = Date.now();
    ph.seedEvents([
      { event: 'step1', distinctId: 'anon', timestamp: new Date(now - 3_600_000).toISOString() },
      { event: 'step2', distinctId: 'user', timestamp: new Date(now - 1_800_000).toISOString() },
      { event: '$merge_dangerously', distinctId: 'user', properties: { alias: 'anon' } },
    ]);
    const events = encodeURIComponent(JSON.stringify([{ id: 'step1' }, { id: 'step2' }]));

    // Act
    const res = await apiClient(ph)('GET', `persons/funnel/?funnel_step=2&events=${events}`);

    // Assess
    expect(res.json.results[0].count).toBe(1);
    expect(res.json.results[0].people[0].distinct_ids.sort()).toEqual(['anon', 'user']);
  });

  it('$identify merges an anonymous person but refuses an already identified one (cannot_merge_already_identified)', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([
      { distinctIds: ['anon-1'], properties: { seen: true } },
      { distinctIds: ['user-1'], isIdentified: false },
      { distinctIds: ['other-user'], isIdentified: true },
    ]);

    // Act
    await capture(ph, {
      event: '$identify',
      distinct_id: 'user-1',
      properties: { $anon_distinct_id: 'anon-1' },
    });
    await capture(ph, {
      event: '$identify',
      distinct_id: 'user-1',
      properties: { $anon_distinct_id: 'other-user', $set: { k: 1 } },
    });
    await ph.flush();

    // Assess
    expect(ph.state.personByDistinctId('user-1')?.distinctIds).toEqual(['user-1', 'anon-1']);
    expect(ph.state.personByDistinctId('user-1')?.properties).toEqual({ seen: true, k: 1 });
    expect(ph.state.personByDistinctId('user-1')?.isIdentified).toBe(true);
    expect(ph.state.personByDistinctId('other-user')?.distinctIds).toEqual(['other-user']);
    expect(ph.state.warnings.map((w) => w.type)).toEqual(['cannot_merge_already_identified']);
  });

  it('$create_alias adds the alias when only one side has a person, and creates one person when neither has', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([{ distinctIds: ['x'] }]);

    // Act
    await capture(ph, {
      event: '$create_alias',
      distinct_id: 'x',
      properties: { alias: 'y', distinct_id: 'x' },
    });
    await capture(ph, {
      event: '$create_alias',
      distinct_id: 'p',
      properties: { alias: 'q', $set: { new: true } },
    });
    await capture(ph, {
      event: '$create_alias',
      distinct_id: 'same',
      properties: { alias: 'same' },
    });
    await ph.flush();

    // Assess
    expect(ph.state.personByDistinctId('y')?.distinctIds).toEqual(['x', 'y']);
    expect(ph.state.personByDistinctId('q')?.distinctIds).toEqual(['p', 'q']);
    expect(ph.state.personByDistinctId('q')?.properties).toMatchObject({ new: true });
    expect(Object.keys(ph.state.personByDistinctId('q')?.properties ?? {}).sort()).toEqual([
      '$creator_event_uuid',
      'new',
    ]);
    expect(ph.state.personByDistinctId('same')?.distinctIds).toEqual(['same']);
  });

  it('refuses illegal ids (case-insensitive list, case-sensitive list, quoted forms, blank) with a warning', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([{ distinctIds: ['real'], isIdentified: true }]);
    const illegal = [
      'Anonymous',
      '"null"',
      "'guest'",
      '   ',
      'NaN',
      '0',
      '[object Object]',
      'undefined',
      'EMAIL',
    ];

    // Act
    for (const alias of illegal) {
      await capture(ph, {
        event: '$merge_dangerously',
        distinct_id: 'real',
        properties: { alias },
      });
    }
    await capture(ph, {
      event: '$merge_dangerously',
      distinct_id: 'none',
      properties: { alias: 'real' },
    });
    await ph.flush();

    // Assess
    expect(ph.state.personByDistinctId('real')?.distinctIds).toEqual(['real']);
    expect(
      ph.state.warnings.filter((w) => w.type === 'cannot_merge_with_illegal_distinct_id'),
    ).toHaveLength(10);
    // "none" is illegal too: it still gets its own person for the event, but nothing merges.
    expect(ph.state.personByDistinctId('none')?.distinctIds).toEqual(['none']);
  });

  it('drops merge events sent with $process_person_profile: false', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([{ distinctIds: ['a'] }, { distinctIds: ['b'] }]);

    // Act
    await capture(ph, {
      event: '$merge_dangerously',
      distinct_id: 'a',
      properties: { alias: 'b', $process_person_profile: false },
    });
    await ph.flush();

    // Assess
    expect(ph.state.personByDistinctId('b')?.distinctIds).toEqual(['b']);
    expect(ph.state.events).toEqual([]);
  });
});

describe('PostHog emulator demo seed', () => {
  it('serves realistic demo persons, a funnel and two static cohorts', async () => {
    // Prepare
    const ph = await emulator({ seed: demoSeed(), funnelRoutes: 'legacy' });
    const api = apiClient(ph);
    const events = encodeURIComponent(JSON.stringify(DEMO_FUNNEL_EVENTS));

    // Act
    const list = await api('GET', 'persons/?include_total');
    const funnel = await api('GET', `persons/funnel/?funnel_step=1&events=${events}`);
    const ada = await api('GET', 'persons/?email=ada@example.com');
    const cohorts = await api('GET', `persons/cohorts/?person_id=${ada.json.results[0].id}`);

    // Assess
    expect(list.json.count).toBe(12);
    expect(
      list.json.results.filter((p: { is_identified: boolean }) => !p.is_identified).length,
    ).toBeGreaterThan(0);
    expect(funnel.json.results[0].count).toBeGreaterThan(5);
    expect(ada.json.results[0].distinct_ids.length).toBeGreaterThan(1);
    expect(cohorts.json.results.map((c: { name: string }) => c.name)).toEqual([
      'Paying customers',
      'Newsletter subscribers',
    ]);
  });
});
