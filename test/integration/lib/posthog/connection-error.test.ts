import { describe, expect, it } from 'vitest';
import { PostHogConnectionError } from '../../../../lib/posthog/index.ts';
import { fakeTime, networkError, PERSON_UUID, scriptedFetch, unitClient } from './helpers.ts';

describe('connection errors name the host and the system error code', () => {
  it('says which host could not be reached and why, after the retries', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch } = scriptedFetch(() => {
      throw networkError('ECONNREFUSED');
    });
    const client = unitClient(fetch, time, { maxRetries: 0 });

    // Act
    const failure = await client.split(PERSON_UUID).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(PostHogConnectionError);
    expect((failure as PostHogConnectionError).errorCode).toBe('ECONNREFUSED');
    expect((failure as Error).message).toBe(
      'PostHog split connection to https://us.posthog.com failed (ECONNREFUSED)',
    );
  });

  it("gives fetch's own reason when there is no system code (fetch's message is only 'fetch failed')", async () => {
    // Prepare: what undici throws for a port the Fetch standard blocks
    const time = fakeTime();
    const { fetch } = scriptedFetch(() => {
      throw new TypeError('fetch failed', { cause: new Error('bad port') });
    });
    const client = unitClient(fetch, time, { maxRetries: 0 });

    // Act
    const failure = await client.split(PERSON_UUID).catch((error: unknown) => error);

    // Assess
    expect((failure as Error).message).toBe(
      'PostHog split connection to https://us.posthog.com failed (bad port)',
    );
  });
});
