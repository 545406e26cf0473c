import { describe, expect, it } from 'vitest';
import {
  isIllegalDistinctId,
  PostHogAbortError,
  PostHogClient,
  PostHogConnectionError,
  PostHogDeadlineError,
  PostHogEndpointUnavailableError,
  PostHogNotFoundError,
  PostHogRateLimitError,
  PostHogServerError,
  PostHogTimeoutError,
  PostHogValidationError,
  type ResponseInfo,
  ResponseValidationError,
} from '../../../../lib/posthog/index.ts';
import {
  empty,
  fakeTime,
  hang,
  json,
  networkError,
  PERSON_UUID,
  scriptedFetch,
  TEST_KEY,
  unitClient,
} from './helpers.ts';

const throttled = (seconds: number) =>
  json(
    429,
    {
      type: 'throttled_error',
      code: 'throttled',
      detail: `Request was throttled. Expected available in ${seconds} seconds.`,
      attr: null,
    },
    { 'Retry-After': String(seconds) },
  );
const serverError = () =>
  json(503, {
    type: 'server_error',
    code: 'error',
    detail: 'A server error occurred.',
    attr: null,
  });
const bulkOk = (found: number) =>
  json(202, {
    persons_found: found,
    persons_deleted: found,
    events_queued_for_deletion: false,
    recordings_queued_for_deletion: false,
    deletion_errors: [],
  });

