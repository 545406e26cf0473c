import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  outageToleranceSeconds,
  retryDelaySeconds,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../../../../lib/batch/retry-policy.ts';

const production = { baseDelaySeconds: 30, maxDelaySeconds: 900 };

describe('retry policy', () => {
  it('doubles the delay with each receive up to the ceiling', () => {
    // Act
    const delays = [1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffSeconds(n, production));

    // Assess
    expect(delays).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
  });

  it('honours a Retry-After longer than the backoff', () => {
    // Act
    const delay = retryDelaySeconds(
      { suggestedDelayMs: 120_500, receiveCount: 1 },
      production,
      () => 0,
    );

    // Assess
    expect(delay).toBe(121);
  });

  it('uses the backoff when it is longer than the suggested delay', () => {
    // Act
    const delay = retryDelaySeconds(
      { suggestedDelayMs: 1_000, receiveCount: 3 },
      production,
      () => 0,
    );

    // Assess
    expect(delay).toBe(120);
  });

  it('adds at most 20 % jitter', () => {
    // Act
    const delay = retryDelaySeconds({ receiveCount: 6 }, production, () => 0.999);

    // Assess
    expect(delay).toBe(900 + 179);
  });

  it('skips the backoff for messages PostHog never saw (deadline)', () => {
    // Act
    const delay = retryDelaySeconds(
      { suggestedDelayMs: 0, receiveCount: 7, transient: false },
      production,
    );

    // Assess
    expect(delay).toBe(0);
  });

  it("never exceeds SQS's 12 hour visibility limit", () => {
    // Act
    const delay = retryDelaySeconds(
      { suggestedDelayMs: 86_400_000, receiveCount: 1 },
      production,
      () => 0.5,
    );

    // Assess
    expect(delay).toBe(SQS_MAX_VISIBILITY_SECONDS);
  });

  it('lets a message survive more than 11 hours of outage with maxReceiveCount 50', () => {
    // Act
    const seconds = outageToleranceSeconds(production, 50);

    // Assess
    expect(seconds).toBe(30 + 60 + 120 + 240 + 480 + 45 * 900);
    expect(seconds / 3600).toBeGreaterThan(11);
  });
});
