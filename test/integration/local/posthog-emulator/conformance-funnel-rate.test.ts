import { describe, expect, it } from 'vitest';
import type { PostHogEmulator, SeedEvent } from '../../../../local/posthog-emulator/index.ts';
import { apiClient, call, emulator } from './helpers.ts';

// Section 12 of the PostHog behaviour reference, scenarios 42–47 (funnel persons, correlation, throttles).

/**
 * The funnel routes answer only on older self-hosted PostHog (before PR #51237 gave legacy keys `["*"]` and PR #73064
 * removed the routes), so the funnel scenarios opt into that explicitly.
 */
const LEGACY_FUNNELS = { funnelRoutes: 'legacy' } as const;

const STEPS = [
  { id: 'sign up', type: 'events', order: 0 },
  { id: 'play movie', type: 'events', order: 1 },
  { id: 'buy', type: 'events', order: 2 },
];
const DAY = '2021-05-01';
const at = (hour: number) => `2021-05-01T${String(hour).padStart(2, '0')}:00:00Z`;

/** Persons `prefix_0..n-1`, each doing the first `steps` funnel steps (with `props` on every event). */
const journeys = (
  ph: PostHogEmulator,
  prefix: string,
  n: number,
  steps: number,
  props: Record<string, string> = {},
) => {
  const events: SeedEvent[] = [];
  for (let i = 0; i < n; i++) {
    ph.seedPersons([
      { distinctIds: [`${prefix}_${i}`], properties: { email: `${prefix}_${i}@x.com` } },
    ]);
    for (let s = 0; s < steps; s++) {
      events.push({
        event: STEPS[s]?.id ?? '',
        distinctId: `${prefix}_${i}`,
        timestamp: at(s + 1),
        properties: props,
      });
    }
  }
  ph.seedEvents(events);
};

const funnelQuery = (extra: Record<string, string | number>) =>
  new URLSearchParams({
    events: JSON.stringify(STEPS),
    date_from: DAY,
    date_to: '2021-05-10',
    funnel_window_days: '14',
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])),
  }).toString();