describe('PostHogClient transport: retries', () => {
  it('retries a 429 after exactly its Retry-After', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () => throttled(2),
      () => empty(202),
    );
    const client = unitClient(fetch, time);

    // Act
    const result = await client.updateProperty(PERSON_UUID, 'plan', 'pro');

    // Assess
    expect(result).toEqual({ accepted: true });
    expect(calls).toHaveLength(2);
    expect(time.sleeps).toEqual([2000]);
  });

  it('retries a 503 with full-jitter backoff that grows and is capped', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(serverError, serverError, serverError, () => bulkOk(1));
    const client = unitClient(fetch, time, {
      random: () => 0.999,
      backoffBaseMs: 100,
      backoffCapMs: 250,
    });

    // Act
    const result = await client.bulkDelete({ distinctIds: ['a'] });

    // Assess
    expect(result.personsFound).toBe(1);
    expect(calls).toHaveLength(4);
    expect(time.sleeps).toEqual([99, 199, 249]);
  });

  it('gives up after maxRetries with the last error', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(serverError);
    const client = unitClient(fetch, time, { maxRetries: 2 });

    await expect(client.retrieve(PERSON_UUID)).rejects.toBeInstanceOf(PostHogServerError);
    expect(calls).toHaveLength(3);
  });

  it('times out a hung attempt with its AbortSignal and retries it (GET)', async () => {
    // Prepare
    const time = fakeTime();
    const person = {
      id: 1,
      uuid: PERSON_UUID,
      name: 'a',
      distinct_ids: ['a'],
      properties: {},
      created_at: '2026-01-01T00:00:00Z',
      last_seen_at: null,
    };
    const { fetch, calls } = scriptedFetch(hang(), () => json(200, person));
    const client = unitClient(fetch, time, { timeoutMs: 20 });

    // Act
    const result = await client.retrieve(PERSON_UUID);

    // Assess
    expect(result.uuid).toBe(PERSON_UUID);
    expect(calls).toHaveLength(2);
  });

  it('surfaces PostHogTimeoutError once retries are spent', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(hang());
    const client = unitClient(fetch, time, { timeoutMs: 10, maxRetries: 1 });

    const error = await client.retrieve(PERSON_UUID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostHogTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 10, endpoint: 'retrieve' });
    expect(calls).toHaveLength(2);
  });

  it('does not retry a timed-out split (not idempotent: it may have been queued)', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(hang());
    const client = unitClient(fetch, time, { timeoutMs: 10 });

    await expect(client.split(PERSON_UUID)).rejects.toBeInstanceOf(PostHogTimeoutError);
    expect(calls).toHaveLength(1);
  });

  it('resends a split once, at once, after a connection reset (stale keep-alive socket)', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () => {
        throw networkError('ECONNRESET');
      },
      () => json(201, { success: true }),
    );
    const client = unitClient(fetch, time);

    // Act
    const result = await client.split(PERSON_UUID, { mainDistinctId: 'a' });

    // Assess
    expect(result).toEqual({ queued: true });
    expect(calls).toHaveLength(2);
    expect(time.sleeps).toEqual([]);
  });

  it('resends a reset only once for a split', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => {
      throw networkError('ECONNRESET');
    });
    const client = unitClient(fetch, time);

    const error = await client.split(PERSON_UUID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostHogConnectionError);
    expect(error).toMatchObject({ errorCode: 'ECONNRESET' });
    expect(calls).toHaveLength(2);
  });

  it('resends a reset once even with maxRetries 0', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () => {
        throw networkError('UND_ERR_SOCKET');
      },
      () => bulkOk(0),
    );
    const client = unitClient(fetch, time, { maxRetries: 0 });

    await expect(client.bulkDelete({ distinctIds: ['x'] })).resolves.toMatchObject({ calls: 1 });
    expect(calls).toHaveLength(2);
  });

  it('retries a refused connection for any method (the request never left)', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () => {
        throw networkError('ECONNREFUSED');
      },
      () => {
        throw networkError('ECONNREFUSED');
      },
      () => json(201, { success: true }),
    );
    const client = unitClient(fetch, time);

    await expect(client.split(PERSON_UUID)).resolves.toEqual({ queued: true });
    expect(calls).toHaveLength(3);
  });

  it('retries a throttled split (DRF throttles before the handler runs) but not a 503 split', async () => {
    const time = fakeTime();
    const throttledThenOk = scriptedFetch(
      () => throttled(1),
      () => json(201, { success: true }),
    );
    await expect(unitClient(throttledThenOk.fetch, time).split(PERSON_UUID)).resolves.toEqual({
      queued: true,
    });
    expect(throttledThenOk.calls).toHaveLength(2);

    const failing = scriptedFetch(serverError);
    await expect(unitClient(failing.fetch, time).split(PERSON_UUID)).rejects.toBeInstanceOf(
      PostHogServerError,
    );
    expect(failing.calls).toHaveLength(1);
  });

  it('does not retry a permanent 400', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() =>
      json(400, {
        attr: 'value',
        code: 'This field is required.',
        detail: 'required',
        type: 'validation_error',
      }),
    );
    const client = unitClient(fetch, time);

    // Act
    const error = await client.updateProperty(PERSON_UUID, 'k', 'v').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(PostHogValidationError);
    expect(error).toMatchObject({ status: 400, attr: 'value', code: 'required' });
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('throws a Retry-After above the ceiling to the caller instead of sleeping', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => throttled(120));
    const client = unitClient(fetch, time, { maxRetryAfterMs: 60_000 });

    const error = await client.updateProperty(PERSON_UUID, 'k', 'v').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostHogRateLimitError);
    expect(error).toMatchObject({ retryAfterMs: 120_000 });
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('reports every attempt to onResponse', async () => {
    const time = fakeTime();
    const seen: ResponseInfo[] = [];
    const { fetch } = scriptedFetch(
      () => throttled(1),
      () => empty(202),
    );
    const client = unitClient(fetch, time, { onResponse: (info) => seen.push(info) });

    await client.updateProperty(PERSON_UUID, 'k', 'v');
    expect(seen.map((s) => [s.endpoint, s.method, s.status, s.attempt])).toEqual([
      ['update_property', 'POST', 429, 0],
      ['update_property', 'POST', 202, 1],
    ]);
  });
});

describe('PostHogClient transport: deadlines and aborts', () => {
  it('refuses to start when the deadline is too close, without calling fetch', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => empty(202));
    const client = unitClient(fetch, time);

    const error = await client
      .updateProperty(PERSON_UUID, 'k', 'v', { deadline: time.now() + 20 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostHogDeadlineError);
    expect(calls).toHaveLength(0);
  });

  it('does not sleep past the deadline: it throws with the wait and the last error', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => throttled(5));
    const client = unitClient(fetch, time);

    // Act
    const error = await client
      .updateProperty(PERSON_UUID, 'k', 'v', { deadline: time.now() + 3000 })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(PostHogDeadlineError);
    expect(error).toMatchObject({ retryAfterMs: 5000 });
    expect((error as Error).cause).toBeInstanceOf(PostHogRateLimitError);
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('stops with PostHogAbortError when the caller aborts, and does not retry', async () => {
    const time = fakeTime();
    const controller = new AbortController();
    const { fetch, calls } = scriptedFetch((_request, signal) => {
      const pending = hang()(_request, signal);
      controller.abort(new Error('shutdown'));
      return pending;
    });
    const client = unitClient(fetch, time);

    await expect(
      client.retrieve(PERSON_UUID, { signal: controller.signal }),
    ).rejects.toBeInstanceOf(PostHogAbortError);
    expect(calls).toHaveLength(1);
  });
});

