import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventSource,
  type InvocationInfo,
  startEventSource,
} from '../../../../local/runner/event-source.ts';
import {
  InvocationTimeoutError,
  inProcessInvoker,
  workerInvoker,
} from '../../../../local/runner/invoker.ts';
import { createLaneQueues, type LocalSqs, startLocalSqs } from '../../../../local/sqs/index.ts';

let local: LocalSqs;
let prefixCounter = 0;

beforeAll(async () => {
  local = await startLocalSqs();
});

afterAll(async () => {
  await local.stop();
});

async function freshQueues(
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
) {
  prefixCounter += 1;
  return createLaneQueues(local.client, { prefix: `t${prefixCounter}`, ...options });
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function depth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await local.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

describe('local event source runner', () => {
  it('builds Lambda-shaped records and deletes only what did not fail', async () => {
    // Prepare
    const queues = await freshQueues({ visibilityTimeoutSeconds: 1 });
    const events: SQSEvent[] = [];
    const invocations: InvocationInfo[] = [];
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      events.push(event);
      return {
        batchItemFailures: event.Records.filter(
          (r) => r.body === 'fail' && r.attributes.ApproximateReceiveCount === '1',
        ).map((r) => ({ itemIdentifier: r.messageId })),
      };
    };
    await local.client.send(
      new SendMessageCommand({
        QueueUrl: queues.changes.url,
        MessageBody: 'ok',
        MessageGroupId: 'person-1',
        MessageDeduplicationId: 'cmd-1',
        MessageAttributes: { source: { DataType: 'String', StringValue: 'crm' } },
      }),
    );
    await local.client.send(
      new SendMessageCommand({
        QueueUrl: queues.changes.url,
        MessageBody: 'fail',
        MessageGroupId: 'person-2',
        MessageDeduplicationId: 'cmd-2',
      }),
    );
    const source = startEventSource({
      sqs: local.client,
      queueUrl: queues.changes.url,
      queueArn: queues.changes.arn,
      region: local.region,
      invoker: inProcessInvoker(handler),
      concurrency: 1,
      onInvocation: (info) => invocations.push(info),
    });

    // Act
    await waitFor(async () => invocations.reduce((n, i) => n + i.deletedIds.length, 0) === 2);
    await source.stop();

    // Assess
    const records = events.flatMap((e) => e.Records);
    const first = records.find((r) => r.body === 'ok');
    expect(first).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queues.changes.arn,
      awsRegion: 'us-east-1',
      attributes: {
        ApproximateReceiveCount: '1',
        MessageGroupId: 'person-1',
        MessageDeduplicationId: 'cmd-1',
      },
      messageAttributes: { source: { dataType: 'String', stringValue: 'crm' } },
    });
    expect(first?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(Number(first?.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(first?.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThan(0);
    expect(first?.attributes.SequenceNumber).toBeDefined();
    const failed = records
      .filter((r) => r.body === 'fail')
      .map((r) => r.attributes.ApproximateReceiveCount);
    expect(failed).toEqual(['1', '2']);
    expect(await depth(queues.changes.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('fails the whole batch on an invalid itemIdentifier or a thrown error', async () => {
    // Prepare
    const queues = await freshQueues({ visibilityTimeoutSeconds: 30 });
    await local.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.deletions.url,
        Entries: [
          { Id: 'a', MessageBody: 'a' },
          { Id: 'b', MessageBody: 'b' },
        ],
      }),
    );
    const invocations: InvocationInfo[] = [];
    const source = startEventSource({
      sqs: local.client,
      queueUrl: queues.deletions.url,
      queueArn: queues.deletions.arn,
      region: local.region,
      invoker: inProcessInvoker(async () => ({
        batchItemFailures: [{ itemIdentifier: 'not-in-batch' }],
      })),
      concurrency: 1,
      maximumBatchingWindowMs: 200,
      onInvocation: (info) => invocations.push(info),
    });

    // Act
    await waitFor(() => invocations.length >= 1);
    await source.stop();

    // Assess
    expect(invocations[0]?.deletedIds).toEqual([]);
    expect(invocations[0]?.failedIds).toHaveLength(2);
    expect(await depth(queues.deletions.url)).toEqual({ visible: 0, inFlight: 2 });
  });

  it('lets the redrive policy move a message that keeps failing to the DLQ after maxReceiveCount', async () => {
    // Prepare
    const queues = await freshQueues({ maxReceiveCount: 2, visibilityTimeoutSeconds: 1 });
    await local.client.send(
      new SendMessageCommand({ QueueUrl: queues.deletions.url, MessageBody: 'poison' }),
    );
    const counts: string[] = [];
    const source: EventSource = startEventSource({
      sqs: local.client,
      queueUrl: queues.deletions.url,
      queueArn: queues.deletions.arn,
      region: local.region,
      invoker: inProcessInvoker(async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        throw new Error('always fails');
      }),
      concurrency: 1,
    });

    // Act
    await waitFor(async () => (await depth(queues.deletions.dlqUrl)).visible === 1);
    await source.stop();

    // Assess
    expect(counts).toEqual(['1', '2']);
    const dlq = await local.client.send(
      new ReceiveMessageCommand({ QueueUrl: queues.deletions.dlqUrl }),
    );
    expect(dlq.Messages?.[0]?.Body).toBe('poison');
  });

  it('gathers more than 10 messages into one invocation within the batching window', async () => {
    // Prepare
    const queues = await freshQueues();
    for (let i = 0; i < 3; i += 1) {
      await local.client.send(
        new SendMessageBatchCommand({
          QueueUrl: queues.deletions.url,
          Entries: Array.from({ length: 10 }, (_, j) => ({
            Id: `m${j}`,
            MessageBody: `${i}-${j}`,
          })),
        }),
      );
    }
    const sizes: number[] = [];
    const source = startEventSource({
      sqs: local.client,
      queueUrl: queues.deletions.url,
      queueArn: queues.deletions.arn,
      region: local.region,
      invoker: inProcessInvoker(async (event) => {
        sizes.push(event.Records.length);
        return { batchItemFailures: [] };
      }),
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      concurrency: 1,
    });

    // Act
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) === 30);
    await source.stop();

    // Assess
    expect(sizes).toEqual([30]);
  });
});

