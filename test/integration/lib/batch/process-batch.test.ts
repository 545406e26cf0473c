import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBatchHandler,
  type MessageResult,
  sqsQueueOps,
} from '../../../../lib/batch/index.ts';
import { PostHogClient } from '../../../../lib/posthog/index.ts';
import {
  demoSeed,
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';
import { RECORD_SYSTEM_ATTRIBUTES, toSqsRecord } from '../../../../local/runner/event.ts';
import { listDeadLetters } from '../../../../local/sqs/dlq.ts';
import {
  createLaneQueues,
  type LaneQueues,
  type LocalSqs,
  startLocalSqs,
} from '../../../../local/sqs/index.ts';
import { RecordingLogger, RecordingMetrics } from '../../../support/ports.ts';

// The batch loop with real parts: the PostHog emulator over HTTP, the real client, fauxqs for the SQS actions
// and records received from fauxqs (real receipt handles and attributes).

let sqs: LocalSqs;
let emulator: PostHogEmulator;
let prefix = 0;
let sent = 0;

beforeAll(async () => {
  sqs = await startLocalSqs();
  emulator = await startPostHogEmulator({ seed: demoSeed(), timeScale: 60 });
});

afterAll(async () => {
  await emulator.close();
  await sqs.stop();
});

/** A fetch that answers 503 (without reaching PostHog) for requests whose body matches. */
function failingFetch(match: RegExp): typeof fetch {
  return async (input, init) => {
    const body = typeof init?.body === 'string' ? init.body : '';
    if (match.test(body)) {
      return new Response(
        JSON.stringify({ type: 'server_error', code: 'error', detail: 'boom', attr: null }),
        {
          status: 503,
          headers: { 'content-type': 'application/json' },
        },
      );
    }
    return fetch(input, init);
  };
}

async function freshQueues(): Promise<LaneQueues> {
  prefix += 1;
  return createLaneQueues(sqs.client, { prefix: `pb${prefix}`, visibilityTimeoutSeconds: 30 });
}

/** Sends bodies (with FIFO group ids when given) and receives them back as a Lambda event. */
async function eventOf(
  queueUrl: string,
  queueArn: string,
  messages: { body: string; group?: string }[],
): Promise<SQSEvent> {
  await sqs.client.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => {
        sent += 1;
        return {
          Id: `m${i}`,
          MessageBody: m.body,
          ...(m.group ? { MessageGroupId: m.group, MessageDeduplicationId: `dedup-${sent}` } : {}),
        };
      }),
    }),
  );
  const records = [];
  while (records.length < messages.length) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: [...RECORD_SYSTEM_ATTRIBUTES],
        MessageAttributeNames: ['All'],
      }),
    );
    records.push(...(out.Messages ?? []).map((m) => toSqsRecord(m, queueArn, 'us-east-1')));
  }
  return { Records: records };
}

const update = (id: string, distinctId: string, set: Record<string, unknown>) =>
  JSON.stringify({
    type: 'person.properties.update',
    id,
    time: '2026-11-28T10:00:00Z',
    data: { distinctId, set },
  });

