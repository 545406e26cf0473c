import { describe, expect, it } from 'vitest';
import { uuidFromDistinctId } from '../../../../local/posthog-emulator/index.ts';
import { apiClient, call, emulator } from './helpers.ts';

// Section 12 of the PostHog behaviour reference, scenarios 1–41: each test drives the emulator over real HTTP.

const NOT_A_PERSON_ID =
  'The ID provided does not look like a personID. If you are using a distinctId, please use /persons?distinct_id=NOT_A_UUID instead.';

describe('PostHog emulator conformance: persons (section 12, #1–#41)', () => {
  it('#1 test_filter_person_list: distinct_id and email filters return the one person with id == uuid', async () => {
    // Prepare
    const ph = await emulator();
    const [p1, p2] = ph.seedPersons([
      { distinctIds: ['distinct_id', 'another_one'], properties: { email: 'someone@gmail.com' } },
      { distinctIds: ['distinct_id_2'], properties: { email: 'another@gmail.com' } },
    ]);
    const api = apiClient(ph);

    // Act
    const byFirst = await api('GET', 'persons/?distinct_id=distinct_id');
    const bySecond = await api('GET', 'persons/?distinct_id=another_one');
    const byEmail = await api('GET', 'persons/?email=another@gmail.com');
    const noEmail = await api('GET', 'persons/?email=inexistent');
    const noId = await api('GET', 'persons/?distinct_id=inexistent');

    // Assess
    expect(byFirst.status).toBe(200);
    expect(byFirst.json.results).toHaveLength(1);
    expect(byFirst.json.results[0].id).toBe(p1?.uuid);
    expect(bySecond.json.results.map((r: { id: string }) => r.id)).toEqual([p1?.uuid]);
    expect(byEmail.json.results.map((r: { id: string }) => r.id)).toEqual([p2?.uuid]);
    expect(noEmail.json.results).toEqual([]);
    expect(noId.json.results).toEqual([]);
    expect(Object.keys(byFirst.json.results[0])).toEqual([
      'type',
      'id',
      'uuid',
      'created_at',
      'last_seen_at',
      'properties',
      'is_identified',
      'name',
      'distinct_ids',
      'matched_recordings',
      'value_at_data_point',
    ]);
  });

  it("#2 test_cant_see_another_organization_pii_with_filters: only this team's person comes back", async () => {
    // Prepare
    const ph = await emulator({ seed: { teams: [2] } });
    const [mine] = ph.seedPersons([
      { distinctIds: ['distinct_id'], properties: { email: 'a@x.com' } },
    ]);
    ph.seedPersons([
      { distinctIds: ['distinct_id'], properties: { email: 'a@x.com' }, teamId: 2 },
      { distinctIds: ['other_team_only'], teamId: 2 },
    ]);
    const api = apiClient(ph);

    // Act
    const shared = await api('GET', 'persons/?distinct_id=distinct_id');
    const foreign = await api('GET', 'persons/?distinct_id=other_team_only');
    const email = await api('GET', 'persons/?email=a@x.com');

    // Assess
    expect(shared.json.results.map((r: { id: string }) => r.id)).toEqual([mine?.uuid]);
    expect(foreign.json.results).toEqual([]);
    expect(email.json.results).toHaveLength(1);
  });

  it('#3 test_pagination_limit: a ClickHouse-only person makes page 1 hold 9 with next set; created desc; include_total', async () => {
    // Prepare
    const ph = await emulator();
    const base = Date.parse('2026-01-01T00:00:00Z');
    const seeded = ph.seedPersons(
      Array.from({ length: 20 }, (_, i) => ({
        distinctIds: [`person_${i}`],
        createdAt: new Date(base + i * 1000).toISOString(),
        // The newest one exists only in ClickHouse.
        clickhouseOnly: i === 19,
      })),
    );
    const api = apiClient(ph);

    // Act
    const page1 = await api('GET', 'persons/?limit=10');
    const page2 = await call(page1.json.next, {
      headers: { Authorization: `Bearer ${ph.personalApiKey}` },
    });
    const total = await api('GET', 'persons/?limit=10&include_total');

    // Assess
    expect(page1.json.results).toHaveLength(9);
    expect(page1.json.next).toContain('offset=10');
    expect(page1.json.previous).toBeNull();
    expect(page2.json.results).toHaveLength(10);
    expect(page2.json.previous).toContain('offset=0');
    const expectedOrder = seeded
      .filter((p) => !p.clickhouseOnly)
      .reverse()
      .map((p) => p.uuid);
    expect([...page1.json.results, ...page2.json.results].map((r: { id: string }) => r.id)).toEqual(
      expectedOrder,
    );
    expect(total.json.count).toBe(20);
    expect(page1.json).not.toHaveProperty('count');
  });

  it('#4 test_pagination_no_gaps_or_duplicates_when_created_at_is_tied: pages of 2 cover all 7 once', async () => {
    // Prepare
    const ph = await emulator();
    const createdAt = '2026-02-01T00:00:00.000Z';
    const seeded = ph.seedPersons(
      Array.from({ length: 7 }, (_, i) => ({ distinctIds: [`tied_${i}`], createdAt })),
    );
    const api = apiClient(ph);

    // Act
    const seen: string[] = [];
    for (let offset = 0; offset < 8; offset += 2) {
      const page = await api('GET', `persons/?limit=2&offset=${offset}`);
      seen.push(...page.json.results.map((r: { id: string }) => r.id));
    }

    // Assess
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(seeded.map((p) => p.uuid)));
  });

  it('#5 test_retrieve_person(_by_uuid)/_with_useful_error: int id, uuid, distinct_ids; exact 400 detail', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([
      {
        distinctIds: ['0b5a6ac6-1d54-4a4e-b2f4-2b7c8e6f1a11', 'user@x.com'],
        properties: { email: 'user@x.com' },
      },
    ]);
    const api = apiClient(ph);

    // Act
    const byPk = await api('GET', `persons/${p?.id}/`);
    const byUuid = await api('GET', `persons/${p?.uuid}`);
    const bad = await api('GET', 'persons/NOT_A_UUID/');

    // Assess
    expect(byPk.status).toBe(200);
    expect(byPk.json).toEqual({
      id: p?.id,
      name: 'user@x.com',
      distinct_ids: ['user@x.com', '0b5a6ac6-1d54-4a4e-b2f4-2b7c8e6f1a11'],
      properties: { email: 'user@x.com' },
      created_at: p?.createdAt,
      uuid: p?.uuid,
      last_seen_at: null,
    });
    expect(typeof byPk.json.id).toBe('number');
    expect(byUuid.json).toEqual(byPk.json);
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      type: 'validation_error',
      code: 'invalid_input',
      detail: NOT_A_PERSON_ID,
      attr: null,
    });
  });

  it('#6 test_delete_person: 202 empty, repeat 404, activity deleted, no AsyncDeletion, events kept', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['person_1'] }]);
    ph.seedEvents([1, 2, 3].map(() => ({ event: '$pageview', distinctId: 'person_1' })));
    const api = apiClient(ph);

    // Act
    const first = await api('DELETE', `persons/${p?.uuid}/`);
    const second = await api('DELETE', `persons/${p?.uuid}/`);
    const activity = await api('GET', 'persons/activity/');

    // Assess
    expect(first.status).toBe(202);
    expect(first.text).toBe('');
    expect(second.status).toBe(404);
    expect(second.json.detail).toBe('Not found.');
    expect(activity.json.results[0]).toMatchObject({
      activity: 'deleted',
      scope: 'Person',
      item_id: String(p?.id),
      detail: { changes: null, trigger: null, type: null, name: p?.uuid, short_id: null },
    });
    expect(ph.state.asyncDeletions).toEqual([]);
    expect(ph.state.events).toHaveLength(3);
    expect(ph.state.personByUuid(p?.uuid ?? '')).toBeUndefined();
  });

  it('#7 test_delete_person_and_events/_and_recordings: flags queue an AsyncDeletion and a recording deletion', async () => {
    // Prepare
    const ph = await emulator();
    const [a, b] = ph.seedPersons([{ distinctIds: ['a'] }, { distinctIds: ['b'] }]);
    const api = apiClient(ph);

    // Act
    const withEvents = await api('DELETE', `persons/${a?.uuid}/?delete_events=true`);
    // Presence-based flags: "false" still counts (inferred quirk).
    const withBoth = await api(
      'DELETE',
      `persons/${b?.uuid}/?delete_recordings=false&delete_events=false`,
    );

    // Assess
    expect([withEvents.status, withBoth.status]).toEqual([202, 202]);
    expect([withEvents.text, withBoth.text]).toEqual(['', '']);
    expect(ph.state.asyncDeletions.map((r) => [r.personUuid, r.deleteVerifiedAt])).toEqual([
      [a?.uuid, null],
      [b?.uuid, null],
    ]);
    expect(ph.state.recordingDeletions.map((r) => r.personUuid)).toEqual([b?.uuid]);
  });

  it('#8 test_destroy_with_keep_person_param: 202, the person stays, one AsyncDeletion', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['keep_me'] }]);
    const api = apiClient(ph);

    // Act
    const res = await api('DELETE', `persons/${p?.uuid}/?keep_person=true&delete_events=true`);
    const again = await api('DELETE', `persons/${p?.uuid}/?keep_person=true&delete_events=true`);

    // Assess
    expect([res.status, again.status]).toEqual([202, 202]);
    expect(ph.state.personByUuid(p?.uuid ?? '')).toBeDefined();
    expect(ph.state.asyncDeletions).toHaveLength(1);
  });

  it('#9 test_bulk_delete_ids: found 2, deleted 2, events queued; a later DELETE is 404', async () => {
    // Prepare
    const ph = await emulator();
    const [u1, u2] = ph.seedPersons([{ distinctIds: ['x1'] }, { distinctIds: ['x2'] }]);
    const api = apiClient(ph);

    // Act
    const res = await api('POST', 'persons/bulk_delete/', {
      ids: [u1?.uuid, u2?.uuid],
      delete_events: true,
    });
    const later = await api('DELETE', `persons/${u1?.uuid}/`);

    // Assess
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      persons_found: 2,
      persons_deleted: 2,
      events_queued_for_deletion: true,
      recordings_queued_for_deletion: false,
      deletion_errors: [],
    });
    expect(later.status).toBe(404);
    expect(ph.state.asyncDeletions).toHaveLength(2);
  });

  it('#10 test_bulk_delete_distinct_id: found 2, deleted 2, events false, no AsyncDeletion, events kept', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([{ distinctIds: ['anonymous_id', 'person_1'] }, { distinctIds: ['person_2'] }]);
    ph.seedEvents([
      { event: 'e', distinctId: 'person_1' },
      { event: 'e', distinctId: 'person_2' },
    ]);
    const api = apiClient(ph);

    // Act
    const res = await api('POST', 'persons/bulk_delete', {
      distinct_ids: ['anonymous_id', 'person_2'],
    });

    // Assess
    expect(res.json).toEqual({
      persons_found: 2,
      persons_deleted: 2,
      events_queued_for_deletion: false,
      recordings_queued_for_deletion: false,
      deletion_errors: [],
    });
    expect(ph.state.asyncDeletions).toEqual([]);
    expect(ph.state.events).toHaveLength(2);
    expect(ph.state.persons).toEqual([]);
  });

  it('#11 test_bulk_delete_with_keep_person: found 1, deleted 0, events true; person and AsyncDeletion remain', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['kept'] }]);
    const api = apiClient(ph);

    // Act
    const res = await api('POST', 'persons/bulk_delete/', {
      ids: [p?.uuid],
      delete_events: true,
      keep_person: true,
    });
    const repeat = await api('POST', 'persons/bulk_delete/', {
      ids: [p?.uuid],
      delete_events: true,
      keep_person: true,
    });

    // Assess
    expect(res.json).toMatchObject({
      persons_found: 1,
      persons_deleted: 0,
      events_queued_for_deletion: true,
    });
    expect(repeat.json).toMatchObject({ persons_found: 1, events_queued_for_deletion: true });
    expect(ph.state.personByUuid(p?.uuid ?? '')).toBeDefined();
    expect(ph.state.asyncDeletions).toHaveLength(1);
  });

  it('#12 test_bulk_delete_with_recordings: recordings queued, events not', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['rec'] }]);

    // Act
    const res = await apiClient(ph)('POST', 'persons/bulk_delete/', {
      ids: [p?.uuid],
      delete_recordings: true,
    });

    // Assess
    expect(res.json).toMatchObject({
      persons_found: 1,
      persons_deleted: 1,
      events_queued_for_deletion: false,
      recordings_queued_for_deletion: true,
    });
    expect(ph.state.recordingDeletions).toHaveLength(1);
  });

  it('#13 test_bulk_delete_validation_too_many_ids: 1001 ids or distinct_ids give 400 mentioning 1000', async () => {
    // Prepare
    const ph = await emulator();
    const api = apiClient(ph);
    const many = Array.from({ length: 1001 }, () => crypto.randomUUID());

    // Act
    const ids = await api('POST', 'persons/bulk_delete/', { ids: many });
    const distinctIds = await api('POST', 'persons/bulk_delete/', { distinct_ids: many });

    // Assess
    expect(ids.status).toBe(400);
    expect(ids.json).toEqual({
      type: 'validation_error',
      code: 'invalid_input',
      detail: 'You can only pass 1000 ids in one call',
      attr: null,
    });
    expect(distinctIds.status).toBe(400);
    expect(distinctIds.json.detail).toBe('You can only pass 1000 distinct_ids in one call');
  });

  it('#14 test_bulk_delete_validation_missing_ids: 400 naming distinct_ids or ids', async () => {
    // Prepare
    const ph = await emulator();
    const api = apiClient(ph);

    // Act
    const res = await api('POST', 'persons/bulk_delete/', { delete_events: true });
    const empties = await api('POST', 'persons/bulk_delete/', { ids: [], distinct_ids: [] });

    // Assess
    expect(res.status).toBe(400);
    expect(res.json.detail).toBe('You need to specify either distinct_ids or ids');
    expect(res.text).toContain('distinct_ids or ids');
    expect(empties.json.detail).toBe('You need to specify either distinct_ids or ids');
  });

  it('#15 test_bulk_delete_validation_rejects_both_ids_and_distinct_ids: 400 "not both", checked first', async () => {
    // Prepare
    const ph = await emulator();
    const many = Array.from({ length: 1001 }, (_, i) => `d${i}`);

    // Act
    const res = await apiClient(ph)('POST', 'persons/bulk_delete/', {
      ids: [crypto.randomUUID()],
      distinct_ids: many,
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.json.detail).toBe('You must provide either distinct_ids or ids, not both');
  });

  it('#16 test_bulk_delete_no_matching_persons: 202 with found 0 and no AsyncDeletion', async () => {
    // Prepare
    const ph = await emulator();

    // Act
    const res = await apiClient(ph)('POST', 'persons/bulk_delete/', {
      ids: [crypto.randomUUID(), crypto.randomUUID()],
      delete_events: true,
    });

    // Assess
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      persons_found: 0,
      persons_deleted: 0,
      events_queued_for_deletion: false,
      recordings_queued_for_deletion: false,
      deletion_errors: [],
    });
    expect(ph.state.asyncDeletions).toEqual([]);
  });

  it('#17 test_bulk_delete_partial_failure: the failed person is reported with only person_uuid and stays', async () => {
    // Prepare
    const ph = await emulator();
    const [u1, u2] = ph.seedPersons([{ distinctIds: ['f1'] }, { distinctIds: ['f2'] }]);
    ph.failNextDeletion(u1?.uuid ?? '');

    // Act
    const res = await apiClient(ph)('POST', 'persons/bulk_delete/', { ids: [u1?.uuid, u2?.uuid] });

    // Assess
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({
      persons_found: 2,
      persons_deleted: 1,
      deletion_errors: [{ person_uuid: u1?.uuid }],
    });
    expect(res.json.deletion_errors[0]).not.toHaveProperty('detail');
    expect(ph.state.personByUuid(u1?.uuid ?? '')).toBeDefined();
    expect(ph.state.personByUuid(u2?.uuid ?? '')).toBeUndefined();
  });

  it("#18 test_cross_team_isolation: bulk_delete never touches another team's person", async () => {
    // Prepare
    const ph = await emulator({ seed: { teams: [2] } });
    const [mine] = ph.seedPersons([{ distinctIds: ['shared'] }]);
    const [theirs] = ph.seedPersons([{ distinctIds: ['shared'], teamId: 2 }]);

    // Act
    const byDistinct = await apiClient(ph)('POST', 'persons/bulk_delete/', {
      distinct_ids: ['shared'],
    });
    const byForeignUuid = await apiClient(ph)('POST', 'persons/bulk_delete/', {
      ids: [theirs?.uuid],
    });

    // Assess
    expect(byDistinct.json.persons_deleted).toBe(1);
    expect(byForeignUuid.json.persons_found).toBe(0);
    expect(ph.state.personByUuid(mine?.uuid ?? '')).toBeUndefined();
    expect(ph.state.personByUuid(theirs?.uuid ?? '')).toBeDefined();
  });

  it('#19 test_deletion_status_*: pending/completed counts, person_uuid filter, 400s, other teams excluded', async () => {
    // Prepare
    const ph = await emulator({ seed: { teams: [2] } });
    const [a, b] = ph.seedPersons([{ distinctIds: ['a'] }, { distinctIds: ['b'] }]);
    const [other] = ph.seedPersons([{ distinctIds: ['o'], teamId: 2 }]);
    const api = apiClient(ph);
    await api('POST', 'persons/bulk_delete/', { ids: [a?.uuid], delete_events: true });
    ph.completeAsyncDeletions();
    await api('POST', 'persons/bulk_delete/', { ids: [b?.uuid], delete_events: true });
    await apiClient(ph, ph.personalApiKey, 2)('POST', 'persons/bulk_delete/', {
      ids: [other?.uuid],
      delete_events: true,
    });

    // Act
    const all = await api('GET', 'persons/deletion_status/');
    const pending = await api('GET', 'persons/deletion_status/?status=pending');
    const completed = await api('GET', 'persons/deletion_status/?status=completed');
    const one = await api('GET', `persons/deletion_status/?person_uuid=${a?.uuid}`);
    const badStatus = await api('GET', 'persons/deletion_status/?status=invalid');
    const badUuid = await api('GET', 'persons/deletion_status/?person_uuid=not-a-uuid');

    // Assess
    expect(all.json.count).toBe(2);
    expect(Object.keys(all.json)).toEqual(['count', 'next', 'previous', 'results']);
    expect(pending.json.results.map((r: { person_uuid: string }) => r.person_uuid)).toEqual([
      b?.uuid,
    ]);
    expect(completed.json.results).toHaveLength(1);
    expect(completed.json.results[0]).toMatchObject({ person_uuid: a?.uuid, status: 'completed' });
    expect(typeof completed.json.results[0].delete_verified_at).toBe('string');
    expect(one.json.count).toBe(1);
    expect(badStatus.status).toBe(400);
    expect(badStatus.json.attr).toBe('status');
    expect(badUuid.status).toBe(400);
    expect(badUuid.json.attr).toBe('person_uuid');
  });

  it('#20 test_split_people_keep_props: main_distinct_id stays, others go to two new persons, activity split_person', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([
      { distinctIds: ['1', '2', '3'], properties: { $browser: 'whatever', $os: 'Mac OS X' } },
    ]);
    const api = apiClient(ph);

    // Act
    const res = await api('POST', `persons/${p?.uuid}/split/`, { main_distinct_id: '1' });
    await ph.flush();
    const activity = await api('GET', `persons/${p?.uuid}/activity/`);

    // Assess
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ success: true });
    const original = ph.state.personByUuid(p?.uuid ?? '');
    expect(original?.distinctIds).toEqual(['1']);
    expect(original?.properties).toEqual({ $browser: 'whatever', $os: 'Mac OS X' });
    const two = ph.state.personByDistinctId('2');
    const three = ph.state.personByDistinctId('3');
    expect(two?.uuid).not.toBe(three?.uuid);
    expect(two?.distinctIds).toEqual(['2']);
    expect(activity.json.results[0]).toMatchObject({
      activity: 'split_person',
      detail: {
        name: p?.uuid,
        changes: [
          {
            type: 'Person',
            action: 'split',
            field: null,
            before: null,
            after: { distinct_ids: ['1', '2', '3'] },
          },
        ],
      },
    });
  });

  it('#20 (S20) an unchecked main_distinct_id that is not on the person splits every id off', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['1', '2'], properties: { kept: true } }]);
    const [q] = ph.seedPersons([{ distinctIds: ['3', '4'] }]);

    // Act
    const res = await apiClient(ph)('POST', `persons/${p?.uuid}/split/`, {
      main_distinct_id: 'nope',
    });
    const numeric = await apiClient(ph)('POST', `persons/${q?.uuid}/split/`, {
      main_distinct_id: 3,
    });
    await ph.flush();

    // Assess
    expect([res.status, numeric.status]).toEqual([201, 201]);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.distinctIds).toEqual([]);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ kept: true });
    expect(ph.state.personByDistinctId('1')?.uuid).toBe(uuidFromDistinctId(ph.projectId, '1'));
    expect(ph.state.personByUuid(q?.uuid ?? '')?.distinctIds).toEqual([]);
  });

  it('#21 test_split_people_delete_props: no body keeps the first id and the properties', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['1', '2', '3'], properties: { plan: 'pro' } }]);

    // Act
    const res = await apiClient(ph)('POST', `persons/${p?.id}/split/`);
    await ph.flush();

    // Assess
    expect(res.json).toEqual({ success: true });
    expect(ph.state.personByUuid(p?.uuid ?? '')?.distinctIds).toEqual(['1']);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ plan: 'pro' });
    expect(ph.state.personByDistinctId('2')?.properties).toEqual({});
  });

  it('#22 test_split_people_partial_moves_only_specified_ids: only the listed ids move, each to its own person', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([
      { distinctIds: ['keep1', 'keep2', 'move1', 'move2'], properties: { a: 1 } },
    ]);

    // Act
    const res = await apiClient(ph)('POST', `persons/${p?.uuid}/split/`, {
      distinct_ids_to_split: ['move1', 'move2'],
    });
    await ph.flush();

    // Assess
    expect(res.status).toBe(201);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.distinctIds).toEqual(['keep1', 'keep2']);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ a: 1 });
    expect(ph.state.personByDistinctId('move1')?.uuid).toBe(
      uuidFromDistinctId(ph.projectId, 'move1'),
    );
    expect(ph.state.personByDistinctId('move2')?.uuid).toBe(
      uuidFromDistinctId(ph.projectId, 'move2'),
    );
  });

  it('#23 test_split_people_partial_rejects_unknown_distinct_id: 400 names the id, nothing moves', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['a', 'b'] }]);

    // Act
    const res = await apiClient(ph)('POST', `persons/${p?.uuid}/split/`, {
      distinct_ids_to_split: ['zeta', 'b', "it's"],
    });
    await ph.flush();

    // Assess
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      type: 'validation_error',
      code: 'invalid_input',
      detail: `not on this person: ["it's", 'zeta']`,
      attr: 'distinct_ids_to_split',
    });
    expect(ph.state.personByUuid(p?.uuid ?? '')?.distinctIds).toEqual(['a', 'b']);
    expect(ph.state.pendingEffects).toEqual([]);
  });

  it('#24 test_split_people_partial_rejects_combined_with_main_distinct_id/_invalid_payload: 400 each', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['a', 'b'] }]);
    const split = (body: unknown) => apiClient(ph)('POST', `persons/${p?.uuid}/split/`, body);

    // Act
    const combined = await split({ main_distinct_id: 'a', distinct_ids_to_split: ['b'] });
    const emptyList = await split({ distinct_ids_to_split: [] });
    const notList = await split({ distinct_ids_to_split: 'a' });
    const numbers = await split({ distinct_ids_to_split: [1, 2] });

    // Assess
    expect(combined.json).toEqual({
      type: 'validation_error',
      code: 'invalid_input',
      detail: 'main_distinct_id cannot be combined with distinct_ids_to_split',
      attr: null,
    });
    expect(emptyList.json).toMatchObject({
      detail: 'must not be empty',
      attr: 'distinct_ids_to_split',
    });
    expect(notList.json).toMatchObject({
      detail: 'must be a list of strings',
      attr: 'distinct_ids_to_split',
    });
    expect(numbers.json).toMatchObject({
      detail: 'must be a list of strings',
      attr: 'distinct_ids_to_split',
    });
    expect([combined.status, emptyList.status, notList.status, numbers.status]).toEqual([
      400, 400, 400, 400,
    ]);
  });

  it('#25 test_split_by_uuid/test_split_nonexistent_returns_404: 201 by uuid, 404 and nothing queued otherwise', async () => {
    // Prepare
    const ph = await emulator({ splitDelayMs: 60_000, timeScale: 1 });
    const [p] = ph.seedPersons([{ distinctIds: ['a', 'b'] }]);
    const api = apiClient(ph);

    // Act
    const ok = await api('POST', `persons/${p?.uuid}/split/`);
    const pendingAfterOk = ph.state.pendingEffects;
    const missing = await api('POST', `persons/${crypto.randomUUID()}/split/`);

    // Assess
    expect(ok.status).toBe(201);
    expect(ok.json).toEqual({ success: true });
    expect(missing.status).toBe(404);
    expect(ph.state.pendingEffects).toEqual(pendingAfterOk);
    // Until the task runs, the moved id still resolves to the original person.
    expect(ph.state.personByDistinctId('b')?.uuid).toBe(p?.uuid);
    await ph.flush();
    expect(ph.state.personByDistinctId('b')?.uuid).not.toBe(p?.uuid);
  });

  it('#26 test_split_person_clickhouse/_overrides_delete_version: uuid5 persons with version +101', async () => {
    // Prepare
    const ph = await emulator({ projectId: 7 });
    const [p] = ph.seedPersons([{ distinctIds: ['1', '2', '3'] }]);

    // Act
    await apiClient(ph)('POST', `persons/${p?.uuid}/split/`);
    await ph.flush();

    // Assess
    const uuids = ph.state.persons.map((x) => x.uuid).sort();
    // Known answers from Python: uuid.uuid5(UUID("932979b4-…"), "7:2") and "7:3" (PostHog's own call), so
    // the emulator is not checked against its own uuid5.
    expect(uuids).toEqual(
      [
        p?.uuid,
        '84050cb6-2e35-5196-b0a4-168aee030517',
        'f5ade304-d092-59ad-a013-1115b8430fc5',
      ].sort(),
    );
    expect(ph.state.personByDistinctId('2')?.uuid).toBe(uuidFromDistinctId(7, '2'));
    expect(ph.state.personByDistinctId('2')?.version).toBe(101);
  });

  it('#27 test_new_update_single_person_property/_by_numeric_id: 202 empty; $set from distinct_ids[0] applied later', async () => {
    // Prepare
    const ph = await emulator({ ingestionDelayMs: 60_000 });
    const [p] = ph.seedPersons([
      { distinctIds: ['some_distinct_id', 'second'], properties: { a: 1 } },
    ]);
    const api = apiClient(ph);

    // Act
    const byUuid = await api('POST', `persons/${p?.uuid}/update_property/`, {
      key: 'foo',
      value: 'bar',
    });
    const byPk = await api('POST', `persons/${p?.id}/update_property`, { key: 'n', value: 3 });
    const before = ph.state.personByUuid(p?.uuid ?? '')?.properties;
    await ph.flush();

    // Assess
    expect([byUuid.status, byPk.status]).toEqual([202, 202]);
    expect([byUuid.text, byPk.text]).toEqual(['', '']);
    expect(before).toEqual({ a: 1 });
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ a: 1, foo: 'bar', n: 3 });
    const sets = ph.state.events.filter((e) => e.event === '$set');
    expect(sets.map((e) => [e.distinctId, e.properties['$set']])).toEqual([
      ['some_distinct_id', { foo: 'bar' }],
      ['some_distinct_id', { n: 3 }],
    ]);
  });

  it('#28 test_update_person_property_with_null_value: 202 and $set {foo: null}', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['d'], properties: { foo: 'x' } }]);

    // Act
    const res = await apiClient(ph)('POST', `persons/${p?.uuid}/update_property/`, {
      key: 'foo',
      value: null,
    });
    await ph.flush();

    // Assess
    expect(res.status).toBe(202);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ foo: null });
  });

  it('#29 test_update_person_property_missing_value/key_returns_400: the hand-built body with code/detail swapped', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['d'] }]);
    const api = apiClient(ph);

    // Act
    const noValue = await api('POST', `persons/${p?.uuid}/update_property/`, { key: 'foo' });
    const noKey = await api('POST', `persons/${p?.uuid}/update_property/`, { value: 'bar' });

    // Assess
    expect(noValue.status).toBe(400);
    expect(noValue.text).toBe(
      '{"attr":"value","code":"This field is required.","detail":"required","type":"validation_error"}',
    );
    expect(noKey.status).toBe(400);
    expect(noKey.json).toEqual({
      attr: 'key',
      code: 'This field is required.',
      detail: 'required',
      type: 'validation_error',
    });
  });

  it('#30 test_update_multiple_person_properties_validation/test_patch_user_property_activity: PATCH 400 then 202 + activity', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['d'] }]);
    const api = apiClient(ph);

    // Act
    const missing = await api('PATCH', `persons/${p?.uuid}/`, {});
    const ok = await api('PATCH', `persons/${p?.uuid}/`, {
      properties: { plan: 'team', seats: 3 },
    });
    await ph.flush();
    const activity = await api('GET', `persons/${p?.uuid}/activity/`);

    // Assess
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      attr: 'properties',
      code: 'This field is required.',
      detail: 'required',
      type: 'validation_error',
    });
    expect(ok.status).toBe(202);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ plan: 'team', seats: 3 });
    expect(activity.json.results[0]).toMatchObject({
      activity: 'updated',
      detail: {
        changes: [
          { type: 'Person', action: 'changed', field: 'properties', before: null, after: null },
        ],
        name: null,
      },
    });
  });

  it('#31 test_new_delete_person_properties/TestDeleteProperty: 201 and $delete_person_property {$unset:[foo]}; unknown is 404', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['d'], properties: { foo: 1, bar: 2 } }]);
    const api = apiClient(ph);

    // Act
    const res = await api('POST', `persons/${p?.uuid}/delete_property/`, { $unset: 'foo' });
    const unknown = await api('POST', `persons/${crypto.randomUUID()}/delete_property/`, {
      $unset: 'foo',
    });
    await ph.flush();

    // Assess
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ success: true });
    expect(unknown.status).toBe(404);
    const event = ph.state.events.find((e) => e.event === '$delete_person_property');
    expect(event?.properties['$unset']).toEqual(['foo']);
    expect(ph.state.personByUuid(p?.uuid ?? '')?.properties).toEqual({ bar: 2 });
  });

  it('#32 test_batch_by_distinct_ids_happy_path/_missing_ids/_same_person_multiple_ids: only existing ids, shared uuid', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([
      { distinctIds: ['a', 'b'], properties: { email: 'a@x.com' } },
      { distinctIds: ['c'] },
    ]);

    // Act
    const res = await apiClient(ph)('POST', 'persons/batch_by_distinct_ids/', {
      distinct_ids: ['a', 'b', 'missing', 'c'],
    });

    // Assess
    expect(res.status).toBe(200);
    expect(Object.keys(res.json.results).sort()).toEqual(['a', 'b', 'c']);
    expect(res.json.results.a.uuid).toBe(p?.uuid);
    expect(res.json.results.b).toEqual(res.json.results.a);
    expect(typeof res.json.results.a.id).toBe('number');
  });

  it('#33 test_batch_by_distinct_ids_empty_list/_invalid_input: 200 {"results":{}}', async () => {
    // Prepare
    const ph = await emulator();
    const api = apiClient(ph);

    // Act
    const empty = await api('POST', 'persons/batch_by_distinct_ids/', { distinct_ids: [] });
    const invalid = await api('POST', 'persons/batch_by_distinct_ids/', {
      distinct_ids: 'not_a_list',
    });
    const get = await api('GET', 'persons/batch_by_distinct_ids/');

    // Assess
    expect([empty.status, invalid.status]).toEqual([200, 200]);
    expect(empty.json).toEqual({ results: {} });
    expect(invalid.json).toEqual({ results: {} });
    expect(get.status).toBe(405);
  });

  it('#34 test_batch_by_distinct_ids_truncates_at_max_batch_size: the 201st id is dropped silently', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([{ distinctIds: ['id_0'] }, { distinctIds: ['id_200'] }]);
    const ids = Array.from({ length: 201 }, (_, i) => `id_${i}`);

    // Act
    const res = await apiClient(ph)('POST', 'persons/batch_by_distinct_ids/', {
      distinct_ids: ids,
    });

    // Assess
    expect(Object.keys(res.json.results)).toEqual(['id_0']);
  });

  it('#35 test_batch_by_distinct_ids_caps_distinct_ids_at_ten: a person with 12 ids shows 10', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([{ distinctIds: Array.from({ length: 12 }, (_, i) => `many_${i}`) }]);

    // Act
    const res = await apiClient(ph)('POST', 'persons/batch_by_distinct_ids/', {
      distinct_ids: ['many_11'],
    });

    // Assess
    expect(res.json.results.many_11.distinct_ids).toHaveLength(10);
  });

  it("#36 test_batch_by_distinct_ids_cross_team_isolation: another team's id is absent", async () => {
    // Prepare
    const ph = await emulator({ seed: { teams: [2] } });
    ph.seedPersons([{ distinctIds: ['theirs'], teamId: 2 }, { distinctIds: ['mine'] }]);

    // Act
    const res = await apiClient(ph)('POST', 'persons/batch_by_distinct_ids/', {
      distinct_ids: ['theirs', 'mine'],
    });

    // Assess
    expect(Object.keys(res.json.results)).toEqual(['mine']);
  });

  it('#37 test_batch_endpoint_strips_restricted_person_properties: ssn removed, email kept, ssn not writable', async () => {
    // Prepare
    const ph = await emulator({ restrictedProperties: ['ssn'] });
    const [p] = ph.seedPersons([
      { distinctIds: ['r'], properties: { email: 'r@x.com', ssn: '123' } },
    ]);
    const api = apiClient(ph);

    // Act
    const batch = await api('POST', 'persons/batch_by_distinct_ids/', { distinct_ids: ['r'] });
    const list = await api('GET', 'persons/?distinct_id=r');
    const write = await api('POST', `persons/${p?.uuid}/update_property/`, {
      key: 'ssn',
      value: '999',
    });

    // Assess
    expect(batch.json.results.r.properties).toEqual({ email: 'r@x.com' });
    expect(list.json.results[0].properties).toEqual({ email: 'r@x.com' });
    expect(write.status).toBe(400);
    expect(write.json.detail).toBe('You do not have write access to the property "ssn".');
  });

  it('#38 test_person_cohorts/_returns_minimal_fields/_via_nested_project_url: exactly {id,name,count}', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['c1'] }, { distinctIds: ['c2'] }]);
    const c1 = ph.seedCohort({ name: 'cohort1', members: ['c1', 'c2'] });
    ph.seedCohort({ name: 'cohort2', members: ['c1'] });
    ph.seedCohort({ name: 'cohort3', members: ['c1'] });
    ph.seedCohort({ name: 'other', members: ['c2'] });
    const api = apiClient(ph);

    // Act
    const res = await api('GET', `persons/cohorts/?person_id=${p?.uuid}`);
    ph.updateCohort(c1.id, { members: ['c2'] });
    const afterRecalc = await api('GET', `persons/cohorts/?person_id=${p?.id}`);

    // Assess
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([
      { id: c1.id, name: 'cohort1', count: 2 },
      { id: c1.id + 1, name: 'cohort2', count: 1 },
      { id: c1.id + 2, name: 'cohort3', count: 1 },
    ]);
    for (const c of res.json.results) expect(Object.keys(c)).toEqual(['id', 'name', 'count']);
    expect(afterRecalc.json.results.map((c: { name: string }) => c.name)).toEqual([
      'cohort2',
      'cohort3',
    ]);
  });

  it('#39 test_cohorts_nonexistent_person_returns_404', async () => {
    // Prepare
    const ph = await emulator();

    // Act
    const res = await apiClient(ph)('GET', `persons/cohorts/?person_id=${crypto.randomUUID()}`);

    // Assess
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      type: 'invalid_request',
      code: 'not_found',
      detail: 'Not found.',
      attr: null,
    });
  });

  it('#40 _get_person_activity: team-wide and per-person pages with the exact entry shape', async () => {
    // Prepare
    const ph = await emulator({ user: { first_name: 'Ada', email: 'ada@x.com' } });
    const [p, q] = ph.seedPersons([{ distinctIds: ['p1', 'p2'] }, { distinctIds: ['q1'] }]);
    const api = apiClient(ph);
    await api('POST', `persons/${p?.uuid}/update_property/`, { key: 'k', value: 1 });
    await api('POST', `persons/${p?.uuid}/split/`, {});
    await api('DELETE', `persons/${q?.uuid}/`);

    // Act
    const all = await api('GET', 'persons/activity/');
    const mine = await api('GET', `persons/${p?.uuid}/activity/`);
    const paged = await api('GET', 'persons/activity/?limit=2&page=1');
    const page2 = await call(paged.json.next, {
      headers: { Authorization: `Bearer ${ph.personalApiKey}` },
    });

    // Assess
    expect(all.status).toBe(200);
    expect(all.json.total_count).toBe(3);
    expect(all.json.results.map((e: { activity: string }) => e.activity)).toEqual([
      'deleted',
      'split_person',
      'updated',
    ]);
    const entry = all.json.results[0];
    expect(Object.keys(entry)).toEqual([
      'id',
      'user',
      'activity',
      'scope',
      'item_id',
      'detail',
      'created_at',
    ]);
    expect(entry.user).toEqual({ first_name: 'Ada', email: 'ada@x.com' });
    expect(Object.keys(entry.detail)).toEqual(['changes', 'trigger', 'type', 'name', 'short_id']);
    expect(entry.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(mine.json.results.map((e: { activity: string }) => e.activity)).toEqual([
      'split_person',
      'updated',
    ]);
    expect(paged.json.results).toHaveLength(2);
    expect(paged.json.previous).toBeNull();
    expect(page2.json.results).toHaveLength(1);
    expect(page2.json.next).toBeNull();
  });

  it('#41 test_delete_events_only/test_delete_person_events_not_found: 202 empty, person kept; unknown 404', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['ev'] }]);
    const api = apiClient(ph);

    // Act
    const ok = await api('POST', `persons/${p?.uuid}/delete_events/`);
    const missing = await api('POST', `persons/${crypto.randomUUID()}/delete_events/`);

    // Assess
    expect(ok.status).toBe(202);
    expect(ok.text).toBe('');
    expect(ph.state.personByUuid(p?.uuid ?? '')).toBeDefined();
    expect(ph.state.asyncDeletions.map((r) => r.personUuid)).toEqual([p?.uuid]);
    expect(missing.status).toBe(404);
    expect(missing.json.detail).toBe('Not found.');
  });
});