describe('PostHogClient responses', () => {
  it('turns an unexpected body into ResponseValidationError, not retried', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => json(202, { persons_found: 'many' }));
    const client = unitClient(fetch, time);

    const error = await client.bulkDelete({ distinctIds: ['a'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect(error).toMatchObject({ endpoint: 'bulk_delete', status: 202 });
    expect((error as ResponseValidationError).issues.join('\n')).toContain('persons_found');
    expect(calls).toHaveLength(1);
  });

  it('treats any capture 200 as accepted (status 1, "Ok", quota_limited, or no body) and a 400 as permanent', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () => json(200, { status: 1 }),
      () => json(200, { status: 'Ok', quota_limited: ['events'] }),
      () => empty(200),
      () => json(200, {}),
      () =>
        json(400, { status: 400, code: 'missing_distinct_id', error: 'Event is missing a name' }),
    );
    const client = unitClient(fetch, time);
    const event = { event: '$set', distinctId: 'a', properties: { $set: { plan: 'pro' } } };

    // §11: whether the wire says 1 or "Ok" is unconfirmed, and a 200 never means "ingested" anyway,
    // so a body that fits no schema must not turn an accepted event into a permanent failure.
    await client.capture(event);
    await client.capture(event);
    await client.capture(event);
    await client.captureBatch([event]);
    await expect(client.capture(event)).rejects.toBeInstanceOf(PostHogValidationError);
    expect(calls).toHaveLength(5);
    expect(calls[0]?.url.href).toBe('https://us.i.posthog.com/i/v0/e/');
    expect(calls[0]?.headers.get('authorization')).toBeNull();
    expect(calls[0]?.body).toMatchObject({
      api_key: expect.stringMatching(/^phc_/),
      event: '$set',
      distinct_id: 'a',
    });
    const sent = calls[0]?.body as { uuid?: string } | undefined;
    expect(sent?.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('PostHogClient requests', () => {
  it('sends update_property as a JSON body, never as query parameters', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => empty(202));
    const client = unitClient(fetch, time);

    await client.updateProperty(PERSON_UUID, 'plan', null);
    const call = calls[0];
    expect(call?.method).toBe('POST');
    expect(call?.url.pathname).toBe(`/api/projects/7/persons/${PERSON_UUID}/update_property/`);
    expect(call?.url.search).toBe('');
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(call?.headers.get('authorization')).toBe(`Bearer ${TEST_KEY}`);
    expect(call?.body).toEqual({ key: 'plan', value: null });
  });

  it('chunks bulk_delete at 1000, never mixes ids, and merges both response shapes', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () => bulkOk(1000),
      () =>
        json(202, {
          persons_found: 500,
          persons_deleted: 0,
          persons_queued_for_deletion: 498,
          events_queued_for_deletion: true,
          recordings_queued_for_deletion: false,
          deletion_errors: [
            { person_uuid: 'u1', step: 'tombstone_clickhouse' },
            { person_uuid: 'u2', step: 'delete_postgres' },
          ],
        }),
    );
    const client = unitClient(fetch, time);
    const ids = Array.from({ length: 1500 }, (_, i) => `d${i}`);

    // Act
    const result = await client.bulkDelete({ distinctIds: [...ids, 'd0'] }, { deleteEvents: true });

    // Assess
    expect(calls.map((c) => (c.body as { distinct_ids: string[] }).distinct_ids.length)).toEqual([
      1000, 500,
    ]);
    expect(calls.every((c) => !('ids' in (c.body as object)))).toBe(true);
    expect(calls[0]?.body).toMatchObject({
      delete_events: true,
      delete_recordings: false,
      keep_person: false,
    });
    expect(result).toEqual({
      personsFound: 1500,
      personsDeleted: 1000,
      personsQueuedForDeletion: 498,
      eventsQueuedForDeletion: true,
      recordingsQueuedForDeletion: false,
      deletionErrors: [
        { personUuid: 'u1', step: 'tombstone_clickhouse' },
        { personUuid: 'u2', step: 'delete_postgres' },
      ],
      calls: 2,
    });
  });

  it('rejects bad bulk_delete targets before any call', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => bulkOk(0));
    const client = unitClient(fetch, time);

    await expect(client.bulkDelete({ ids: ['not-a-uuid'] })).rejects.toThrow(
      /ids\[0\] is not a person uuid/,
    );
    await expect(
      client.bulkDelete({ ids: [PERSON_UUID], distinctIds: ['a'] } as unknown as { ids: string[] }),
    ).rejects.toThrow(/not both/);
    await expect(client.bulkDelete({ distinctIds: [] })).resolves.toMatchObject({ calls: 0 });
    expect(calls).toHaveLength(0);
  });

  it('refuses distinct ids and bad ids where a person id is required', async () => {
    const time = fakeTime();
    const { fetch } = scriptedFetch(() => json(201, { success: true }));
    const client = unitClient(fetch, time);

    await expect(client.split('a/../../x')).rejects.toThrow(/numeric id or uuid/);
    await expect(client.split(0)).rejects.toThrow(/positive integer/);
  });

  it('maps removed or refused funnel routes to PostHogEndpointUnavailableError, never retried', async () => {
    const time = fakeTime();
    const answers = [
      json(403, {
        type: 'authentication_error',
        code: 'permission_denied',
        detail: 'This action does not support Personal API Key access',
        attr: null,
      }),
      json(404, { type: 'invalid_request', code: 'not_found', detail: 'Not found.', attr: null }),
      json(400, {
        type: 'validation_error',
        code: 'invalid_input',
        detail:
          'The ID provided does not look like a personID. If you are using a distinctId, please use /persons?distinct_id={person_id} instead.',
        attr: null,
      }),
    ];
    const reasons: string[] = [];
    for (const answer of answers) {
      const { fetch, calls } = scriptedFetch(() => answer.clone());
      const client = unitClient(fetch, time);
      const error = await client.funnelPage({ funnel_step: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostHogEndpointUnavailableError);
      expect((error as Error).message).toMatch(
        /removed the legacy persons funnel routes in mid-2026/,
      );
      reasons.push((error as PostHogEndpointUnavailableError).reason);
      expect(calls).toHaveLength(1);
    }
    expect(reasons).toEqual(['personal_api_key_refused', 'removed', 'removed']);
  });

  it('keeps a plain 404 on a person a PostHogNotFoundError', async () => {
    const time = fakeTime();
    const { fetch } = scriptedFetch(() =>
      json(404, { type: 'invalid_request', code: 'not_found', detail: 'Not found.', attr: null }),
    );
    await expect(unitClient(fetch, time).retrieve(PERSON_UUID)).rejects.toBeInstanceOf(
      PostHogNotFoundError,
    );
  });

  it('follows next links on our own origin only', async () => {
    // Prepare
    const time = fakeTime();
    const person = (n: number) => ({
      id: `u${n}`,
      uuid: `u${n}`,
      distinct_ids: [`d${n}`],
      properties: {},
      created_at: '2026-01-01T00:00:00Z',
    });
    const { fetch, calls } = scriptedFetch(
      () =>
        json(200, {
          results: [person(1)],
          next: 'http://internal-lb:8000/api/projects/7/persons/?limit=1&offset=1',
        }),
      () => json(200, { results: [person(2)], next: null }),
    );
    const client = unitClient(fetch, time);

    // Act
    const seen: string[] = [];
    for await (const p of client.list({ limit: 1 })) seen.push(p.uuid);

    // Assess
    expect(seen).toEqual(['u1', 'u2']);
    expect(calls[1]?.url.href).toBe(
      'https://us.posthog.com/api/projects/7/persons/?limit=1&offset=1',
    );
  });
});