describe('PostHog emulator conformance: funnel, correlation, throttles (section 12, #42–#47)', () => {
  it('#42 test_basic_format/test_basic_pagination: 5 people count 5; 110 people page 100 with next, then 10', async () => {
    // Prepare
    const small = await emulator(LEGACY_FUNNELS);
    journeys(small, 'p', 5, 3);
    const big = await emulator(LEGACY_FUNNELS);
    journeys(big, 'q', 110, 1);

    // Act
    const basic = await apiClient(small)(
      'GET',
      `persons/funnel/?${funnelQuery({ funnel_step: 1 })}`,
    );
    const page1 = await apiClient(big)('GET', `persons/funnel/?${funnelQuery({ funnel_step: 1 })}`);
    const page2 = await call(page1.json.next, {
      headers: { Authorization: `Bearer ${big.personalApiKey}` },
    });

    // Assess
    expect(basic.status).toBe(200);
    expect(basic.json.results[0].count).toBe(5);
    expect(basic.json.results[0].people).toHaveLength(5);
    expect(basic.json.results[0].people[0]).toMatchObject({
      type: 'person',
      matched_recordings: [],
      value_at_data_point: null,
    });
    expect(Object.keys(basic.json)).toEqual([
      'results',
      'next',
      'initial',
      'missing_persons',
      'is_cached',
      'last_refresh',
    ]);
    expect(page1.json.results[0].people).toHaveLength(100);
    expect(page1.json.next).toContain('offset=100');
    expect(page2.json.results[0].people).toHaveLength(10);
    expect(page2.json.next).toBeNull();
    const all = [...page1.json.results[0].people, ...page2.json.results[0].people].map(
      (p: { id: string }) => p.id,
    );
    expect(new Set(all).size).toBe(110);
  });

  it('#42 (steps) funnel_step positive counts converted-through, negative counts dropped-off, POST works too', async () => {
    // Prepare
    const ph = await emulator(LEGACY_FUNNELS);
    journeys(ph, 'done', 3, 3);
    journeys(ph, 'two', 2, 2);
    journeys(ph, 'one', 4, 1);
    // Out of order: "play movie" before "sign up" does not count for step 2 in an ordered funnel.
    ph.seedPersons([{ distinctIds: ['backwards'] }]);
    ph.seedEvents([
      { event: 'play movie', distinctId: 'backwards', timestamp: at(1) },
      { event: 'sign up', distinctId: 'backwards', timestamp: at(2) },
    ]);
    const api = apiClient(ph);
    const count = async (step: number) =>
      (await api('GET', `persons/funnel/?${funnelQuery({ funnel_step: step })}`)).json.results[0]
        .count;

    // Act
    const counts = [
      await count(1),
      await count(2),
      await count(3),
      await count(-2),
      await count(-3),
    ];
    const post = await api('POST', 'persons/funnel/', {
      events: STEPS,
      date_from: DAY,
      date_to: '2021-05-10',
      funnel_step: 3,
    });
    const narrowWindow = await api(
      'GET',
      `persons/funnel/?${funnelQuery({ funnel_step: 2, funnel_window_days: 0 })}`,
    );

    // Assess
    expect(counts).toEqual([10, 5, 3, 5, 2]);
    expect(post.json.results[0].count).toBe(3);
    expect(narrowWindow.json.results[0].count).toBe(0);
  });

  it('#43 test_basic_pagination_with_deleted: deleted persons count as missing_persons, page by page', async () => {
    // Prepare
    const ph = await emulator(LEGACY_FUNNELS);
    journeys(ph, 'gone', 20, 1);
    await apiClient(ph)('POST', 'persons/bulk_delete/', {
      distinct_ids: Array.from({ length: 20 }, (_, i) => `gone_${i}`),
    });
    const api = apiClient(ph);

    // Act
    const page1 = await api('GET', `persons/funnel/?${funnelQuery({ funnel_step: 1, limit: 15 })}`);
    const page2 = await call(page1.json.next, {
      headers: { Authorization: `Bearer ${ph.personalApiKey}` },
    });

    // Assess
    expect(page1.json.results[0].people).toEqual([]);
    expect(page1.json.missing_persons).toBe(15);
    expect(page1.json.next).not.toBeNull();
    expect(page2.json.results[0].people).toEqual([]);
    expect(page2.json.missing_persons).toBe(5);
    expect(page2.json.next).toBeNull();
  });

  it('#44 test_breakdowns: funnel_step_breakdown Chrome gives 1 person, Safari 2 (event and person breakdowns)', async () => {
    // Prepare
    const ph = await emulator(LEGACY_FUNNELS);
    journeys(ph, 'chrome', 1, 3, { $browser: 'Chrome' });
    journeys(ph, 'safari', 2, 2, { $browser: 'Safari' });
    const api = apiClient(ph);
    const people = async (extra: Record<string, string | number>) =>
      (
        await api(
          'GET',
          `persons/funnel/?${funnelQuery({ funnel_step: 1, breakdown: '$browser', breakdown_type: 'event', ...extra })}`,
        )
      ).json.results[0].count;

    // Act
    const chrome = await people({ funnel_step_breakdown: 'Chrome' });
    const safari = await people({ funnel_step_breakdown: 'Safari' });
    const safariAtStep3 = await people({ funnel_step_breakdown: 'Safari', funnel_step: 3 });
    const search = await people({ search: 'safari_1@' });

    // Assess
    expect([chrome, safari, safariAtStep3, search]).toEqual([1, 2, 0, 1]);
  });

  it('#45 TestFunnelCorrelationActors.test_pagination: pages of 4, 4, 2 with next null last; converted flag filters', async () => {
    // Prepare
    const ph = await emulator(LEGACY_FUNNELS);
    const events: SeedEvent[] = [];
    for (let i = 0; i < 10; i++) {
      ph.seedPersons([{ distinctIds: [`user_${i}`] }]);
      events.push(
        { event: 'sign up', distinctId: `user_${i}`, timestamp: at(1) },
        { event: 'positive event', distinctId: `user_${i}`, timestamp: at(2) },
        { event: 'play movie', distinctId: `user_${i}`, timestamp: at(3) },
        { event: 'buy', distinctId: `user_${i}`, timestamp: at(4) },
      );
    }
    ph.seedPersons([{ distinctIds: ['dropper'] }]);
    events.push(
      { event: 'sign up', distinctId: 'dropper', timestamp: at(1) },
      { event: 'positive event', distinctId: 'dropper', timestamp: at(2) },
    );
    ph.seedEvents(events);
    const params = (extra: Record<string, string | number>) =>
      funnelQuery({
        funnel_correlation_person_entity: JSON.stringify({ id: 'positive event', type: 'events' }),
        funnel_correlation_person_converted: 'TrUe',
        funnel_correlation_person_limit: 4,
        ...extra,
      });
    const headers = { Authorization: `Bearer ${ph.personalApiKey}` };
    const api = apiClient(ph);

    // Act
    const page1 = await api('GET', `persons/funnel/correlation/?${params({})}`);
    const page2 = await call(page1.json.next, { headers });
    const page3 = await call(page2.json.next, { headers });
    const dropped = await api(
      'GET',
      `persons/funnel/correlation/?${params({ funnel_correlation_person_converted: 'false' })}`,
    );

    // Assess
    expect(page1.json.results[0].people).toHaveLength(4);
    expect(page1.json.next).toContain('funnel_correlation_person_offset=4');
    expect(page2.json.results[0].people).toHaveLength(4);
    expect(page3.json.results[0].people).toHaveLength(2);
    expect(page3.json.next).toBeNull();
    expect(
      dropped.json.results[0].people.map((p: { distinct_ids: string[] }) => p.distinct_ids),
    ).toEqual([['dropper']]);
  });

  it('#45 (scopes) funnel and correlation refuse every scoped key, "*" included; legacy null-scope keys pass', async () => {
    // Prepare
    const ph = await emulator(LEGACY_FUNNELS);
    const star = ph.addApiKey({ scopes: ['*'] });
    const current = ph.addApiKey({ scopes: null, legacy: false });
    const query = funnelQuery({ funnel_step: 1 });

    // Act
    const starFunnel = await apiClient(ph, star)('GET', `persons/funnel/?${query}`);
    const starCorrelation = await apiClient(ph, star)('POST', 'persons/funnel/correlation/', {});
    const currentNull = await apiClient(ph, current)('GET', `persons/funnel/?${query}`);
    const legacy = await apiClient(ph)('GET', `persons/funnel/?${query}`);
    const starList = await apiClient(ph, star)('GET', 'persons/');

    // Assess
    const refused = {
      type: 'authentication_error',
      code: 'permission_denied',
      detail: 'This action does not support personal API key access',
      attr: null,
    };
    expect(starFunnel.status).toBe(403);
    expect(starFunnel.json).toEqual(refused);
    expect(starCorrelation.json).toEqual(refused);
    expect(currentNull.status).toBe(403);
    expect(legacy.status).toBe(200);
    expect(starList.status).toBe(200);
  });

  it('#45 (removed) by default the routes behave as on current PostHog (PR #73064 removed them): 400, 405, 404', async () => {
    // Prepare
    const ph = await emulator();
    const api = apiClient(ph);

    // Act
    const getFunnel = await api('GET', `persons/funnel/?${funnelQuery({ funnel_step: 1 })}`);
    const postFunnel = await api('POST', 'persons/funnel/', {});
    const correlation = await api('GET', 'persons/funnel/correlation/');

    // Assess
    expect(getFunnel.status).toBe(400);
    expect(getFunnel.json.detail).toContain('does not look like a personID');
    expect(postFunnel.status).toBe(405);
    expect(correlation.status).toBe(404);
  });

  it('#46 test_clickhouse_burst_rate_limit/test_rate_limits_are_based_on_api_key_not_user: 6th request 429, per key', async () => {
    // Prepare
    const ph = await emulator({ rateLimits: { otherPerMinute: 5 } });
    const second = ph.addApiKey({ scopes: ['person:read'] });
    const api = apiClient(ph);

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api('GET', 'persons/')).status);
    const otherKey = await apiClient(ph, second)('GET', 'persons/');
    // Capture is never throttled by the API throttles.
    const captured = await call(`${ph.url}/batch/`, {
      method: 'POST',
      body: { api_key: ph.projectToken, batch: [{ event: 'e', properties: { distinct_id: 'x' } }] },
    });

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(otherKey.status).toBe(200);
    expect(captured.status).toBe(200);
    expect(ph.state.count({ endpoint: 'persons', status: 429 })).toBe(1);
  });

  it('#47 test_throttled_exception_with_wait: 429 body and an integer Retry-After that agree', async () => {
    // Prepare
    let now = Date.parse('2026-01-01T00:00:00Z');
    const ph = await emulator({
      now: () => now,
      rateLimits: { deletePerMinute: 1000, deletePerHour: 1 },
    });
    const [a, b] = ph.seedPersons([{ distinctIds: ['a'] }, { distinctIds: ['b'] }]);
    const api = apiClient(ph);
    await api('DELETE', `persons/${a?.uuid}/`);
    now += 3_500_000; // 100 s of the hour left

    // Act
    const hourly = await api('DELETE', `persons/${b?.uuid}/`);
    now += 99_000;
    const lastSecond = await api('DELETE', `persons/${b?.uuid}/`);

    // Assess
    expect(hourly.status).toBe(429);
    expect(hourly.headers.get('retry-after')).toBe('100');
    expect(hourly.json).toEqual({
      type: 'throttled_error',
      code: 'throttled',
      detail: 'Request was throttled. Expected available in 100 seconds.',
      attr: null,
    });
    expect(hourly.headers.get('x-ratelimit-remaining')).toBeNull();
    expect(lastSecond.headers.get('retry-after')).toBe('1');
    expect(lastSecond.json.detail).toBe('Request was throttled. Expected available in 1 second.');
  });
});

