/**
 * Issue 15, point 5: FIFO as AWS delivers it.
 *
 * - the local SQS returns several messages of one group per receive, in order (as SQS does), and keeps that
 *   order when a whole group becomes visible again;
 * - the local FIFO queue has the deployed attributes (content-based deduplication on), from the same definition
 *   as the CDK stack;
 * - through the runner's AWS-like delivery, a successor blocked behind a head that keeps failing never reaches the
 *   DLQ: the head is dead-lettered by the function at its last delivery, and the successor is then applied. The
 *   same run without that rule shows the failure it prevents (both end in the DLQ).
 */
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBatchHandler,
  FIFO_QUEUE_ATTRIBUTES,
  RETRIES_EXHAUSTED,
  sqsQueueOps,
} from '../../../../lib/batch/index.ts';
import { PostHogClient } from '../../../../lib/posthog/index.ts';
import type { RelayLogger } from '../../../../lib/runtime/logger.ts';
import type { RelayMetrics } from '../../../../lib/runtime/metrics.ts';
import {
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';
import { startEventSource } from '../../../../local/runner/event-source.ts';
import { inProcessInvoker } from '../../../../local/runner/invoker.ts';
import { listDeadLetters } from '../../../../local/sqs/dlq.ts';
import { createLaneQueues, type LocalSqs, startLocalSqs } from '../../../../local/sqs/index.ts';

let sqs: LocalSqs;
let emulator: PostHogEmulator;
let prefix = 0;
const STUCK = '0190a4b6-0000-7000-8000-00000000000a';
const FINE = '0190a4b6-0000-7000-8000-00000000000b';

beforeAll(async () => {
  sqs = await startLocalSqs();
  emulator = await startPostHogEmulator({
    seed: {
      persons: [
        { distinctIds: ['stuck-person'], uuid: STUCK },
        { distinctIds: ['fine-person'], uuid: FINE },
      ],
    },
    timeScale: 60,
  });
});
afterAll(async () => {
  await sqs.stop();
  await emulator.close();
});

const fresh = (maxReceiveCount = 50) => {
  prefix += 1;
  return createLaneQueues(sqs.client, {
    prefix: `fifo${prefix}`,
    maxReceiveCount,
    visibilityTimeoutSeconds: 30,
  });
};

const send = (queueUrl: string, body: object | string, groupId: string, dedupId?: string) =>
  sqs.client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
      MessageGroupId: groupId,
      ...(dedupId === undefined ? {} : { MessageDeduplicationId: dedupId }),
    }),
  );

const receive = async (queueUrl: string) =>
  (
    await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['MessageGroupId', 'ApproximateReceiveCount'],
      }),
    )
  ).Messages ?? [];

describe('local FIFO delivery as on AWS', () => {
  it('returns as many messages of one group as it can per receive, in order, then other groups', async () => {
    const { changes } = await fresh();
    for (const [i, group] of ['a', 'a', 'a', 'b', 'a', 'b'].entries()) {
      await send(changes.url, `m${i}-${group}`, group, `d${i}`);
    }
    const batch = await receive(changes.url);
    expect(batch.map((m) => m.Body)).toEqual(['m0-a', 'm1-a', 'm2-a', 'm4-a', 'm3-b', 'm5-b']);
    // Both groups are in flight now: nothing more until they are deleted or visible again.
    expect(await receive(changes.url)).toEqual([]);
  });

  it('keeps a group in order when several of its messages become visible again', async () => {
    const { changes } = await fresh();
    for (const i of [0, 1, 2]) await send(changes.url, `m${i}`, 'g', `d${i}`);
    const first = await receive(changes.url);
    expect(first.map((m) => m.Body)).toEqual(['m0', 'm1', 'm2']);
    // Return them all (the handler does this with its retry delay; 0 here).
    const { ChangeMessageVisibilityBatchCommand } = await import('@aws-sdk/client-sqs');
    await sqs.client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: changes.url,
        Entries: first.map((m, i) => ({
          Id: `e${i}`,
          ReceiptHandle: m.ReceiptHandle ?? '',
          VisibilityTimeout: 0,
        })),
      }),
    );
    const again = await receive(changes.url);
    expect(again.map((m) => m.Body)).toEqual(['m0', 'm1', 'm2']);
    // Every message of the group used up a receive, the successors too.
    expect(again.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['2', '2', '2']);
  });

  it('creates the FIFO lane with the attributes the CDK stack deploys, content-based deduplication included', async () => {
    const { changes } = await fresh();
    const { Attributes } = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: changes.url, AttributeNames: ['All'] }),
    );
    // test/integration/infra/stacks.test.ts checks the template against the same FIFO_QUEUE_ATTRIBUTES.
    expect(Attributes).toMatchObject(FIFO_QUEUE_ATTRIBUTES);
  });

  it('de-duplicates by content when a producer sets no deduplication id (SHA-256 of the body, as SQS)', async () => {
    const { changes } = await fresh();
    const first = await send(changes.url, '{"same":"body"}', 'g');
    const second = await send(changes.url, '{"same":"body"}', 'g');
    const other = await send(changes.url, '{"other":"body"}', 'g');
    expect(second.MessageId).toBe(first.MessageId);
    expect(other.MessageId).not.toBe(first.MessageId);
    expect((await receive(changes.url)).map((m) => m.Body)).toEqual([
      '{"same":"body"}',
      '{"other":"body"}',
    ]);
  });
});

