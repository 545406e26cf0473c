import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sqsQueueOps } from '../../../lib/batch/index.ts';
import { loadConfig } from '../../../lib/config.ts';
import { createRelayHandler, type RelayLogger } from '../../../lib/runtime/index.ts';
import {
  demoSeed,
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../local/posthog-emulator/index.ts';
import { RECORD_SYSTEM_ATTRIBUTES, toSqsRecord } from '../../../local/runner/event.ts';
import { lambdaContext } from '../../../local/runner/invoker.ts';
import {
  type SecretsManagerStub,
  startSecretsManagerStub,
} from '../../../local/runner/secrets-stub.ts';
import { listDeadLetters } from '../../../local/sqs/dlq.ts';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';
import { buildTestBundles } from '../harness.ts';

const run = promisify(execFile);

let sqs: LocalSqs;
let emulator: PostHogEmulator;
let secrets: SecretsManagerStub;

beforeAll(async () => {
  sqs = await startLocalSqs({ prefix: 'fn' });
  emulator = await startPostHogEmulator({ seed: demoSeed(), timeScale: 60 });
  secrets = await startSecretsManagerStub({
    'persons-relay/posthog': JSON.stringify({
      personalApiKey: emulator.personalApiKey,
      projectToken: emulator.projectToken,
    }),
  });
});

afterAll(async () => {
  await secrets.close();
  await emulator.close();
  await sqs.stop();
});

function laneEnv(lane: 'deletions' | 'changes'): Record<string, string> {
  const queue = sqs.queues[lane];
  return {
    LANE: lane,
    POSTHOG_HOST: emulator.url,
    POSTHOG_PROJECT_ID: String(emulator.projectId),
    POSTHOG_SECRET_ID: 'persons-relay/posthog',
    QUEUE_URL: queue.url,
    DLQ_URL: queue.dlqUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    POWERTOOLS_SERVICE_NAME: `persons-relay-${lane}`,
  };
}

async function receivedEvent(
  lane: 'deletions' | 'changes',
  bodies: string[],
  group?: string,
): Promise<SQSEvent> {
  const queue = sqs.queues[lane];
  for (const [index, body] of bodies.entries()) {
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: body,
        ...(group
          ? { MessageGroupId: group, MessageDeduplicationId: `${group}-${index}-${Date.now()}` }
          : {}),
      }),
    );
  }
  const out = await sqs.client.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: [...RECORD_SYSTEM_ATTRIBUTES],
    }),
  );
  return { Records: (out.Messages ?? []).map((m) => toSqsRecord(m, queue.arn, 'us-east-1')) };
}

const deleteCommand = (id: string, distinctId: string) =>
  JSON.stringify({
    type: 'persons.delete',
    id,
    time: '2026-11-28T10:00:00Z',
    data: { distinctIds: [distinctId] },
  });

describe('functions/apply-deletions', () => {
  it('runs unchanged on local endpoints: secret via Secrets Manager (cached), EMF metrics on stdout', async () => {
    // Prepare: the module reads its environment at cold start (import time)
    for (const [name, value] of Object.entries(laneEnv('deletions'))) vi.stubEnv(name, value);
    const written: string[] = [];
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    try {
      const { handler } = await import('../../../functions/apply-deletions.ts');
      const first = await receivedEvent('deletions', [deleteCommand('fn-1', 'crm-1007')]);
      const second = await receivedEvent('deletions', [
        deleteCommand('fn-2', 'crm-1008'),
        'not json',
      ]);

      // Act
      const context: Context = lambdaContext('apply-deletions', Date.now() + 30_000);
      const r1 = await handler(first, context);
      const r2 = await handler(second, context);

      // Assess: both persons deleted, the bad message dead-lettered and acknowledged
      expect(r1).toEqual({ batchItemFailures: [] });
      expect(r2).toEqual({ batchItemFailures: [] });
      expect(emulator.state.personByDistinctId('crm-1007')).toBeUndefined();
      expect(emulator.state.personByDistinctId('crm-1008')).toBeUndefined();
      // The secret was fetched once through the SDK and then served from the Powertools cache.
      expect(secrets.requests).toEqual(['persons-relay/posthog']);
    } finally {
      spy.mockRestore();
      vi.unstubAllEnvs();
    }

    // Assess: EMF documents in the PersonsRelay namespace, with the contract's metric names and dimensions
    const emf = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map(
        (line) =>
          JSON.parse(line) as Record<string, unknown> & {
            _aws: {
              CloudWatchMetrics: {
                Namespace: string;
                Dimensions: string[][];
                Metrics: { Name: string }[];
              }[];
            };
          },
      );
    expect(emf.length).toBeGreaterThan(0);
    expect(new Set(emf.map((d) => d._aws.CloudWatchMetrics[0]?.Namespace))).toEqual(
      new Set(['PersonsRelay']),
    );
    const value = (name: string, dims: Record<string, string> = {}) =>
      emf
        .filter((d) => d._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === name))
        .filter((d) => Object.entries(dims).every(([k, v]) => d[k] === v))
        .reduce((n, d) => n + Number(d[name]), 0);
    expect(value('MessagesReceived')).toBe(3);
    expect(value('MessagesApplied')).toBe(2);
    expect(value('MessagesRejected', { reason: 'not_json' })).toBe(1);
    expect(value('PostHogCalls', { endpoint: 'bulk_delete' })).toBe(2);
    expect(value('PersonsDeleted')).toBe(2);
    expect(emf.every((d) => d['service'] === 'persons-relay-deletions')).toBe(true);
    // ...and JSON log lines with a correlation id per message (the command id)
    const logs = written
      .flatMap((c) => c.split('\n'))
      .filter((l) => l.includes('"message outcome"'));
    expect(logs.map((l) => (JSON.parse(l) as { correlation_id: string }).correlation_id)).toEqual(
      expect.arrayContaining(['fn-1', 'fn-2']),
    );
  });
});

