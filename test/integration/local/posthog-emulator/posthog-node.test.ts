import { PostHog, type PostHogOptions } from 'posthog-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { PostHogEmulator } from '../../../../local/posthog-emulator/index.ts';
import { apiClient, emulator } from './helpers.ts';

// The official server SDK (posthog-node, exact-pinned dev dependency) as a real client of the emulator: whatever it
// sends (gzip bodies with Content-Encoding, /batch/ in capture mode v0, /i/v1/analytics/events with a Bearer project
// token in mode v1) must become persons the way PostHog's ingestion makes them, read back over the Persons API.

const clients: PostHog[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.shutdown()));
});

/** An SDK pointed at the emulator that sends only on an explicit flush (so one flush carries events in order). */
const sdk = (ph: PostHogEmulator, options: Partial<PostHogOptions> = {}): PostHog => {
  const client = new PostHog(ph.projectToken, {
    host: ph.url,
    flushAt: 1000,
    flushInterval: 0,
    fetchRetryCount: 0,
    ...options,
  });
  clients.push(client);
  return client;
};

/** The person holding `distinctId`, as the list returns it, then as retrieve returns it. */
const personOf = async (ph: PostHogEmulator, distinctId: string) => {
  const api = apiClient(ph);
  const listed = await api('GET', `persons/?distinct_id=${encodeURIComponent(distinctId)}`);
  const summary = listed.json.results[0];
  const record = summary ? (await api('GET', `persons/${summary.uuid}/`)).json : undefined;
  return { summary, record };
};

/** Drive the SDK through the whole identity story for `user`. */
const story = async (client: PostHog, user: string): Promise<void> => {
  client.capture({
    distinctId: `anon-${user}`,
    event: '$pageview',
    properties: {
      $browser: 'Chrome',
      $current_url: 'https://example.com/pricing',
      utm_source: 'newsletter',
      $os: 'Linux', // the SDK marks events $is_server, so the host OS never lands on the person
    },
  });
  client.identify({ distinctId: user, properties: { email: `${user}@example.com` } });
  client.identify({
    distinctId: user,
    properties: { $anon_distinct_id: `anon-${user}`, plan: 'pro' },
  });
  client.alias({ distinctId: user, alias: `crm-${user}` });
  client.setPersonProperties({
    distinctId: user,
    properties: { tier: 'gold' },
    propertiesOnce: { first_source: 'crm', email: 'ignored@example.com' },
  });
  client.unsetPersonProperties({ distinctId: user, properties: ['plan'] });
  await client.flush();
};

describe('posthog-node against the emulator', () => {
  it('capture, identify, alias, $set/$set_once/$unset and flush (capture mode v0, gzip): one identified person', async () => {
    // Prepare
    const ph = await emulator();
    const client = sdk(ph);

    // Act
    await story(client, 'ada');
    await ph.flush();
    const { summary, record } = await personOf(ph, 'crm-ada');

    // Assess
    expect(ph.state.count({ endpoint: 'batch', status: 200 })).toBeGreaterThan(0);
    expect([...summary.distinct_ids].sort()).toEqual(['ada', 'anon-ada', 'crm-ada']);
    expect(summary.is_identified).toBe(true);
    expect(record.name).toBe('ada@example.com');
    expect(record.properties).toMatchObject({
      email: 'ada@example.com',
      tier: 'gold',
      first_source: 'crm',
      $browser: 'Chrome',
      $initial_browser: 'Chrome',
      $current_url: 'https://example.com/pricing',
      $initial_current_url: 'https://example.com/pricing',
      utm_source: 'newsletter',
      $initial_utm_source: 'newsletter',
    });
    expect(record.properties).not.toHaveProperty('plan');
    expect(record.properties).not.toHaveProperty('$os');
    expect(record.properties).not.toHaveProperty('$initial_os');
    // The survivor is the identify target's person, created by the first identify: that event's uuid.
    const creator = ph.state.events.find((e) => e.event === '$identify');
    expect(record.properties.$creator_event_uuid).toBe(creator?.uuid);
  });

  it('a server-side identify() alone (no $anon_distinct_id) sets properties but does not mark the person identified', async () => {
    // Prepare
    const ph = await emulator();
    const client = sdk(ph);

    // Act
    client.identify({ distinctId: 'grace', properties: { email: 'grace@example.com' } });
    await client.flush();
    await ph.flush();
    const { summary } = await personOf(ph, 'grace');

    // Assess
    expect(summary.properties.email).toBe('grace@example.com');
    expect(summary.is_identified).toBe(false);
  });

  it('the same story over capture mode v1 (POST /i/v1/analytics/events, Bearer project token) gives the same person', async () => {
    // Prepare: posthog-node reads POSTHOG_CAPTURE_MODE when the client is built
    const ph = await emulator();
    const before = process.env['POSTHOG_CAPTURE_MODE'];
    process.env['POSTHOG_CAPTURE_MODE'] = 'v1';
    let client: PostHog;
    try {
      client = sdk(ph);
    } finally {
      if (before === undefined) delete process.env['POSTHOG_CAPTURE_MODE'];
      else process.env['POSTHOG_CAPTURE_MODE'] = before;
    }

    // Act
    await story(client, 'lin');
    await ph.flush();
    const { summary, record } = await personOf(ph, 'lin');

    // Assess
    expect(ph.state.count({ endpoint: 'capture_v1', status: 200 })).toBeGreaterThan(0);
    expect(ph.state.count({ endpoint: 'batch' })).toBe(0);
    expect([...summary.distinct_ids].sort()).toEqual(['anon-lin', 'crm-lin', 'lin']);
    expect(summary.is_identified).toBe(true);
    expect(record.properties).toMatchObject({
      email: 'lin@example.com',
      tier: 'gold',
      first_source: 'crm',
      $initial_utm_source: 'newsletter',
    });
    expect(record.properties).not.toHaveProperty('plan');
  });
});
