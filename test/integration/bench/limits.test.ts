import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  minDeleteSeconds,
  minDrainMinutes,
  minOtherSeconds,
} from '../../../bench/limits.ts';
import { costPerMillionMessages, PRICES } from '../../../bench/prices.ts';

// The theoretical minimum at PostHog's real, unscaled limits: 480 deletes a minute and 4,800 an hour, 240 other
// calls a minute, capture unthrottled (docs/posthog-api.md §1.5).

describe('minimum drain time under the rate limits', () => {
  it('lets a whole minute budget start at once, then waits for the next window', () => {
    expect(minDeleteSeconds(0)).toBe(0);
    expect(minDeleteSeconds(480)).toBe(0);
    expect(minDeleteSeconds(481)).toBe(60);
    expect(minOtherSeconds(240)).toBe(0);
    expect(minOtherSeconds(241)).toBe(60);
  });

  it('holds deletes to 4,800 an hour: 20,000 single deletes need 4 hours and 1 minute', () => {
    expect(minDeleteSeconds(4800)).toBe(9 * 60);
    expect(minDeleteSeconds(4801)).toBe(3600);
    expect(minDeleteSeconds(20_000)).toBe(4 * 3600 + 60);
    expect(minDrainMinutes({ delete: 20_000, other: 0, capture: 0 })).toBe(241);
  });

  it('takes the slowest bucket and never counts capture', () => {
    expect(minDrainMinutes({ delete: 481, other: 721, capture: 1_000_000 })).toBe(3);
  });

  it('sorts the emulator request log into the throttle buckets', () => {
    expect(bucketOf('persons/bulk_delete', 'POST')).toBe('delete');
    expect(bucketOf('persons/:id', 'DELETE')).toBe('delete');
    expect(bucketOf('persons/:id', 'GET')).toBe('other');
    expect(bucketOf('persons/:id/update_property', 'POST')).toBe('other');
    expect(bucketOf('batch', 'POST')).toBe('capture');
  });
});

describe('cost per million messages', () => {
  it('adds Lambda requests, GB-s and SQS requests at the stated prices', () => {
    // Prepare: one million messages in 1,000 invocations of 1 GB-s each, 300,000 standard SQS requests.
    const usage = {
      messages: 1_000_000,
      invocations: 1000,
      gbSeconds: 1000,
      sqsRequests: { standard: 300_000, fifo: 0 },
    };

    // Act
    const cost = costPerMillionMessages(usage);

    // Assess
    const fixed =
      1000 * (PRICES.lambdaPerMillionRequests / 1e6) + 0.3 * PRICES.sqsPerMillionRequests.standard;
    expect(cost.arm64).toBeCloseTo(fixed + 1000 * PRICES.lambdaPerGbSecond.arm64, 10);
    expect(cost.x86_64).toBeCloseTo(fixed + 1000 * PRICES.lambdaPerGbSecond.x86_64, 10);
  });
});
