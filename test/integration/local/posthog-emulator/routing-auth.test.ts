import { describe, expect, it } from 'vitest';
import { apiClient, call, emulator } from './helpers.ts';

describe('PostHog emulator routing (§1.1)', () => {
  it('serves the persons viewset under projects, environments, @current and the legacy /api/person/ route', async () => {
    // Prepare
    const ph = await emulator({ projectId: 3 });
    ph.seedPersons([{ distinctIds: ['r1'] }]);
    const headers = { Authorization: `Bearer ${ph.personalApiKey}` };
    const paths = [
      '/api/projects/3/persons/',
      '/api/projects/3/persons',
      '/api/environments/3/persons/',
      '/api/projects/@current/persons/',
      '/api/person/',
    ];

    // Act
    const replies = await Promise.all(paths.map((p) => call(`${ph.url}${p}`, { headers })));

    // Assess
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    for (const r of replies) expect(r.json.results).toHaveLength(1);
  });

  it('answers 404 "Project not found." for a non-numeric or unknown project and 404 for unknown routes', async () => {
    // Prepare
    const ph = await emulator();
    const headers = { Authorization: `Bearer ${ph.personalApiKey}` };

    // Act
    const word = await call(`${ph.url}/api/projects/abc/persons/`, { headers });
    const unknownTeam = await call(`${ph.url}/api/projects/999/persons/`, { headers });
    const unknownRoute = await call(`${ph.url}/api/projects/1/persons/x/y/z/`, { headers });

    // Assess
    expect(word.status).toBe(404);
    expect(word.json.detail).toBe('Project not found.');
    expect(unknownTeam.status).toBe(404);
    expect(unknownRoute.status).toBe(404);
  });

  it('refuses POST persons/ with the custom 405, other content types with 415 and bad JSON with 400', async () => {
    // Prepare
    const ph = await emulator();
    const api = apiClient(ph);

    // Act
    const create = await api('POST', 'persons/', { distinct_ids: ['x'] });
    const textPlain = await call(`${ph.url}/api/projects/1/persons/bulk_delete/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ph.personalApiKey}`, 'Content-Type': 'text/plain' },
      rawBody: 'ids=1',
    });
    const badJson = await call(`${ph.url}/api/projects/1/persons/bulk_delete/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ph.personalApiKey}`, 'Content-Type': 'application/json' },
      rawBody: '{"ids": [',
    });

    // Assess
    expect(create.status).toBe(405);
    expect(create.json).toMatchObject({ type: 'invalid_request', code: 'method_not_allowed' });
    expect(create.json.detail).toMatch(/^Creating persons via this API is not allowed\./);
    expect(textPlain.status).toBe(415);
    expect(textPlain.json.code).toBe('unsupported_media_type');
    expect(badJson.status).toBe(400);
    expect(badJson.json.code).toBe('parse_error');
  });
});

describe('PostHog emulator authentication and scopes (§1.2, §1.3)', () => {
  it('finds the key in the Bearer header, the body or the query string, and names the source when it is invalid', async () => {
    // Prepare
    const ph = await emulator();
    const base = `${ph.url}/api/projects/1/persons`;

    // Act
    const none = await call(`${base}/`);
    const badHeader = await call(`${base}/`, { headers: { Authorization: 'Bearer phx_wrong' } });
    const badBody = await call(`${base}/batch_by_distinct_ids/`, {
      method: 'POST',
      body: { personal_api_key: 'phx_wrong', distinct_ids: [] },
    });
    const badQuery = await call(`${base}/?personal_api_key=phx_wrong`);
    const goodBody = await call(`${base}/batch_by_distinct_ids/`, {
      method: 'POST',
      body: { personal_api_key: ph.personalApiKey, distinct_ids: [] },
    });
    const goodQuery = await call(`${base}/?personal_api_key=${ph.personalApiKey}`);
    // An OAuth token (pha_) is skipped, so the body key is used.
    const oauthThenBody = await call(`${base}/batch_by_distinct_ids/`, {
      method: 'POST',
      headers: { Authorization: 'Bearer pha_oauth' },
      body: { personal_api_key: ph.personalApiKey, distinct_ids: [] },
    });

    // Assess
    expect(none.status).toBe(401);
    expect(none.json).toEqual({
      type: 'authentication_error',
      code: 'not_authenticated',
      detail: 'Authentication credentials were not provided.',
      attr: null,
    });
    expect(badHeader.json).toEqual({
      type: 'authentication_error',
      code: 'authentication_failed',
      detail: 'Personal API key found in request Authorization header is invalid.',
      attr: null,
    });
    expect(badBody.json.detail).toBe('Personal API key found in request body is invalid.');
    expect(badQuery.json.detail).toBe('Personal API key found in request query string is invalid.');
    expect([goodBody.status, goodQuery.status, oauthThenBody.status]).toEqual([200, 200, 200]);
  });

  it('enforces required scopes, :write implying :read, project limits and the current reading of null scopes', async () => {
    // Prepare
    const ph = await emulator({ seed: { teams: [2] } });
    const [p] = ph.seedPersons([{ distinctIds: ['s'] }]);
    const read = ph.addApiKey({ scopes: ['person:read'] });
    const write = ph.addApiKey({ scopes: ['person:write'] });
    const onlyTeam2 = ph.addApiKey({ scopes: ['*'], projects: [2] });
    const currentNull = ph.addApiKey({ scopes: null, legacy: false });

    // Act
    const readDelete = await apiClient(ph, read)('POST', 'persons/bulk_delete/', {
      ids: [p?.uuid],
    });
    const writeList = await apiClient(ph, write)('GET', 'persons/');
    const readActivity = await apiClient(ph, read)('GET', 'persons/activity/');
    const readCohorts = await apiClient(ph, read)('GET', `persons/cohorts/?person_id=${p?.uuid}`);
    const wrongProject = await apiClient(ph, onlyTeam2)('GET', 'persons/');
    const rightProject = await apiClient(ph, onlyTeam2, 2)('GET', 'persons/');
    const nullKey = await apiClient(ph, currentNull)('GET', 'persons/');

    // Assess
    expect(readDelete.status).toBe(403);
    expect(readDelete.json).toEqual({
      type: 'authentication_error',
      code: 'permission_denied',
      detail: "API key missing required scope 'person:write'",
      attr: null,
    });
    expect(writeList.status).toBe(200);
    expect(readActivity.json.detail).toBe("API key missing required scope 'activity_log:read'");
    expect(readCohorts.json.detail).toBe("API key missing required scope 'cohort:read'");
    expect(wrongProject.json.detail).toBe(
      'API key does not have access to the requested project: ID 1.',
    );
    expect(rightProject.status).toBe(200);
    expect(nullKey.status).toBe(403);
  });
});