describe('a blocked successor never reaches the DLQ because its predecessor kept failing', () => {
  const silent: RelayLogger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  } as unknown as RelayLogger;
  const noMetrics: RelayMetrics = { count: () => undefined, flush: () => undefined };
  // The emulator has no per-person faults: this fetch answers 503 for every request about the stuck person and
  // passes everything else to the emulator over HTTP.
  const failingForStuck: typeof fetch = async (input, init) =>
    String(input instanceof Request ? input.url : input).includes(STUCK)
      ? new Response('{"detail":"unavailable"}', {
          status: 503,
          headers: { 'content-type': 'application/json' },
        })
      : fetch(input, init);

  const update = (id: string, uuid: string, plan: string) => ({
    type: 'person.properties.update',
    id,
    time: '2026-12-01T10:00:00Z',
    data: { uuid, set: { plan } },
  });

  async function run(options: { handlerLimitsRetries: boolean }) {
    const maxReceiveCount = 3;
    const { changes } = await fresh(maxReceiveCount);
    // One group (the producer's choice, e.g. an account), two persons: the head's person is stuck.
    await send(changes.url, update('head', STUCK, 'gold'), 'account-7', 'head');
    await send(changes.url, update('successor', FINE, 'silver'), 'account-7', 'successor');
    const client = new PostHogClient({
      host: emulator.url,
      projectId: emulator.projectId,
      personalApiKey: emulator.personalApiKey,
      maxRetries: 0,
      rateLimits: false,
      fetch: failingForStuck,
    });
    const handler = createBatchHandler({
      lane: 'changes',
      queueUrl: changes.url,
      dlqUrl: changes.dlqUrl,
      queueOps: sqsQueueOps(sqs.client),
      getClient: async () => client,
      // 1 s between deliveries keeps the test short; the rule does not depend on the delay.
      retry: { baseDelaySeconds: 1, maxDelaySeconds: 1 },
      safetyMarginMs: 1_000,
      ...(options.handlerLimitsRetries ? { maxReceiveCount } : {}),
      logger: silent,
      metrics: noMetrics,
      random: () => 0,
    });
    const batches: string[][] = [];
    const source = startEventSource({
      sqs: sqs.client,
      queueUrl: changes.url,
      queueArn: changes.arn,
      region: sqs.region,
      invoker: inProcessInvoker(async (event, context) => (await handler(event, context)).response),
      batchSize: 10,
      concurrency: 1,
      functionTimeoutMs: 20_000,
      waitTimeSeconds: 0,
      onInvocation: (info) => batches.push([...info.messageIds]),
    });
    try {
      // Until the queue is empty (nothing visible, in flight or delayed).
      for (;;) {
        const { Attributes } = await sqs.client.send(
          new GetQueueAttributesCommand({
            QueueUrl: changes.url,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          }),
        );
        if (
          Number(Attributes?.ApproximateNumberOfMessages) === 0 &&
          Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0
        ) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await source.idle();
    } finally {
      await source.stop();
    }
    const dead = await listDeadLetters(sqs.client, changes.dlqUrl);
    return { batches, dead: dead.map((d) => ({ body: JSON.parse(d.body) as { id: string }, d })) };
  }

  it('delivers head and successor together each time, dead-letters the head at its last delivery, and applies the successor', async () => {
    const { batches, dead } = await run({ handlerLimitsRetries: true });
    // AWS-like: both messages of the group in every batch, 3 deliveries (maxReceiveCount).
    expect(batches).toHaveLength(3);
    for (const batch of batches) expect(batch).toHaveLength(2);
    expect(dead.map((d) => d.body.id)).toEqual(['head']);
    expect(dead[0]?.d.errorCode).toBe(RETRIES_EXHAUSTED);
    expect(dead[0]?.d.errorReason).toMatch(/http_503/);
    const fine = emulator.state.persons.find((p) => p.uuid === FINE);
    expect(fine?.properties['plan']).toBe('silver');
  });

  it('without the rule, SQS moves the blocked successor to the DLQ with its head (the failure it prevents)', async () => {
    const { dead } = await run({ handlerLimitsRetries: false });
    expect(dead.map((d) => d.body.id).sort()).toEqual(['head', 'successor']);
  });
});