describe('worker invoker', () => {
  let dir: string;
  let modulePath: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'runner-'));
    modulePath = path.join(dir, 'handler.mjs');
    await writeFile(
      modulePath,
      [
        'let invocations = 0;',
        'const coldStartLane = process.env.LANE;',
        'export const handler = async (event, context) => {',
        '  invocations += 1;',
        '  if (event.Records[0]?.body === "sleep") await new Promise((r) => setTimeout(r, 5000));',
        '  if (event.Records[0]?.body === "chatty") {',
        '    for (let i = 0; i < 300; i += 1) { console.log("out " + i + " " + "x".repeat(2000)); console.warn("err " + i + " " + "y".repeat(2000)); }',
        '    return { batchItemFailures: [] };',
        '  }',
        '  console.log(JSON.stringify({ lane: coldStartLane, invocations, remaining: context.getRemainingTimeInMillis(), secret: process.env.SECRET ?? null }));',
        '  return { batchItemFailures: [] };',
        '};',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const event = (body: string): SQSEvent =>
    ({ Records: [{ messageId: '1', body }] }) as unknown as SQSEvent;

  it('runs a module in its own sandbox with only the given env, warm across invocations', async () => {
    // Prepare
    const lines: string[] = [];
    const invoker = workerInvoker({
      module: modulePath,
      env: { LANE: 'deletions' },
      onStdout: (l) => lines.push(l),
    });

    // Act
    await invoker.invoke(event('x'), { timeoutMs: 3_000 });
    await invoker.invoke(event('x'), { timeoutMs: 3_000 });
    await waitFor(() => lines.length === 2);
    await invoker.close();

    // Assess
    const logs = lines.map(
      (l) =>
        JSON.parse(l) as { lane: string; invocations: number; remaining: number; secret: null },
    );
    expect(logs.map((l) => [l.lane, l.invocations, l.secret])).toEqual([
      ['deletions', 1, null],
      ['deletions', 2, null],
    ]);
    expect(logs[0]?.remaining).toBeGreaterThan(0);
    expect(logs[0]?.remaining).toBeLessThanOrEqual(3_000);
  });

  it('answers only after every stdout and stderr line of the invocation has been delivered', async () => {
    // Prepare: Powertools writes INFO to stdout and WARN/ERROR to stderr; the local report reads both
    const out: string[] = [];
    const err: string[] = [];
    const invoker = workerInvoker({
      module: modulePath,
      env: { LANE: 'deletions' },
      onStdout: (l) => out.push(l),
      onStderr: (l) => err.push(l),
    });

    // Act
    const response = await invoker.invoke(event('chatty'), { timeoutMs: 10_000 });
    const seen = { out: out.length, err: err.length };
    await invoker.close();

    // Assess: nothing arrives after the answer, and the end markers never reach the callbacks
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual({ out: 300, err: 300 });
    expect(out[299]).toMatch(/^out 299 /);
    expect(err[299]).toMatch(/^err 299 /);
  });

  it('times out like Lambda and cold-starts a fresh instance afterwards', async () => {
    // Prepare
    const lines: string[] = [];
    const invoker = workerInvoker({
      module: modulePath,
      env: { LANE: 'changes' },
      onStdout: (l) => lines.push(l),
    });

    // Act
    const timedOut = invoker.invoke(event('sleep'), { timeoutMs: 300 });
    await expect(timedOut).rejects.toBeInstanceOf(InvocationTimeoutError);
    await invoker.invoke(event('x'), { timeoutMs: 3_000 });
    await waitFor(() => lines.length === 1);
    await invoker.close();

    // Assess: the second instance counts from 1 again (a new module scope).
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ lane: 'changes', invocations: 1 });
  });

  it('kills a chosen invocation mid-batch: nothing is deleted and the batch returns after its visibility timeout', async () => {
    // Prepare: at rate 0.5 the first of every two invocations is killed; the draw puts the kill 200 ms in
    const queues = await freshQueues({ visibilityTimeoutSeconds: 1 });
    const draws = [0.5];
    const invocations: InvocationInfo[] = [];
    const invoker = workerInvoker({ module: modulePath, env: { LANE: 'changes' } });
    await local.client.send(
      new SendMessageCommand({ QueueUrl: queues.deletions.url, MessageBody: 'sleep' }),
    );
    const source = startEventSource({
      sqs: local.client,
      queueUrl: queues.deletions.url,
      queueArn: queues.deletions.arn,
      region: local.region,
      invoker,
      concurrency: 1,
      functionTimeoutMs: 8_000,
      kill: { rate: 0.5, withinMs: 400, random: () => draws.shift() ?? 0.99 },
      onInvocation: (info) => invocations.push(info),
    });

    // Act: the killed run, then the redelivery, which sleeps 5 s and succeeds
    await waitFor(() => invocations.length === 2, 20_000);
    await source.stop();
    await invoker.close();

    // Assess
    expect(invocations[0]).toMatchObject({ killed: true, deletedIds: [] });
    expect(invocations[0]?.error?.name).toBe('InvocationKilledError');
    expect(invocations[1]?.killed).toBeUndefined();
    expect(invocations[1]?.deletedIds).toHaveLength(1);
    expect(source.stats.killed).toBe(1);
  }, 30_000);
});