describe('PostHog emulator async bulk-delete mode (§4, PERSON_BULK_DELETE_ASYNC)', () => {
  it('answers persons_queued_for_deletion with persons_deleted 0, errors with a step, and deletes later', async () => {
    // Prepare
    const ph = await emulator({ bulkDeleteMode: 'async', asyncDeleteDelayMs: 60_000 });
    const [a, b] = ph.seedPersons([{ distinctIds: ['a'] }, { distinctIds: ['b'] }]);
    ph.failNextDeletion(b?.uuid ?? '', 'tombstone_clickhouse');

    // Act
    const res = await apiClient(ph)('POST', 'persons/bulk_delete/', { ids: [a?.uuid, b?.uuid] });
    const beforeTask = ph.state.personByUuid(a?.uuid ?? '');
    await ph.flush();

    // Assess
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      persons_found: 2,
      persons_deleted: 0,
      persons_queued_for_deletion: 1,
      events_queued_for_deletion: false,
      recordings_queued_for_deletion: false,
      deletion_errors: [{ person_uuid: b?.uuid, step: 'tombstone_clickhouse' }],
    });
    expect(beforeTask).toBeDefined();
    expect(ph.state.personByUuid(a?.uuid ?? '')).toBeUndefined();
    expect(ph.state.personByUuid(b?.uuid ?? '')).toBeDefined();
  });

  it('a single DELETE whose deletion fails answers 503 person_deletion_failed', async () => {
    // Prepare
    const ph = await emulator();
    const [p] = ph.seedPersons([{ distinctIds: ['x'] }]);
    ph.failNextDeletion(p?.uuid ?? '');

    // Act
    const failed = await apiClient(ph)('DELETE', `persons/${p?.uuid}/`);
    const retried = await apiClient(ph)('DELETE', `persons/${p?.uuid}/`);

    // Assess
    expect(failed.status).toBe(503);
    expect(failed.json.code).toBe('person_deletion_failed');
    expect(retried.status).toBe(202);
  });
});

describe('PostHog emulator list extras', () => {
  it('search, properties filters and format=csv', async () => {
    // Prepare
    const ph = await emulator();
    ph.seedPersons([
      { distinctIds: ['u1'], properties: { email: 'ada@example.com', plan: 'pro' } },
      { distinctIds: ['u2'], properties: { email: 'bob@example.com', plan: 'free' } },
    ]);
    const api = apiClient(ph);
    const filter = encodeURIComponent(
      JSON.stringify([{ key: 'plan', value: 'pro', type: 'person' }]),
    );

    // Act
    const search = await api('GET', 'persons/?search=ADA');
    const byDistinct = await api('GET', 'persons/?search=u2');
    const props = await api('GET', `persons/?properties=${filter}`);
    const badProps = await api('GET', 'persons/?properties=not-json');
    const csv = await api('GET', 'persons/?format=csv');

    // Assess
    expect(search.json.results.map((r: { distinct_ids: string[] }) => r.distinct_ids[0])).toEqual([
      'u1',
    ]);
    expect(
      byDistinct.json.results.map((r: { distinct_ids: string[] }) => r.distinct_ids[0]),
    ).toEqual(['u2']);
    expect(props.json.results.map((r: { distinct_ids: string[] }) => r.distinct_ids[0])).toEqual([
      'u1',
    ]);
    expect(badProps.status).toBe(500);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.split('\r\n')[0]).toContain('properties.email');
    expect(csv.text).toContain('bob@example.com');
  });
});
