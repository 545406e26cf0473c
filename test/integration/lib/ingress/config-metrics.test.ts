import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_DISTINCT_ID_RULES,
  DEFAULT_MAX_BODY_BYTES,
  loadIngressConfig,
  PowertoolsIngressMetrics,
} from '../../../../lib/ingress/index.ts';

const QUEUES = {
  DELETIONS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/d',
  CHANGES_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/c.fifo',
};

describe('loadIngressConfig', () => {
  it('reads the queues, a secret per provider and the defaults', () => {
    // Act
    const config = loadIngressConfig({
      ...QUEUES,
      WEBHOOK_SECRET_STRIPE: 'arn:stripe',
      WEBHOOK_SECRET_OKTA: '',
    });
    // Assess
    expect(config.deletionsQueueUrl).toBe(QUEUES.DELETIONS_QUEUE_URL);
    expect(config.providers.stripe).toEqual({
      secretId: 'arn:stripe',
      distinctId: DEFAULT_DISTINCT_ID_RULES.stripe,
    });
    expect(config.providers.okta.secretId).toBeUndefined();
    expect(config.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(config.secretMaxAgeSeconds).toBe(300);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes per-provider distinct-id paths and prefixes', () => {
    // Act
    const config = loadIngressConfig({
      ...QUEUES,
      WEBHOOK_DISTINCT_ID_FIELDS_STRIPE: 'metadata.uid, email',
      WEBHOOK_DISTINCT_ID_PREFIX_HUBSPOT: 'hubspot-',
    });
    // Assess
    expect(config.providers.stripe.distinctId).toEqual({
      paths: ['metadata.uid', 'email'],
      prefix: '',
    });
    expect(config.providers.hubspot.distinctId).toEqual({ paths: [], prefix: 'hubspot-' });
  });

  it('names every bad variable in one error', () => {
    // Act / Assess
    expect(() =>
      loadIngressConfig({
        CHANGES_QUEUE_URL: 'nope',
        WEBHOOK_DISTINCT_ID_FIELDS_AUTH0: 'a..b',
        WEBHOOK_MAX_BODY_BYTES: '-1',
      }),
    ).toThrow(
      /DELETIONS_QUEUE_URL: .*CHANGES_QUEUE_URL: .*WEBHOOK_MAX_BODY_BYTES: .*WEBHOOK_DISTINCT_ID_FIELDS_AUTH0: must be dotted paths/,
    );
  });
});

describe('PowertoolsIngressMetrics', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes one EMF document per dimension set with the summed counts, then starts over', () => {
    // Prepare: Powertools Metrics writes EMF to stdout (no API call); the spy only reads what it writes.
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const metrics = new PowertoolsIngressMetrics({
      namespace: 'PersonsRelay',
      serviceName: 'persons-relay-ingress',
    });
    // Act
    metrics.count('WebhookRequests', 1, { provider: 'stripe', outcome: 'accepted' });
    metrics.count('WebhookRequests', 1, { outcome: 'accepted', provider: 'stripe' });
    metrics.count('WebhookEventsIgnored', 3, { provider: 'hubspot' });
    metrics.flush();
    metrics.flush();
    // Assess
    const documents = written
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents).toHaveLength(2);
    expect(documents).toContainEqual(
      expect.objectContaining({
        WebhookRequests: 2,
        provider: 'stripe',
        outcome: 'accepted',
        service: 'persons-relay-ingress',
      }),
    );
    expect(documents).toContainEqual(
      expect.objectContaining({ WebhookEventsIgnored: 3, provider: 'hubspot' }),
    );
  });
});