describe('PostHog emulator rate limits', () => {
  it('the 241st request in a minute gets 429 with Retry-After, and the request after that wait succeeds (stepped clock)', async () => {
    // Prepare
    let now = Date.parse('2026-01-01T00:00:00Z');
    const ph = await emulator({ now: () => now });
    const api = apiClient(ph);

    // Act
    const first240: number[] = [];
    for (let wave = 0; wave < 6; wave++) {
      const replies = await Promise.all(
        Array.from({ length: 40 }, () =>
          api('POST', 'persons/batch_by_distinct_ids/', { distinct_ids: ['x'] }),
        ),
      );
      first240.push(...replies.map((r) => r.status));
      now += 4_000;
    }
    const refused = await api('GET', 'persons/');
    const retryAfter = Number(refused.headers.get('retry-after'));
    now += retryAfter * 1000;
    const after = await api('GET', 'persons/');

    // Assess
    expect(first240.every((s) => s === 200)).toBe(true);
    expect(refused.status).toBe(429);
    expect(Number.isInteger(retryAfter)).toBe(true);
    // The oldest of the 240 arrived 24 s ago, so the window frees up in 36 s.
    expect(retryAfter).toBe(36);
    expect(refused.headers.get('x-emulator-retry-after-ms')).toBe('36000');
    expect(after.status).toBe(200);
  });

  it('with timeScale 20 a minute lasts 3 real seconds: the 241st is refused and honouring Retry-After succeeds', async () => {
    // Prepare: a stepped real clock, so a loaded machine cannot stretch the 240 requests past the scaled minute
    let now = Date.parse('2026-01-01T00:00:00Z');
    const ph = await emulator({ timeScale: 20, now: () => now });
    const api = apiClient(ph);

    // Act: 240 requests in 6 concurrent waves, all at one real instant, inside the 3 s scaled minute.
    const statuses: number[] = [];
    for (let wave = 0; wave < 6; wave++) {
      const replies = await Promise.all(
        Array.from({ length: 40 }, () => api('GET', 'persons/?limit=1')),
      );
      statuses.push(...replies.map((r) => r.status));
    }
    const refused = await api('GET', 'persons/');
    const retryAfter = Number(refused.headers.get('retry-after'));
    const exactMs = Number(refused.headers.get('x-emulator-retry-after-ms'));
    now += retryAfter * 1000;
    const after = await api('GET', 'persons/');

    // Assess
    expect(statuses.filter((s) => s === 200)).toHaveLength(240);
    expect(refused.status).toBe(429);
    // The scaled minute is 3 real seconds and all 240 arrived at the same instant.
    expect(retryAfter).toBe(3);
    expect(exactMs).toBe(3000);
    expect(Number(refused.headers.get('x-emulator-retry-after-scaled'))).toBeGreaterThan(
      retryAfter,
    );
    expect(after.status).toBe(200);
  });

  it('deletes have their own 480/min + hourly buckets; the larger wait wins; 401/403 come before 429', async () => {
    // Prepare
    let now = Date.parse('2026-01-01T00:00:00Z');
    const ph = await emulator({
      now: () => now,
      rateLimits: { deletePerMinute: 3, deletePerHour: 5, otherPerMinute: 100 },
    });
    const readOnly = ph.addApiKey({ scopes: ['person:read'] });
    const api = apiClient(ph);
    const del = () => api('POST', 'persons/bulk_delete/', { distinct_ids: ['nobody'] });

    // Act
    const burst = [
      (await del()).status,
      (await del()).status,
      (await del()).status,
      (await del()).status,
    ];
    const listDuringDeleteThrottle = await api('GET', 'persons/');
    now += 61_000;
    const fourth = await del();
    const fifth = await del();
    const badKey = await apiClient(ph, 'phx_nope')('POST', 'persons/bulk_delete/', {
      distinct_ids: ['x'],
    });
    const missingScope = await apiClient(ph, readOnly)('POST', 'persons/bulk_delete/', {
      distinct_ids: ['x'],
    });

    // Assess
    // Like DRF, a request refused by the minute bucket is still recorded by the hour bucket that allowed it,
    // so the hour holds 4 requests after the burst and the 5th allowed one fills it.
    expect(burst).toEqual([202, 202, 202, 429]);
    expect(listDuringDeleteThrottle.status).toBe(200);
    expect(fourth.status).toBe(202);
    expect(fifth.status).toBe(429);
    // Hourly bucket: the first delete frees up 3600 - 61 = 3539 s from now.
    expect(fifth.headers.get('retry-after')).toBe('3539');
    expect(badKey.status).toBe(401);
    expect(missingScope.status).toBe(403);
  });
});
