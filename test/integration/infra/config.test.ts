import { describe, expect, it } from 'vitest';
import {
  INFRA_CONTEXT_KEYS,
  POSTHOG_RATE_LIMITS,
  parseInfraConfig,
} from '../../../infra/config.ts';
import { maxConcurrencyFor, sustainedCallsPerSecond } from '../../../infra/rate-budget.ts';
import { RETRY_DESIGN } from '../../../infra/stacks/persons-relay-stack.ts';
import { outageToleranceSeconds } from '../../../lib/batch/retry-policy.ts';
import { loadConfig } from '../../../lib/config.ts';

describe('parseInfraConfig', () => {
  it('documents defaults that work offline: environment-agnostic, PostHog US, PostHog limits, no producers', () => {
    const config = parseInfraConfig({});
    expect(config).toEqual({
      stackPrefix: 'PersonsRelay',
      posthogHost: 'https://us.posthog.com',
      rateDeletePerMinute: 480,
      rateDeletePerHour: 4800,
      rateOtherPerMinute: 240,
      propertyWrites: 'update_property',
      expectedCallSeconds: 2,
      oldestMessageAgeAlarmSeconds: 3600,
      deadLetterAgeAlarmSeconds: 172_800,
      producerAccountIds: [],
      producerPrincipalArns: [],
      producerOrganizationIds: [],
      deletionDetailTypes: ['persons.delete'],
      changeDetailTypes: ['person.split', 'person.properties.update', 'person.merge'],
      removalPolicy: 'RETAIN',
      // Webhooks (docs/webhooks.md): no ingress and no Salesforce rules unless asked for.
      webhookProviders: [],
      webhookRateLimit: 50,
      webhookBurstLimit: 100,
      webhookDistinctIdFields: {},
      webhookDistinctIdPrefixes: {},
      salesforceEntities: ['Contact', 'Lead'],
    });
    expect(config.account).toBeUndefined();
    expect(config.region).toBeUndefined();
    expect(INFRA_CONTEXT_KEYS).toContain('posthogProjectId');
  });

  it('coerces -c strings and accepts comma-separated or JSON-array lists', () => {
    const config = parseInfraConfig({
      posthogProjectId: 12345,
      rateDeletePerMinute: '100',
      producerAccountIds: ' 111111111111 , 222222222222,',
      producerPrincipalArns: ['arn:aws:iam::333333333333:role/a'],
      account: '123456789012',
      region: 'eu-west-1',
    });
    expect(config.posthogProjectId).toBe('12345');
    expect(config.rateDeletePerMinute).toBe(100);
    expect(config.producerAccountIds).toEqual(['111111111111', '222222222222']);
    expect(config.producerPrincipalArns).toEqual(['arn:aws:iam::333333333333:role/a']);
    expect(config).toMatchObject({ account: '123456789012', region: 'eu-west-1' });
  });

  it('names every bad key and the reason', () => {
    let message = '';
    try {
      parseInfraConfig({
        posthogHost: 'http://us.posthog.com',
        posthogProjectId: 'abc',
        producerAccountIds: '12345',
        alarmEmail: 'not-an-email',
        rateOtherPerMinute: '0',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const part of [
      'posthogHost: must be an https URL',
      'posthogProjectId: must be a numeric project id',
      'rateOtherPerMinute: Too small',
      'alarmEmail: Invalid email',
      'producerAccountIds.0: must be a 12-digit AWS account id',
    ]) {
      expect(message).toContain(part);
    }
    expect(() => parseInfraConfig({ posthogSecretArn: 'my-secret' })).toThrow(
      /posthogSecretArn: must be a secret ARN/,
    );
  });
});

describe('maxConcurrencyFor', () => {
  it('is enough instances to spend the sustained budget (Little’s law), at least 2', () => {
    const deletes = {
      perMinute: POSTHOG_RATE_LIMITS.deletePerMinute,
      perHour: POSTHOG_RATE_LIMITS.deletePerHour,
    };
    // The hourly limit binds: 4800/h = 1.33/s, not 480/min = 8/s.
    expect(sustainedCallsPerSecond(deletes)).toBeCloseTo(4800 / 3600);
    expect(maxConcurrencyFor(deletes, 2)).toBe(3);
    expect(maxConcurrencyFor({ perMinute: 240 }, 2)).toBe(8);
    expect(maxConcurrencyFor({ perMinute: 240 }, 0.5)).toBe(2);
    expect(maxConcurrencyFor({ perMinute: 60 }, 1)).toBe(2);
    expect(maxConcurrencyFor({ perMinute: 600 }, 3)).toBe(30);
    expect(maxConcurrencyFor({ perMinute: 1_000_000 }, 10)).toBe(1000);
  });

  it('rejects non-positive inputs', () => {
    expect(() => maxConcurrencyFor({ perMinute: 0 }, 2)).toThrow(RangeError);
    expect(() => maxConcurrencyFor({ perMinute: 10 }, 0)).toThrow(RangeError);
  });
});

describe('retry design', () => {
  const policy = {
    baseDelaySeconds: RETRY_DESIGN.baseDelaySeconds,
    maxDelaySeconds: RETRY_DESIGN.maxDelaySeconds,
  };

  it('matches the runtime defaults (lib/config.ts)', () => {
    const runtime = loadConfig({
      LANE: 'deletions',
      POSTHOG_HOST: 'https://us.posthog.com',
      POSTHOG_PROJECT_ID: '1',
      POSTHOG_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC123',
      QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
      DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q-dlq',
    });
    expect(runtime.retry.baseDelaySeconds).toBe(RETRY_DESIGN.baseDelaySeconds);
    expect(runtime.retry.maxDelaySeconds).toBe(RETRY_DESIGN.maxDelaySeconds);
  });

  it('keeps messages out of the DLQ through a PostHog outage of more than 11 hours', () => {
    const seconds = outageToleranceSeconds(policy, RETRY_DESIGN.maxReceiveCount);
    expect(seconds).toBe(30 + 60 + 120 + 240 + 480 + 45 * 900);
    expect(seconds / 3600).toBeGreaterThan(11);
    // …and well within the 7-day source retention.
    expect(seconds).toBeLessThan(7 * 24 * 3600);
  });
});