function handlerFor(
  queues: LaneQueues,
  lane: 'deletions' | 'changes',
  options: { fetch?: typeof fetch; dlqUrl?: string } = {},
) {
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  const client = new PostHogClient({
    host: emulator.url,
    projectId: emulator.projectId,
    personalApiKey: emulator.personalApiKey,
    projectToken: emulator.projectToken,
    maxRetries: 0,
    rateLimits: false,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const handler = createBatchHandler({
    lane,
    queueUrl: queues[lane].url,
    dlqUrl: options.dlqUrl ?? queues[lane].dlqUrl,
    queueOps: sqsQueueOps(sqs.client),
    getClient: async () => client,
    retry: { baseDelaySeconds: 30, maxDelaySeconds: 900 },
    safetyMarginMs: 1_000,
    logger,
    metrics,
    random: () => 0,
  });
  return { handler, metrics, logger };
}

const context = (remainingMs = 30_000) => {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now(), awsRequestId: 'test' };
};

async function inFlight(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessages'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
}

describe('batch loop', () => {
  it('on the FIFO lane, fails the rest of a group after a retry and lets other groups go on', async () => {
    // Prepare: ada's first update fails with a 503; her second one succeeds but must wait for it
    const queues = await freshQueues();
    const event = await eventOf(queues.changes.url, queues.changes.arn, [
      { body: update('a1', 'crm-1001', { tier: 'gold' }), group: 'd:crm-1001' },
      { body: update('b1', 'crm-1002', { tier: 'silver' }), group: 'd:crm-1002' },
    ]);
    const second = await eventOf(queues.changes.url, queues.changes.arn, [
      { body: update('a2', 'crm-1001', { seats: 5 }), group: 'd:crm-1001x' },
    ]);
    // fauxqs returns one message per group per receive; put ada's second message in her group by hand.
    const a1 = event.Records.find((r) => r.body.includes('"a1"'));
    const b1 = event.Records.find((r) => r.body.includes('"b1"'));
    const [a2raw] = second.Records;
    if (!a1 || !b1 || !a2raw) throw new Error('records missing');
    const a2 = { ...a2raw, attributes: { ...a2raw.attributes, MessageGroupId: 'd:crm-1001' } };
    const { handler, metrics } = handlerFor(queues, 'changes', {
      fetch: failingFetch(/"tier".*"gold"|"gold"/),
    });

    // Act
    const { response, results } = await handler({ Records: [a1, b1, a2] }, context());

    // Assess
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: a1.messageId }, { itemIdentifier: a2.messageId }],
    });
    expect(results.get(a1.messageId)).toMatchObject({
      action: 'fail',
      status: 'retry',
      code: 'http_503',
      delaySeconds: 30,
    });
    expect(results.get(a2.messageId)).toMatchObject({
      action: 'fail',
      code: 'fifo_group_blocked',
      delaySeconds: 30,
    });
    expect(results.get(b1.messageId)).toEqual<MessageResult>({
      action: 'acknowledge',
      status: 'applied',
    });
    expect(emulator.state.personByDistinctId('crm-1002')?.properties['tier']).toBe('silver');
    // the failed ones were hidden for their retry delay (still in flight), the applied one was not touched
    expect(await inFlight(queues.changes.url)).toBe(3);
    expect(metrics.total('MessagesRetried')).toBe(2);
    expect(metrics.total('MessagesApplied')).toBe(1);
    expect(metrics.flushes).toBe(1);
  });

  it('holds a blocked FIFO message back exactly as long as the message blocking its group', async () => {
    // Prepare: ada's first update fails (503) on its third receive; her second one arrives for the first time
    const queues = await freshQueues();
    const first = await eventOf(queues.changes.url, queues.changes.arn, [
      { body: update('h1', 'crm-1001', { tier: 'platinum' }), group: 'd:crm-1001' },
    ]);
    const second = await eventOf(queues.changes.url, queues.changes.arn, [
      { body: update('h2', 'crm-1001', { seats: 7 }), group: 'd:crm-1001-next' },
    ]);
    const [h1raw] = first.Records;
    const [h2raw] = second.Records;
    if (!h1raw || !h2raw) throw new Error('records missing');
    const h1 = { ...h1raw, attributes: { ...h1raw.attributes, ApproximateReceiveCount: '3' } };
    const h2 = { ...h2raw, attributes: { ...h2raw.attributes, MessageGroupId: 'd:crm-1001' } };
    const { handler } = handlerFor(queues, 'changes', { fetch: failingFetch(/"platinum"/) });

    // Act
    const { results } = await handler({ Records: [h1, h2] }, context());

    // Assess: 30 s × 2² for the blocker, and the same for the message behind it (not its own 30 s)
    expect(results.get(h1.messageId)).toMatchObject({ code: 'http_503', delaySeconds: 120 });
    expect(results.get(h2.messageId)).toMatchObject({
      code: 'fifo_group_blocked',
      delaySeconds: 120,
    });
  });

  it('sends a rejected message to the DLQ with its reason and acknowledges it', async () => {
    // Prepare
    const queues = await freshQueues();
    const event = await eventOf(queues.changes.url, queues.changes.arn, [
      { body: '{"type":"person.split"', group: 'g1' },
      { body: update('ok-1', 'crm-1003', { beta: true }), group: 'g2' },
    ]);
    const { handler, metrics, logger } = handlerFor(queues, 'changes');

    // Act
    const { response } = await handler(event, context());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const [letter] = await listDeadLetters(sqs.client, queues.changes.dlqUrl);
    const rejected = event.Records[0];
    expect(letter).toMatchObject({
      body: '{"type":"person.split"',
      errorCode: 'not_json',
      errorReason: 'The message body is not valid JSON',
      originalMessageId: rejected?.messageId,
      sourceQueue: queues.changes.arn,
      groupId: 'g1',
    });
    expect(new Date(letter?.firstReceivedAt ?? '').getTime()).toBe(
      Number(rejected?.attributes.ApproximateFirstReceiveTimestamp),
    );
    expect(metrics.counts).toContainEqual({
      name: 'MessagesRejected',
      value: 1,
      dimensions: { reason: 'not_json' },
    });
    const audit = logger.lines.filter((l) => l.message === 'message outcome').map((l) => l.extra);
    expect(audit).toContainEqual(
      expect.objectContaining({ correlation_id: 'ok-1', outcome: 'applied' }),
    );
    expect(audit).toContainEqual(
      expect.objectContaining({
        correlation_id: rejected?.messageId,
        outcome: 'rejected',
        code: 'not_json',
      }),
    );
  });

  it('dead-letters a valid command sent to the other lane, naming where it belongs, without calling PostHog', async () => {
    // Prepare: a property update (changes lane, FIFO) on the standard deletions queue
    const queues = await freshQueues();
    const event = await eventOf(queues.deletions.url, queues.deletions.arn, [
      { body: update('lost-1', 'crm-1005', { plan: 'team' }) },
    ]);
    const before = emulator.state.requestLog.length;
    const { handler, logger } = handlerFor(queues, 'deletions');

    // Act
    const { response, results } = await handler(event, context());

    // Assess
    const id = event.Records[0]?.messageId ?? '';
    expect(response).toEqual({ batchItemFailures: [] });
    expect(results.get(id)).toMatchObject({ action: 'acknowledge', code: 'wrong_lane' });
    const [letter] = await listDeadLetters(sqs.client, queues.deletions.dlqUrl);
    expect(letter).toMatchObject({
      errorCode: 'wrong_lane',
      errorReason:
        'type: "person.properties.update" belongs on the changes queue, not the deletions queue; send it there',
      originalMessageId: id,
    });
    expect(emulator.state.requestLog.length).toBe(before);
    expect(emulator.state.personByDistinctId('crm-1005')?.properties['plan']).not.toBe('team');
    const audit = logger.lines.find((l) => l.message === 'message outcome')?.extra;
    expect(audit).toMatchObject({
      correlation_id: 'lost-1',
      commandType: 'person.properties.update',
    });
  });

  it('reports a rejected message as a failure when the DLQ send fails, never dropping it', async () => {
    // Prepare: a DLQ URL that does not exist
    const queues = await freshQueues();
    const event = await eventOf(queues.deletions.url, queues.deletions.arn, [{ body: 'not json' }]);
    const missingDlq = `${queues.deletions.dlqUrl}-missing`;
    const { handler, logger, metrics } = handlerFor(queues, 'deletions', { dlqUrl: missingDlq });

    // Act
    const { response, results } = await handler(event, context());

    // Assess
    const id = event.Records[0]?.messageId ?? '';
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: id }] });
    expect(results.get(id)).toMatchObject({
      action: 'fail',
      status: 'rejected',
      code: 'dlq_send_failed',
    });
    // ...and it is reported as coming back (retry), not as dead-lettered
    const audit = logger.lines.find((l) => l.message === 'message outcome')?.extra;
    expect(audit).toMatchObject({ outcome: 'retry', code: 'dlq_send_failed' });
    expect(metrics.total('MessagesRetried')).toBe(1);
    expect(metrics.total('MessagesRejected')).toBe(0);
  });

  it('starts no PostHog call when the Lambda has no time left, and retries without backoff', async () => {
    // Prepare
    const queues = await freshQueues();
    const event = await eventOf(queues.deletions.url, queues.deletions.arn, [
      {
        body: JSON.stringify({
          type: 'persons.delete',
          id: 'late-1',
          time: '2026-11-28T10:00:00Z',
          data: { distinctIds: ['crm-1003'] },
        }),
      },
    ]);
    const before = emulator.state.requestLog.length;
    const { handler } = handlerFor(queues, 'deletions');

    // Act: 500 ms left, 1000 ms safety margin
    const { response, results } = await handler(event, context(500));

    // Assess
    const id = event.Records[0]?.messageId ?? '';
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: id }]);
    expect(results.get(id)).toMatchObject({ status: 'retry', code: 'deadline', delaySeconds: 0 });
    expect(emulator.state.requestLog.length).toBe(before);
    expect(emulator.state.personByDistinctId('crm-1003')).toBeDefined();
  });

  it('delays a transient failure by exponential backoff on its receive count', async () => {
    // Prepare: a third receive of a message whose call fails with 503
    const queues = await freshQueues();
    const event = await eventOf(queues.changes.url, queues.changes.arn, [
      { body: update('c1', 'crm-1004', { tier: 'gold' }), group: 'g' },
    ]);
    const record = event.Records[0];
    if (!record) throw new Error('no record');
    const third = { ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '3' } };
    const { handler } = handlerFor(queues, 'changes', { fetch: failingFetch(/"gold"/) });

    // Act
    const { results } = await handler({ Records: [third] }, context());

    // Assess: 30 s × 2² = 120 s
    expect(results.get(record.messageId)).toMatchObject({
      status: 'retry',
      code: 'http_503',
      delaySeconds: 120,
    });
  });
});
