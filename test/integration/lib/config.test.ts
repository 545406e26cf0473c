import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../lib/config.ts';

const validEnv = {
  LANE: 'deletions',
  POSTHOG_HOST: 'https://us.posthog.com/',
  POSTHOG_PROJECT_ID: '12345',
  POSTHOG_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:posthog-AbCdEf',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-deletions-dlq',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-deletions',
  AWS_REGION: 'eu-west-1',
};

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('parses a complete environment into a typed config with the documented defaults', () => {
    // Act
    const config = loadConfig(validEnv);

    // Assess
    expect(config).toEqual({
      lane: 'deletions',
      posthog: {
        host: 'https://us.posthog.com',
        projectId: 12345,
        secretId: validEnv.POSTHOG_SECRET_ID,
        secretMaxAgeSeconds: 300,
        propertyWrites: 'update_property',
        timeoutMs: 10_000,
        maxRetries: 2,
        rateLimits: {
          deletePerMinute: 480,
          deletePerHour: 4800,
          otherPerMinute: 240,
          instances: 1,
        },
      },
      queues: { queueUrl: validEnv.QUEUE_URL, dlqUrl: validEnv.DLQ_URL, region: 'eu-west-1' },
      retry: { baseDelaySeconds: 30, maxDelaySeconds: 900, deadlineSafetyMarginMs: 5_000 },
      powertools: {
        serviceName: 'persons-relay',
        metricsNamespace: 'PersonsRelay',
        logLevel: 'INFO',
      },
    });
  });

  it('reads numeric rate budgets and retry settings from strings', () => {
    // Act
    const config = loadConfig({
      ...validEnv,
      POSTHOG_RATE_DELETE_PER_MINUTE: '120',
      POSTHOG_RATE_INSTANCES: '4',
      RETRY_BASE_DELAY_SECONDS: '1',
      RETRY_MAX_DELAY_SECONDS: '15',
      SECRET_MAX_AGE_SECONDS: '60',
    });

    // Assess
    expect(config.posthog.rateLimits.deletePerMinute).toBe(120);
    expect(config.posthog.rateLimits.instances).toBe(4);
    expect(config.retry).toMatchObject({ baseDelaySeconds: 1, maxDelaySeconds: 15 });
    expect(config.posthog.secretMaxAgeSeconds).toBe(60);
  });

  it('passes POSTHOG_RATE_TIME_SCALE to the limiter only when set (time-scaled emulators; unset in AWS)', () => {
    // Act
    const scaled = loadConfig({ ...validEnv, POSTHOG_RATE_TIME_SCALE: '60' });
    const deployed = loadConfig(validEnv);

    // Assess
    expect(scaled.posthog.rateLimits.timeScale).toBe(60);
    expect(scaled.posthog.rateLimits.deletePerMinute).toBe(480);
    expect('timeScale' in deployed.posthog.rateLimits).toBe(false);
    expect(() => loadConfig({ ...validEnv, POSTHOG_RATE_TIME_SCALE: '0' })).toThrow(
      /POSTHOG_RATE_TIME_SCALE/,
    );
  });

  it('returns a deeply frozen object', () => {
    // Act
    const config = loadConfig(validEnv);

    // Assess
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.posthog.rateLimits)).toBe(true);
  });

  it('names every missing variable', () => {
    // Act
    const error = errorOf(() => loadConfig({ POSTHOG_HOST: '' }));

    // Assess
    expect(error.problems).toEqual([
      'LANE: is required',
      'POSTHOG_HOST: is required',
      'POSTHOG_PROJECT_ID: is required',
      'POSTHOG_SECRET_ID: is required',
      'DLQ_URL: is required',
      'QUEUE_URL: is required',
    ]);
    expect(error.message).toContain('POSTHOG_SECRET_ID: is required');
  });

  it('names an invalid value and says why', () => {
    // Act
    const error = errorOf(() =>
      loadConfig({
        ...validEnv,
        POSTHOG_PROJECT_ID: 'abc',
        POSTHOG_RATE_INSTANCES: '0',
        LANE: 'other',
      }),
    );

    // Assess
    expect(error.problems).toHaveLength(3);
    expect(error.problems[0]).toMatch(/^LANE: /);
    expect(error.problems).toContain('POSTHOG_PROJECT_ID: must be a numeric project id');
    expect(error.problems.some((p) => p.startsWith('POSTHOG_RATE_INSTANCES: '))).toBe(true);
  });

  it('refuses a backoff ceiling below the base or above the 12 hour SQS limit', () => {
    // Act
    const low = errorOf(() =>
      loadConfig({ ...validEnv, RETRY_BASE_DELAY_SECONDS: '60', RETRY_MAX_DELAY_SECONDS: '30' }),
    );
    const high = errorOf(() => loadConfig({ ...validEnv, RETRY_MAX_DELAY_SECONDS: '50000' }));

    // Assess
    expect(low.problems).toEqual([
      'RETRY_MAX_DELAY_SECONDS: must be at least RETRY_BASE_DELAY_SECONDS',
    ]);
    expect(high.problems).toEqual([
      "RETRY_MAX_DELAY_SECONDS: must be at most 43200 (SQS's 12 hour visibility limit)",
    ]);
  });

  it('refuses a config whose LANE is not the lane of the function loading it', () => {
    // Act
    const error = errorOf(() =>
      loadConfig({ ...validEnv, LANE: 'changes' }, { lane: 'deletions' }),
    );

    // Assess
    expect(error.problems).toEqual([
      "LANE: is 'changes' but this function serves the 'deletions' lane",
    ]);
  });

  it('refuses a non-http PostHog host', () => {
    // Act
    const error = errorOf(() => loadConfig({ ...validEnv, POSTHOG_HOST: 'ftp://posthog.example' }));

    // Assess
    expect(error.problems).toEqual(['POSTHOG_HOST: must be an http(s) URL']);
  });
});
