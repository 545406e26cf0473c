import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../lib/config.ts';
import { createClientSource } from '../../../../lib/runtime/client-source.ts';
import type { RelayLogger } from '../../../../lib/runtime/logger.ts';
import type { RelayMetrics } from '../../../../lib/runtime/metrics.ts';

// Building the client makes no request, so no server is needed here.
const configOf = (lane: 'deletions' | 'changes') =>
  loadConfig({
    LANE: lane,
    POSTHOG_HOST: 'http://127.0.0.1:9',
    POSTHOG_PROJECT_ID: '1',
    POSTHOG_SECRET_ID: 'persons-relay/posthog',
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/q',
    DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/dlq',
  });

const recorder = () => {
  const warnings: string[] = [];
  const logger: RelayLogger = {
    debug() {},
    info() {},
    warn: (message: string) => warnings.push(message),
    error() {},
  };
  return { logger, warnings };
};
const metrics: RelayMetrics = { count() {}, flush() {} };

describe('createClientSource: a changes lane without a project token', () => {
  it('warns once per key that merges will be rejected and unsets cost a call each', async () => {
    const { logger, warnings } = recorder();
    const getClient = createClientSource({
      config: configOf('changes'),
      secrets: async () => ({ personalApiKey: 'phx_test_key' }),
      metrics,
      logger,
    });

    const first = await getClient();
    await getClient();

    expect(first.hasProjectToken).toBe(false);
    expect(warnings).toEqual([
      expect.stringContaining('the secret has no projectToken: person.merge messages are rejected'),
    ]);
  });

  it('says nothing when the token is there, or on the deletions lane, which never captures', async () => {
    const withToken = recorder();
    const deletions = recorder();

    await createClientSource({
      config: configOf('changes'),
      secrets: async () => ({ personalApiKey: 'phx_test_key', projectToken: 'phc_test_token' }),
      metrics,
      logger: withToken.logger,
    })();
    await createClientSource({
      config: configOf('deletions'),
      secrets: async () => ({ personalApiKey: 'phx_test_key' }),
      metrics,
      logger: deletions.logger,
    })();

    expect(withToken.warnings).toEqual([]);
    expect(deletions.warnings).toEqual([]);
  });
});
