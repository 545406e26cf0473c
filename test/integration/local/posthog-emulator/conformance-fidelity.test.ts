import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { apiClient, call, capture, emulator } from './helpers.ts';

// Issue 13, one test per point. Each names the PostHog source function or test it follows (PostHog/posthog):
// nodejs/src/worker/ingestion/persons/ (person-merge-service.ts, person-property-service.ts, person-update.ts,
// person-create-service.ts), nodejs/src/utils/event.ts and utils/db/utils.ts, posthog/utils.py, posthog/api/person.py
// with posthog/api/test/test_person.py, and rust/capture.

describe('PostHog emulator fidelity (issue 13)', () => {
  it('1. handleIdentifyOrAlias/mergeDistinctIds (person-merge-service.ts): only a merge of two ids identifies a person', async () => {
    // Prepare
    const ph = await emulator();
    const identified = (id: string) => ph.state.personByDistinctId(id)?.isIdentified;

    // Act
    // What server-side identify() sends: no $anon_distinct_id at all.
    await capture(ph, {
      event: '$identify',
      distinct_id: 'server-user',
      properties: { $set: { a: 1 } },
    });
    // The same id twice, and an illegal id: merge() returns before mergeDistinctIds.
    await capture(ph, {
      event: '$identify',
      distinct_id: 'same',
      properties: { $anon_distinct_id: 'same' },
    });
    await capture(ph, {
      event: '$identify',
      distinct_id: 'with-illegal',
      properties: { $anon_distinct_id: 'undefined' },
    });
    // A real merge: anonymous browsing, then identify.
    await capture(ph, { event: '$pageview', distinct_id: 'anon-1' });
    await capture(ph, {
      event: '$identify',
      distinct_id: 'user-1',
      properties: { $anon_distinct_id: 'anon-1' },
    });
    // An alias onto an id with no person only adds the id, but still marks the target identified.
    await capture(ph, { event: '$pageview', distinct_id: 'visitor' });
    await capture(ph, {
      event: '$create_alias',
      distinct_id: 'visitor',
      properties: { alias: 'crm-9' },
    });
    // Later merges follow isMergeAllowed: an identified source is refused to $identify/$create_alias...
    await capture(ph, { event: '$pageview', distinct_id: 'user-2' });
    await capture(ph, {
      event: '$identify',
      distinct_id: 'user-2',
      properties: { $anon_distinct_id: 'anon-2' },
    });
    await capture(ph, {
      event: '$create_alias',
      distinct_id: 'user-2',
      properties: { alias: 'user-1' },
    });
    const refusedSeparate =
      ph.state.personByDistinctId('user-1')?.uuid !== ph.state.personByDistinctId('user-2')?.uuid;
    // ...and allowed to $merge_dangerously.
    await capture(ph, {
      event: '$merge_dangerously',
      distinct_id: 'user-2',
      properties: { alias: 'user-1' },
    });
    await ph.flush();

    // Assess
    expect(identified('server-user')).toBe(false);
    expect(ph.state.personByDistinctId('server-user')?.properties).toMatchObject({ a: 1 });
    expect(identified('same')).toBe(false);
    expect(identified('with-illegal')).toBe(false);
    expect(identified('user-1')).toBe(true);
    expect(ph.state.personByDistinctId('anon-1')?.uuid).toBe(
      ph.state.personByDistinctId('user-1')?.uuid,
    );
    expect(identified('visitor')).toBe(true);
    expect(ph.state.personByDistinctId('crm-9')?.uuid).toBe(
      ph.state.personByDistinctId('visitor')?.uuid,
    );
    expect(refusedSeparate).toBe(true);
    expect(ph.state.warnings.map((w) => w.type)).toEqual([
      'cannot_merge_with_illegal_distinct_id',
      'cannot_merge_already_identified',
    ]);
    expect([...(ph.state.personByDistinctId('user-2')?.distinctIds ?? [])].sort()).toEqual([
      'anon-1',
      'anon-2',
      'user-1',
      'user-2',
    ]);
  });

  it('2. is_anonymous_id (posthog/utils.py) in PersonSerializer.to_representation and get_person_name_helper', async () => {
    // Prepare: ids in stored order; only five lower-case alphanumeric groups joined by hyphens look anonymous
    const anonymousLooking = '18c4f5d2a1b-0a1b2c3d4e5f6-4c1f-2a3b4c-1f2e3d4c5b6a7';
    const upperUuid = '0190F4A8-7E2B-7C3D-8E4F-A1B2C3D4E5F6';
    const lowerUuid = '0190f4a8-7e2b-7c3d-8e4f-a1b2c3d4e5f7';
    const ph = await emulator();
    const [person] = ph.seedPersons([
      { distinctIds: [anonymousLooking, lowerUuid, upperUuid, 'crm-7'] },
    ]);
    const api = apiClient(ph);

    // Act
    const retrieved = await api('GET', `persons/${person?.uuid}/`);
    const listed = await api('GET', `persons/?distinct_id=crm-7`);

    // Assess: sorted(key=is_anonymous_id) is stable, non-anonymous first
    expect(retrieved.json.distinct_ids).toEqual([upperUuid, 'crm-7', anonymousLooking, lowerUuid]);
    expect(retrieved.json.name).toBe(upperUuid);
    // The list (get_serialized_people) keeps the stored order and names the person the same way.
    expect(listed.json.results[0].distinct_ids).toEqual([
      anonymousLooking,
      lowerUuid,
      upperUuid,
      'crm-7',
    ]);
    expect(listed.json.results[0].name).toBe(upperUuid);
  });

  it('3. personInitialAndUTMProperties, sanitizeEvent, createPerson and computeEventPropertyUpdates: properties made at ingestion', async () => {
    // Prepare
    const ph = await emulator();
    const first = '0190f4a8-0000-7000-8000-000000000001';

    // Act
    await call(`${ph.url}/i/v0/e/`, {
      method: 'POST',
      body: {
        api_key: ph.projectToken,
        event: '$pageview',
        distinct_id: 'visitor',
        uuid: first,
        timestamp: '2026-05-01T10:37:12Z',
        properties: {
          $browser: 'Chrome',
          $current_url: 'https://example.com/a',
          utm_source: 'newsletter',
          utm_campaign: null, // a null goes to $set but never to $set_once
          $set: { $browser: 'Chrome (explicit)', kept: 'inner', both: 'inner' },
        },
        $set: { both: 'top' }, // top-level $set merges over properties.$set and wins
        $unset: ['kept'], // a top-level $unset is never read
      },
    });
    await ph.flush();
    const afterCreate = ph.state.personByDistinctId('visitor');
    const createdRecord = (await apiClient(ph)('GET', 'persons/?distinct_id=visitor')).json
      .results[0];
    await capture(ph, {
      event: '$pageview',
      distinct_id: 'visitor',
      timestamp: '2026-05-01T12:05:00Z',
      properties: {
        $browser: 'Firefox',
        utm_source: 'ads',
        $set: { gone: 1, fresh: 1 },
        $unset: ['gone'],
      },
    });
    await capture(ph, {
      event: '$set',
      distinct_id: 'visitor',
      timestamp: '2026-05-01T13:59:00Z',
      properties: {
        $set: { kept: 'again', fresh: 2 },
        $unset: ['kept', 'fresh'],
        $update_person_last_seen_at: false,
      },
    });
    await capture(ph, {
      event: 'server event',
      distinct_id: 'visitor',
      timestamp: '2026-05-01T11:00:00Z',
      properties: { $is_server: true, $os: 'Linux' },
    });
    await ph.flush();
    const person = (await apiClient(ph)('GET', `persons/${afterCreate?.uuid}/`)).json;

    // Assess
    expect(afterCreate?.properties).toEqual({
      $browser: 'Chrome (explicit)',
      $current_url: 'https://example.com/a',
      utm_source: 'newsletter',
      utm_campaign: null,
      $initial_browser: 'Chrome',
      $initial_current_url: 'https://example.com/a',
      $initial_utm_source: 'newsletter',
      kept: 'inner',
      both: 'top',
      $creator_event_uuid: first,
    });
    expect(person.properties).toMatchObject({
      $browser: 'Firefox',
      $initial_browser: 'Chrome',
      utm_source: 'ads',
      $initial_utm_source: 'newsletter',
    });
    // $set and $unset of one key: a key the person had is removed, a key it did not have is set.
    expect(person.properties).toHaveProperty('gone', 1);
    expect(person.properties).not.toHaveProperty('kept');
    expect(person.properties).not.toHaveProperty('fresh');
    expect(person.properties).not.toHaveProperty('$os');
    // last_seen_at: empty on creation, then the later event's time rounded down to the hour; the opted-out and the
    // older events do not move it.
    expect(createdRecord.last_seen_at).toBeNull();
    expect(person.last_seen_at).toBe('2026-05-01T12:00:00.000Z');
  });

  it('4. extract_compression (rust/capture) and the capture-v1 sender (posthog-node): gzip-js without Content-Encoding, /i/v1/analytics/events', async () => {
    // Prepare
    const ph = await emulator();
    const gzipped = (body: unknown) => gzipSync(Buffer.from(JSON.stringify(body)));
    const post = (path: string, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(`${ph.url}${path}`, { method: 'POST', body, headers });

    // Act
    const batch = await post(
      '/batch/?compression=gzip-js&ver=1.200.0',
      gzipped({
        api_key: ph.projectToken,
        batch: [{ event: 'js', properties: { distinct_id: 'browser' } }],
      }),
      { 'Content-Type': 'text/plain' },
    );
    const single = await post(
      '/e/?compression=gzip',
      gzipped({ token: ph.projectToken, event: 'js2', distinct_id: 'browser' }),
    );
    const lz = await post('/e/?compression=lz64', Buffer.from('N4Ig'));
    const v1Body = {
      created_at: '2026-05-01T00:00:00Z',
      batch: [
        {
          event: 'signup',
          uuid: '0190f4a8-0000-7000-8000-0000000000a1',
          distinct_id: 'v1-user',
          timestamp: '2026-05-01T00:00:00Z',
          options: { process_person_profile: true },
          properties: { $set: { plan: 'pro' } },
        },
        {
          event: '',
          uuid: '0190f4a8-0000-7000-8000-0000000000a2',
          distinct_id: 'v1-user',
          properties: {},
        },
      ],
    };
    const v1 = await post('/i/v1/analytics/events', gzipped(v1Body), {
      Authorization: `Bearer ${ph.projectToken}`,
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    const v1NoToken = await post('/i/v1/analytics/events', Buffer.from(JSON.stringify(v1Body)));
    await ph.flush();

    // Assess
    expect([batch.status, single.status]).toEqual([200, 200]);
    expect(lz.status).toBe(400);
    expect(v1.status).toBe(200);
    expect(await v1.json()).toEqual({
      results: {
        '0190f4a8-0000-7000-8000-0000000000a1': { result: 'ok' },
        '0190f4a8-0000-7000-8000-0000000000a2': {
          result: 'drop',
          details: 'missing event name or distinct_id',
        },
      },
    });
    expect(v1NoToken.status).toBe(401);
    expect(ph.state.events.map((e) => e.event)).toEqual(['js', 'js2', 'signup']);
    expect(ph.state.personByDistinctId('v1-user')?.properties).toMatchObject({ plan: 'pro' });
  });

  it('5. APIScopePermission after PR #51237 and PR #73064: funnel routes gone by default, 403 or served only when asked for', async () => {
    // Prepare
    const current = await emulator();
    const refused = await emulator({ funnelRoutes: 'refused' });
    const legacy = await emulator({
      funnelRoutes: 'legacy',
      seed: { persons: [{ distinctIds: ['x'] }] },
    });
    const query = `events=${encodeURIComponent(JSON.stringify([{ id: 'e', order: 0 }]))}`;

    // Act
    const gone = await apiClient(current)('GET', `persons/funnel/?${query}&funnel_step=1`);
    const goneCorrelation = await apiClient(current)('GET', 'persons/funnel/correlation/');
    const forbidden = await apiClient(refused)('GET', `persons/funnel/?${query}&funnel_step=1`);
    const served = await apiClient(legacy)('GET', `persons/funnel/?${query}&funnel_step=1`);
    const noStep = await apiClient(legacy)('GET', `persons/funnel/?${query}`);
    const badStep = await apiClient(legacy)('POST', 'persons/funnel/', {
      events: [],
      funnel_step: 'one',
    });

    // Assess
    expect(gone.status).toBe(400);
    expect(gone.json.detail).toContain('does not look like a personID');
    expect(goneCorrelation.status).toBe(404);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.detail).toBe('This action does not support personal API key access');
    expect(served.status).toBe(200);
    expect(noStep.status).toBe(400);
    expect(noStep.json).toMatchObject({ type: 'validation_error', attr: 'funnel_step' });
    expect(noStep.json.detail).toMatch(/funnel_step is required/);
    expect(badStep.status).toBe(400);
    expect(current.funnelRoutes).toBe('removed');
  });

  it('6. test_person_property_values, test_csv_export, test_reset_person_distinct_id, and a second project and key for isolation', async () => {
    // Prepare
    const ph = await emulator({
      teams: [{ id: 2, projectToken: 'phc_second_project' }],
      apiKeys: [
        { value: 'phx_second_project_only', scopes: ['person:read'], projects: [2] },
        { value: 'phx_read_only', scopes: ['person:read'] },
      ],
      restrictedProperties: ['ssn'],
    });
    ph.seedPersons([
      {
        distinctIds: ['person_1'],
        properties: { random_prop: 'asdf', 'some other prop': 'with some text' },
      },
      { distinctIds: ['person_2'], properties: { random_prop: 'asdf', $os: 'Windows', ssn: '1' } },
      { distinctIds: ['person_3'], properties: { random_prop: 'qwerty', $os: 'Mac OS X' } },
      { distinctIds: ['person_4'], properties: { something_else: 'qwerty', random_prop: '' } },
    ]);
    await call(`${ph.url}/i/v0/e/`, {
      method: 'POST',
      body: {
        api_key: 'phc_second_project',
        event: 'e',
        distinct_id: 'person_1',
        properties: { $set: { random_prop: 'p2' } },
      },
    });
    await ph.flush();
    const api = apiClient(ph);
    const auth = { Authorization: `Bearer ${ph.personalApiKey}` };

    // Act
    const values = await api('GET', 'persons/values/?key=random_prop');
    const filtered = await api('GET', 'persons/values/?key=random_prop&value=QW');
    const restricted = await api('GET', 'persons/values/?key=ssn');
    const csv = await call(`${ph.url}/api/person.csv`, { headers: auth });
    const csvFiltered = await call(
      `${ph.url}/api/projects/1/persons.csv?properties=${encodeURIComponent(JSON.stringify([{ key: '$os', value: 'Windows', type: 'person' }]))}`,
      { headers: auth },
    );
    const reset = await api('POST', 'persons/reset_person_distinct_id/', {
      distinct_id: 'person_1',
    });
    const resetMissing = await api('POST', 'persons/reset_person_distinct_id/', {});
    const resetReadOnly = await apiClient(ph, 'phx_read_only')(
      'POST',
      'persons/reset_person_distinct_id/',
      {
        distinct_id: 'person_1',
      },
    );
    const secondOwn = await apiClient(
      ph,
      'phx_second_project_only',
      2,
    )('GET', 'persons/values/?key=random_prop');
    const secondOnFirst = await apiClient(ph, 'phx_second_project_only', 1)('GET', 'persons/');

    // Assess
    expect(values.json).toEqual({
      results: [
        { name: 'asdf', count: 2 },
        { name: 'qwerty', count: 1 },
      ],
      refreshing: false,
    });
    expect(values.headers.get('cache-control')).toBe('max-age=10');
    expect(filtered.json.results).toEqual([{ name: 'qwerty', count: 1 }]);
    expect(restricted.json.results).toEqual([]);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.text.trim().split(/\r?\n/)).toHaveLength(5);
    expect(csvFiltered.text.trim().split(/\r?\n/)).toHaveLength(2);
    expect(reset.status).toBe(202);
    expect(reset.text).toBe('');
    expect(ph.state.personByDistinctId('person_1')?.properties).toMatchObject({
      random_prop: 'asdf',
    });
    expect(resetMissing.status).toBe(400);
    expect(resetMissing.json).toEqual({
      type: 'validation_error',
      code: 'invalid_input',
      detail: 'distinct_id is required',
      attr: null,
    });
    expect(resetReadOnly.status).toBe(403);
    expect(ph.apiKeys).toEqual(['phx_second_project_only', 'phx_read_only']);
    expect(secondOwn.json.results).toEqual([{ name: 'p2', count: 1 }]);
    expect(secondOnFirst.status).toBe(403);
    expect(secondOnFirst.json.detail).toBe(
      'API key does not have access to the requested project: ID 1.',
    );
  });
});
