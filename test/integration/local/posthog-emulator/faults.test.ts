import { describe, expect, it } from 'vitest';
import { apiClient, call, capture, emulator } from './helpers.ts';

describe('PostHog emulator fault injection', () => {
  it('answers the configured error statuses: 500 as a JSON envelope, 502/503 as an HTML gateway page', async () => {
    // Prepare
    const ph = await emulator({ faults: { errorRate: 1, errorStatuses: [502] } });
    const api = apiClient(ph);

    // Act
    const gateway = await api('GET', 'persons/');
    ph.setFaults({ errorRate: 1, errorStatuses: [500] });
    const server = await api('GET', 'persons/');

    // Assess
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get('content-type')).toContain('text/html');
    expect(server.status).toBe(500);
    expect(server.json).toEqual({
      type: 'server_error',
      code: 'error',
      detail: 'A server error occurred.',
      attr: null,
    });
    expect(ph.state.count({ fault: 'error' })).toBe(2);
  });

  it('throttles with the configured Retry-After', async () => {
    // Prepare
    const ph = await emulator({ faults: { throttleRate: 1, retryAfterSeconds: 7 } });

    // Act
    const res = await apiClient(ph)('POST', 'persons/bulk_delete/', { ids: [crypto.randomUUID()] });

    // Assess
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.json.detail).toBe('Request was throttled. Expected available in 7 seconds.');
  });

  it('hangs past the client timeout and resets connections; the request log shows both with status 0', async () => {
    // Prepare
    const ph = await emulator({ faults: { hangRate: 1 } });
    const url = `${ph.url}/api/projects/1/persons/`;
    const headers = { Authorization: `Bearer ${ph.personalApiKey}` };

    // Act
    const hung = await fetch(url, { headers, signal: AbortSignal.timeout(150) }).catch(
      (e: Error) => e.name,
    );
    ph.setFaults({ resetRate: 1 });
    const reset = await fetch(url, { headers }).catch((e: Error) => e.message);

    // Assess
    expect(hung).toBe('TimeoutError');
    expect(reset).toBe('fetch failed');
    expect(ph.state.requests().map((r) => [r.fault, r.status])).toEqual([
      ['hang', 0],
      ['reset', 0],
    ]);
  });

  it('draws faults from a seeded PRNG, so the same seed replays the same pattern', async () => {
    // Prepare
    const faults = { errorRate: 0.3, throttleRate: 0.2, errorStatuses: [500, 503], randomSeed: 42 };
    const run = async () => {
      const ph = await emulator({ faults });
      const api = apiClient(ph);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await api('GET', 'persons/')).status);
      return statuses;
    };

    // Act
    const first = await run();
    const second = await run();

    // Assess
    expect(second).toEqual(first);
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(5);
    expect(first.filter((s) => s !== 200).length).toBeGreaterThan(5);
    expect(new Set(first.filter((s) => s !== 200))).toEqual(new Set([429, 500, 503]));
  });

  it('an outage answers 503 on the API and on capture until it is switched off', async () => {
    // Prepare
    const ph = await emulator();
    const api = apiClient(ph);

    // Act
    ph.setOutage(true);
    const apiDown = await api('GET', 'persons/');
    const captureDown = await capture(ph, { event: 'e', distinct_id: 'x' });
    ph.setOutage(false);
    const apiUp = await api('GET', 'persons/');
    const captureUp = await capture(ph, { event: 'e', distinct_id: 'x' });

    // Assess
    expect(apiDown.status).toBe(503);
    expect(apiDown.json.code).toBe('service_unavailable');
    expect(captureDown.status).toBe(503);
    expect(captureDown.json).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect([apiUp.status, captureUp.status]).toEqual([200, 200]);
    expect(ph.state.count({ fault: 'outage' })).toBe(2);
  });

  it('inspection over HTTP is never faulted', async () => {
    // Prepare
    const ph = await emulator({ faults: { outage: true } });
    ph.seedPersons([{ distinctIds: ['seen'] }]);

    // Act
    const state = await call(`${ph.url}/_emulator/state`);

    // Assess
    expect(state.status).toBe(200);
    expect(state.json.persons[0].distinctIds).toEqual(['seen']);
  });
});