describe('PostHogClient configuration', () => {
  const base = { projectId: 1, personalApiKey: TEST_KEY };

  it('requires https except for loopback', () => {
    expect(() => new PostHogClient({ ...base, host: 'http://us.posthog.com' })).toThrow(/https/);
    expect(() => new PostHogClient({ ...base, host: 'http://10.0.0.5:8000' })).toThrow(/https/);
    expect(new PostHogClient({ ...base, host: 'http://127.0.0.1:8010' }).host).toBe(
      'http://127.0.0.1:8010',
    );
    expect(new PostHogClient({ ...base, host: 'http://localhost:8010/' }).host).toBe(
      'http://localhost:8010',
    );
    expect(new PostHogClient({ ...base, host: 'http://[::1]:8010' }).host).toBe(
      'http://[::1]:8010',
    );
  });

  it('derives the capture host', () => {
    const captureOf = (host: string) => new PostHogClient({ ...base, host }).captureHost;
    expect(captureOf('https://us.posthog.com')).toBe('https://us.i.posthog.com');
    expect(captureOf('https://eu.posthog.com/')).toBe('https://eu.i.posthog.com');
    expect(captureOf('https://app.posthog.com')).toBe('https://us.i.posthog.com');
    expect(captureOf('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
    expect(captureOf('https://posthog.example.com')).toBe('https://posthog.example.com');
  });

  it('validates the project id and the key', () => {
    expect(
      () => new PostHogClient({ ...base, host: 'https://us.posthog.com', projectId: 'abc' }),
    ).toThrow(/projectId/);
    expect(
      () => new PostHogClient({ ...base, host: 'https://us.posthog.com', personalApiKey: ' ' }),
    ).toThrow(/personalApiKey/);
  });

  it('never renders its keys', async () => {
    const { inspect } = await import('node:util');
    const client = new PostHogClient({
      ...base,
      host: 'https://us.posthog.com',
      projectToken: 'phc_tok_123456',
    });
    const rendered = [
      String(client),
      JSON.stringify(client),
      inspect(client, { showHidden: true, depth: 5 }),
    ].join();
    expect(rendered).not.toContain(TEST_KEY);
    expect(rendered).not.toContain('phc_tok_123456');
    expect(rendered).toContain('us.posthog.com');
  });
});

describe('PostHogClient input checks that save a useless call', () => {
  it('refuses merges PostHog would silently ignore', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => json(200, { status: 1 }));
    const client = unitClient(fetch, time);

    for (const bad of [
      'anonymous',
      'NULL'.toLowerCase(),
      '"undefined"',
      ' ',
      '0',
      '[object Object]',
    ]) {
      await expect(
        client.mergeDangerously({ survivorDistinctId: 'crm-1', mergedDistinctId: bad }),
      ).rejects.toThrow(/refuses to merge/);
    }
    await client.mergeDangerously({
      survivorDistinctId: 'crm-1',
      mergedDistinctId: 'None-of-these',
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({
      event: '$merge_dangerously',
      distinct_id: 'crm-1',
      properties: { alias: 'None-of-these' },
    });
    expect(isIllegalDistinctId('Guest')).toBe(true);
    expect(isIllegalDistinctId('None')).toBe(true);
    expect(isIllegalDistinctId('NONE')).toBe(false); // case-sensitive entry
  });

  it('refuses page sizes PostHog would answer with a 500', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => json(200, { results: [], next: null }));
    const client = unitClient(fetch, time);

    expect(() => client.list({ limit: 2.5 })).toThrow(/list.limit must be a whole number/);
    expect(() => client.activity({ limit: 0 })).toThrow(/activity.limit/);
    expect(calls).toHaveLength(0);
  });
});

describe('PostHogClient misconfiguration', () => {
  it('does not follow a redirect with the key; it names the target and does not retry', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(
      () =>
        new Response(null, {
          status: 301,
          headers: { location: 'https://us.posthog.com/api/projects/7/persons/' },
        }),
    );
    const client = unitClient(fetch, time);

    const error = await client.findByDistinctId('a').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/301 redirected to https:\/\/us\.posthog\.com\/api/);
    expect(calls).toHaveLength(1);
  });

  it('treats an uncoded connection failure as retryable but not as a stale-socket reset', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => {
      throw new TypeError('fetch failed', { cause: new Error('certificate has expired') });
    });
    const client = unitClient(fetch, time);

    await expect(client.split(PERSON_UUID)).rejects.toBeInstanceOf(PostHogConnectionError);
    expect(calls).toHaveLength(1);
  });
});