describe('secret seam', () => {
  it('retries (never dead-letters) while the key is wrong, and picks up a rotated key', async () => {
    // Prepare: an injected secret fetcher, as tests and other runtimes may use instead of Powertools
    let current: unknown = { personalApiKey: 'phx_revoked_key' };
    const fetched: string[] = [];
    const outcomes: Record<string, unknown>[] = [];
    const log = (message: string, ...extra: Record<string, unknown>[]) => {
      if (message === 'message outcome') outcomes.push(Object.assign({}, ...extra));
    };
    const logger: RelayLogger = { debug: log, info: log, warn: log, error: log };
    const relay = createRelayHandler(loadConfig({ ...laneEnv('changes') }), {
      fetchSecret: async (secretId) => {
        fetched.push(secretId);
        return current;
      },
      queueOps: sqsQueueOps(sqs.client),
      logger,
      random: () => 0,
    });
    const update = JSON.stringify({
      type: 'person.properties.update',
      id: 'rot-1',
      time: '2026-11-28T10:00:00Z',
      data: { distinctId: 'crm-1001', set: { rotated: true } },
    });
    const event = await receivedEvent('changes', [update], 'd:crm-1001');
    const context = lambdaContext('apply-changes', Date.now() + 30_000);

    // Act
    const before = await relay(event, context);
    current = { personalApiKey: emulator.personalApiKey };
    const after = await relay(event, context);

    // Assess
    expect(before.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    expect(outcomes[0]).toMatchObject({
      outcome: 'retry',
      code: 'posthog_auth',
      retryInSeconds: 30,
    });
    expect(await listDeadLetters(sqs.client, sqs.queues.changes.dlqUrl)).toEqual([]);
    expect(after.batchItemFailures).toEqual([]);
    expect(outcomes[1]).toMatchObject({ outcome: 'applied' });
    expect(fetched).toEqual(['persons-relay/posthog', 'persons-relay/posthog']);
    await emulator.flush();
    expect(emulator.state.personByDistinctId('crm-1001')?.properties['rotated']).toBe(true);
  });

  it('refuses a secret without personalApiKey without printing its value', async () => {
    // Prepare
    const relay = createRelayHandler(loadConfig({ ...laneEnv('changes') }), {
      fetchSecret: async () => ({ apiKey: 'phx_should_not_leak' }),
      queueOps: sqsQueueOps(sqs.client),
    });
    const event = await receivedEvent(
      'changes',
      [
        JSON.stringify({
          type: 'person.properties.update',
          id: 'bad-secret-1',
          time: '2026-11-28T10:00:00Z',
          data: { distinctId: 'crm-1003', set: { x: 1 } },
        }),
      ],
      'd:crm-1003',
    );
    const written: string[] = [];
    const spy = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    const errSpy = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });

    // Act
    let response: Awaited<ReturnType<typeof relay>>;
    try {
      response = await relay(event, lambdaContext('apply-changes', Date.now() + 30_000));
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
    }

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    const output = written.join('');
    expect(output).toContain('must be JSON {personalApiKey, projectToken?}; bad: personalApiKey');
    expect(output).not.toContain('phx_should_not_leak');
  });
});

describe('bundled handler cold start', () => {
  it('fails the init naming the missing variables', async () => {
    // Prepare
    const bundles = await buildTestBundles();
    try {
      // Act
      const result = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `await import(${JSON.stringify(`file://${bundles.modules.changes}`)})`,
        ],
        { env: { PATH: process.env['PATH'] ?? '', LANE: 'changes' } },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );

      // Assess
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('ConfigError');
      expect(result.stderr).toContain('POSTHOG_HOST: is required');
      expect(result.stderr).toContain('POSTHOG_SECRET_ID: is required');
    } finally {
      await bundles.cleanup();
    }
  });
});
