import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type BatchLoopDeps,
  createBatchHandler,
  type MessageResult,
} from '../../../../lib/batch/index.ts';
import { deleteBody, updateBody } from '../../../support/commands.ts';
import {
  FakeClock,
  lambdaContext,
  RecordingLogger,
  RecordingMetrics,
} from '../../../support/ports.ts';
import { apiError, FakePostHogClient } from '../../../support/posthog-client.ts';
import { InMemoryQueueOps } from '../../../support/queue-ops.ts';
import {
  FIFO_QUEUE_ARN,
  FIRST_RECEIVED_AT,
  fifoRecord,
  sqsEvent,
  sqsRecord,
} from '../../../support/sqs-records.ts';

// Every branch of the batch loop, through its public entry point (`createBatchHandler`) with in-memory fakes for
// every injected dependency: the queue actions, the PostHog client, the logger, the metrics and the clock. The real
// parser, planner and executor run in between. The same behaviours against fauxqs and the PostHog emulator are in
// the integration tier (test/integration/lib/batch/process-batch.test.ts).

const UUID_1 = '0190a3c2-5b7e-7cde-8f01-000000000001';
const UUID_2 = '0190a3c2-5b7e-7cde-8f01-000000000002';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-relay-changes.fifo';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-relay-changes-dlq.fifo';
const STANDARD_DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-relay-dlq';

function setup(
  lane: 'deletions' | 'changes',
  overrides: Partial<BatchLoopDeps> & { remainingMs?: number } = {},
) {
  const clock = new FakeClock();
  const client = new FakePostHogClient({ ada: UUID_1, bob: UUID_2 });
  const queueOps = new InMemoryQueueOps();
  const logger = new RecordingLogger();
  const metrics = new RecordingMetrics();
  let clientsBuilt = 0;
  const { remainingMs = 30_000, ...deps } = overrides;
  const handler = createBatchHandler({
    lane,
    queueUrl: QUEUE_URL,
    dlqUrl: lane === 'changes' ? DLQ_URL : STANDARD_DLQ_URL,
    queueOps,
    getClient: async () => {
      clientsBuilt += 1;
      return client;
    },
    retry: { baseDelaySeconds: 30, maxDelaySeconds: 900 },
    safetyMarginMs: 1_000,
    logger,
    metrics,
    now: clock.now,
    random: () => 0,
    ...deps,
  });
  return {
    clock,
    client,
    queueOps,
    logger,
    metrics,
    clientsBuilt: () => clientsBuilt,
    run: (event: SQSEvent) => handler(event, lambdaContext(clock, remainingMs)),
  };
}

const result = (results: ReadonlyMap<string, MessageResult>, record: SQSRecord) =>
  results.get(record.messageId);

const audit = (logger: RecordingLogger) =>
  logger.withMessage('message outcome').map((line) => ({ level: line.level, ...line.extra }));

describe('batch loop: applied messages', () => {
  it('acknowledges applied messages, changes no visibility and passes the invocation deadline to the client', async () => {
    // Prepare: two deletes of the deletions lane, coalesced into one bulk_delete
    const { client, queueOps, clock, run } = setup('deletions');
    const a = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }));
    const b = sqsRecord(deleteBody('del-2', { personUuids: [UUID_2] }));
    const startedAt = clock.now();

    // Act
    const { response, results } = await run(sqsEvent(a, b));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result(results, a)).toEqual({ action: 'acknowledge', status: 'applied' });
    expect(result(results, b)).toEqual({ action: 'acknowledge', status: 'applied' });
    expect(queueOps.calls).toEqual([]);
    expect(client.calls).toHaveLength(1);
    expect(client.calls[0]).toMatchObject({
      method: 'bulkDelete',
      args: [{ ids: [UUID_1, UUID_2] }, expect.anything()],
      // startedAt + remaining time − safety margin
      options: { deadline: startedAt + 30_000 - 1_000 },
    });
  });

  it('writes properties with update_property by default and with capture when configured', async () => {
    // Prepare
    const body = updateBody('upd-1', { distinctId: 'ada', set: { plan: 'pro' } });
    const byApi = setup('changes');
    const byCapture = setup('changes', { propertyWrites: 'capture' });

    // Act
    await byApi.run(sqsEvent(fifoRecord(body, 'd:ada')));
    await byCapture.run(sqsEvent(fifoRecord(body, 'd:ada')));

    // Assess
    expect(byApi.client.callsOf('updateProperty').map((c) => c.args)).toEqual([
      [UUID_1, 'plan', 'pro'],
    ]);
    expect(byApi.client.callsOf('captureBatch')).toEqual([]);
    expect(byCapture.client.callsOf('captureBatch')).toHaveLength(1);
    expect(byCapture.client.callsOf('updateProperty')).toEqual([]);
  });

  it('answers an event without Records with an empty response, and still counts and flushes', async () => {
    // Prepare
    const { metrics, logger, clientsBuilt, run } = setup('deletions');

    // Act
    const { response, results } = await run({} as SQSEvent);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(results.size).toBe(0);
    expect(clientsBuilt()).toBe(0);
    expect(metrics.counts).toContainEqual({
      name: 'MessagesReceived',
      value: 0,
      dimensions: {},
    });
    expect(metrics.flushes).toBe(1);
    expect(logger.withMessage('batch done')[0]?.extra).toMatchObject({ messages: 0, applied: 0 });
  });
});

describe('batch loop: rejected messages go to the DLQ with their reason', () => {
  it('dead-letters an unparsable body with the parser code, all five attributes, and acknowledges it', async () => {
    // Prepare
    const { queueOps, metrics, logger, clientsBuilt, run } = setup('deletions');
    const bad = sqsRecord('{"type":"persons.delete"');

    // Act
    const { response, results } = await run(sqsEvent(bad));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result(results, bad)).toEqual({
      action: 'acknowledge',
      status: 'rejected',
      code: 'not_json',
      reason: 'The message body is not valid JSON',
    });
    expect(queueOps.lettersIn(STANDARD_DLQ_URL)).toEqual([
      {
        id: bad.messageId,
        body: '{"type":"persons.delete"',
        attributes: {
          error_code: 'not_json',
          error_reason: 'The message body is not valid JSON',
          original_message_id: bad.messageId,
          source_queue: bad.eventSourceARN,
          first_received_at: new Date(FIRST_RECEIVED_AT).toISOString(),
        },
      },
    ]);
    // a standard DLQ takes no group or deduplication id
    expect(queueOps.deadLetters.get(STANDARD_DLQ_URL)?.[0]).not.toHaveProperty('groupId');
    expect(queueOps.deadLetters.get(STANDARD_DLQ_URL)?.[0]).not.toHaveProperty('deduplicationId');
    expect(clientsBuilt()).toBe(0);
    expect(metrics.counts).toContainEqual({
      name: 'MessagesRejected',
      value: 1,
      dimensions: { reason: 'not_json' },
    });
    expect(audit(logger)).toEqual([
      {
        level: 'warn',
        correlation_id: bad.messageId,
        messageId: bad.messageId,
        commandType: null,
        receiveCount: 1,
        outcome: 'rejected',
        code: 'not_json',
        reason: 'The message body is not valid JSON',
      },
    ]);
  });

  it('dead-letters a schema violation as invalid_field, naming the path', async () => {
    // Prepare
    const { queueOps, run } = setup('deletions');
    const bad = sqsRecord(
      JSON.stringify({
        type: 'persons.delete',
        id: 'd-1',
        time: '2026-11-28T09:00:00Z',
        data: { distinctIds: [42] },
      }),
    );

    // Act
    const { results } = await run(sqsEvent(bad));

    // Assess
    expect(result(results, bad)).toMatchObject({
      action: 'acknowledge',
      status: 'rejected',
      code: 'invalid_field',
      reason: expect.stringMatching(/^data\.distinctIds\[0\]/),
    });
    expect(queueOps.lettersIn(STANDARD_DLQ_URL)[0]?.attributes['error_code']).toBe('invalid_field');
  });

  it('answers a body that cannot even be turned into text as not_json instead of crashing the batch', async () => {
    // Prepare: bodies are strings on Lambda; these two are not, and converting them throws (an Error, a string)
    const { queueOps, run } = setup('deletions');
    const throwsError = sqsRecord('');
    const throwsString = sqsRecord('');
    Object.assign(throwsError, {
      body: {
        toString() {
          throw new Error('unreadable');
        },
      },
    });
    Object.assign(throwsString, {
      body: {
        toString() {
          throw 'unreadable too';
        },
      },
    });

    // Act
    const { response, results } = await run(sqsEvent(throwsError, throwsString));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result(results, throwsError)).toMatchObject({
      code: 'not_json',
      reason: 'could not be parsed: Error: unreadable',
    });
    expect(result(results, throwsString)).toMatchObject({
      code: 'not_json',
      reason: 'could not be parsed: unreadable too',
    });
    expect(queueOps.lettersIn(STANDARD_DLQ_URL)).toHaveLength(2);
  });

  it('dead-letters a valid command sent to the other lane, naming where it belongs, without building a client', async () => {
    // Prepare: a property update (changes lane) on the deletions queue
    const { client, clientsBuilt, queueOps, logger, run } = setup('deletions');
    const lost = sqsRecord(updateBody('lost-1', { distinctId: 'ada', set: { plan: 'team' } }));

    // Act
    const { response, results } = await run(sqsEvent(lost));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const reason =
      'type: "person.properties.update" belongs on the changes queue, not the deletions queue; send it there';
    expect(result(results, lost)).toEqual({
      action: 'acknowledge',
      status: 'rejected',
      code: 'wrong_lane',
      reason,
    });
    expect(queueOps.lettersIn(STANDARD_DLQ_URL)[0]?.attributes).toMatchObject({
      error_code: 'wrong_lane',
      error_reason: reason,
    });
    expect(clientsBuilt()).toBe(0);
    expect(client.calls).toEqual([]);
    expect(audit(logger)[0]).toMatchObject({
      correlation_id: 'lost-1',
      commandType: 'person.properties.update',
      outcome: 'rejected',
    });
  });

  it('reports a rejection whose DLQ send failed as a retry, never dropping it', async () => {
    // Prepare
    const { queueOps, metrics, logger, run } = setup('deletions');
    const bad = sqsRecord('not json', { receiveCount: 2 });
    queueOps.failDeadLetterIds.add(bad.messageId);

    // Act
    const { response, results } = await run(sqsEvent(bad));

    // Assess: back off by receive count (30 s × 2) and come back
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
    expect(result(results, bad)).toEqual({
      action: 'fail',
      status: 'rejected',
      code: 'dlq_send_failed',
      reason: 'could not send to the DLQ: The message body is not valid JSON',
      delaySeconds: 60,
    });
    expect(queueOps.visibility.get(QUEUE_URL)?.get(bad.receiptHandle)).toBe(60);
    expect(audit(logger)[0]).toMatchObject({
      level: 'warn',
      outcome: 'retry',
      code: 'dlq_send_failed',
      retryInSeconds: 60,
    });
    expect(metrics.total('MessagesRetried')).toBe(1);
    expect(metrics.total('MessagesRejected')).toBe(0);
  });
});

describe('batch loop: dead-letter attributes', () => {
  it('keeps the producer attributes SQS has room for (10 in all), string and binary, never over ours', async () => {
    // Prepare: 8 producer attributes, one named like ours and one without a value
    const { queueOps, run } = setup('deletions');
    const bad = sqsRecord('nope', {
      messageAttributes: {
        error_code: { dataType: 'String', stringValue: 'forged' },
        tenant: { dataType: 'String', stringValue: 'acme' },
        blob: { dataType: 'Binary', binaryValue: Buffer.from('hi').toString('base64') },
        empty: { dataType: 'String' },
        fourth: { dataType: 'Number', stringValue: '4' },
        fifth: { dataType: 'String', stringValue: 'five' },
        sixth: { dataType: 'String', stringValue: 'six' },
        seventh: { dataType: 'String', stringValue: 'no room' },
      } as SQSRecord['messageAttributes'],
    });

    // Act
    await run(sqsEvent(bad));

    // Assess
    const [letter] = queueOps.deadLetters.get(STANDARD_DLQ_URL) ?? [];
    expect(Object.keys(letter?.attributes ?? {})).toEqual([
      'error_code',
      'error_reason',
      'original_message_id',
      'source_queue',
      'first_received_at',
      'tenant',
      'blob',
      'fourth',
      'fifth',
      'sixth',
    ]);
    expect(letter?.attributes['error_code']?.StringValue).toBe('not_json');
    expect(letter?.attributes['fourth']).toEqual({ DataType: 'Number', StringValue: '4' });
    expect(Buffer.from(letter?.attributes['blob']?.BinaryValue ?? []).toString()).toBe('hi');
  });

  it('writes "unknown" for a missing source queue or first-receive time, and cuts the reason to 1000 characters', async () => {
    // Prepare: a message failing at its last delivery with a very long PostHog error
    const { client, queueOps, run } = setup('deletions', { maxReceiveCount: 5 });
    client.script('bulkDelete', apiError(503, { detail: 'x'.repeat(3000) }));
    const last = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }), {
      receiveCount: 5,
      eventSourceARN: '',
      attributes: { ApproximateFirstReceiveTimestamp: 'garbage' },
    });

    // Act
    await run(sqsEvent(last));

    // Assess
    const [letter] = queueOps.lettersIn(STANDARD_DLQ_URL);
    expect(letter?.attributes['source_queue']).toBe('unknown');
    expect(letter?.attributes['first_received_at']).toBe('unknown');
    expect(letter?.attributes['error_reason']).toHaveLength(1000);
    expect(letter?.attributes['error_reason']).toMatch(
      /^failed at each of its 5 deliveries; last: http_503: bulk_delete failed: /,
    );
  });

  it('gives a FIFO DLQ entry its group id (or "dead-letter") and the message id as deduplication id', async () => {
    // Prepare
    const { queueOps, run } = setup('changes');
    const grouped = fifoRecord('nope', 'd:ada');
    const ungrouped = sqsRecord('nope too', { eventSourceARN: FIFO_QUEUE_ARN });

    // Act
    await run(sqsEvent(grouped, ungrouped));

    // Assess
    expect(
      (queueOps.deadLetters.get(DLQ_URL) ?? []).map((l) => [l.id, l.groupId, l.deduplicationId]),
    ).toEqual([
      [grouped.messageId, 'd:ada', grouped.messageId],
      [ungrouped.messageId, 'dead-letter', ungrouped.messageId],
    ]);
  });
});

describe('batch loop: retries with a delay', () => {
  it('delays a transient failure by exponential backoff on its receive count', async () => {
    // Prepare: the third receive of a delete whose call fails with 503
    const { client, queueOps, logger, metrics, run } = setup('deletions');
    client.script('bulkDelete', apiError(503));
    const record = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }), { receiveCount: 3 });

    // Act
    const { response, results } = await run(sqsEvent(record));

    // Assess: 30 s × 2² = 120 s, and the message is hidden that long
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(result(results, record)).toMatchObject({
      action: 'fail',
      status: 'retry',
      code: 'http_503',
      delaySeconds: 120,
    });
    expect(queueOps.calls).toEqual([
      {
        op: 'changeVisibility',
        queueUrl: QUEUE_URL,
        changes: [
          { id: record.messageId, receiptHandle: record.receiptHandle, visibilityTimeout: 120 },
        ],
      },
    ]);
    expect(audit(logger)[0]).toMatchObject({
      level: 'warn',
      correlation_id: 'del-1',
      outcome: 'retry',
      code: 'http_503',
      retryInSeconds: 120,
    });
    expect(metrics.total('MessagesRetried')).toBe(1);
  });

  it('caps the backoff at the policy maximum and adds jitter from the injected random source', async () => {
    // Prepare
    const capped = setup('deletions');
    const jittered = setup('deletions', { random: () => 0.5 });
    capped.client.script('bulkDelete', apiError(503));
    jittered.client.script('bulkDelete', apiError(503));
    const late = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }), { receiveCount: 20 });
    const first = sqsRecord(deleteBody('del-2', { personUuids: [UUID_1] }));

    // Act
    const cappedRun = await capped.run(sqsEvent(late));
    const jitteredRun = await jittered.run(sqsEvent(first));

    // Assess: min(900, 30 × 2¹⁹) = 900; 30 + ⌊30 × 0.2 × 0.5⌋ = 33
    expect(result(cappedRun.results, late)).toMatchObject({ delaySeconds: 900 });
    expect(result(jitteredRun.results, first)).toMatchObject({ delaySeconds: 33 });
  });

  it("honours a Retry-After longer than the backoff, and keeps PostHog's code", async () => {
    // Prepare
    const { client, run } = setup('deletions');
    client.script('bulkDelete', apiError(429, {}, { 'retry-after': '300' }));
    const record = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }));

    // Act
    const { results } = await run(sqsEvent(record));

    // Assess
    expect(result(results, record)).toMatchObject({ code: 'throttled', delaySeconds: 300 });
  });

  it('reads a missing or unreadable receive count as the first receive', async () => {
    // Prepare
    const { client, run } = setup('deletions');
    client.script('bulkDelete', apiError(503));
    const record = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }), {
      attributes: { ApproximateReceiveCount: 'many' },
    });

    // Act
    const { results } = await run(sqsEvent(record));

    // Assess
    expect(result(results, record)).toMatchObject({ delaySeconds: 30 });
  });

  it('retries only the messages whose persons PostHog reported in deletion_errors', async () => {
    // Prepare
    const { client, run } = setup('deletions');
    client.failDeletionOf.add(UUID_2);
    const ok = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }));
    const failed = sqsRecord(deleteBody('del-2', { personUuids: [UUID_2] }));

    // Act
    const { response, results } = await run(sqsEvent(ok, failed));

    // Assess: the executor suggests 60 s, longer than the first backoff step
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failed.messageId }] });
    expect(result(results, ok)).toEqual({ action: 'acknowledge', status: 'applied' });
    expect(result(results, failed)).toMatchObject({ code: 'deletion_errors', delaySeconds: 60 });
  });

  it('retries rejected credentials (401/403) with backoff instead of dead-lettering good messages', async () => {
    // Prepare
    const { client, queueOps, run } = setup('changes');
    client.script('updateProperty', apiError(403, { detail: 'missing scope person:write' }));
    const record = fifoRecord(updateBody('upd-1', { uuid: UUID_1, set: { plan: 'pro' } }), 'u:1');

    // Act
    const { response, results } = await run(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(result(results, record)).toMatchObject({
      action: 'fail',
      status: 'retry',
      code: 'posthog_auth',
      reason: expect.stringMatching(/^PostHog refused the credentials \(fix the secret\): /),
      delaySeconds: 30,
    });
    expect(queueOps.deadLetters.size).toBe(0);
  });

  it('starts no PostHog call without time left, and retries without backoff', async () => {
    // Prepare: 500 ms left against a 1000 ms safety margin, on a fifth receive
    const { clientsBuilt, client, queueOps, run } = setup('deletions', { remainingMs: 500 });
    const record = sqsRecord(deleteBody('late-1', { distinctIds: ['ada'] }), { receiveCount: 5 });

    // Act
    const { response, results } = await run(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(result(results, record)).toEqual({
      action: 'fail',
      status: 'retry',
      code: 'deadline',
      reason: 'not enough Lambda time left to start PostHog calls',
      delaySeconds: 0,
    });
    expect(clientsBuilt()).toBe(0);
    expect(client.calls).toEqual([]);
    expect(queueOps.visibility.get(QUEUE_URL)?.get(record.receiptHandle)).toBe(0);
  });

  it('retries without backoff the calls the deadline cut off mid-plan', async () => {
    // Prepare: the lookup (stage 0) moves the clock past the deadline, so the update (stage 1) never starts
    const { client, clock, run } = setup('changes');
    client.onCall = (call) => {
      if (call.method === 'batchByDistinctIds') clock.advance(60_000);
    };
    const record = fifoRecord(
      updateBody('upd-1', { distinctId: 'ada', set: { plan: 'pro' } }),
      'd:ada',
      {
        receiveCount: 4,
      },
    );

    // Act
    const { results } = await run(sqsEvent(record));

    // Assess
    expect(client.callsOf('updateProperty')).toEqual([]);
    expect(result(results, record)).toMatchObject({
      status: 'retry',
      code: 'deadline',
      delaySeconds: 0,
    });
  });

  it('retries every valid message with internal_error when the client cannot be built, and logs why', async () => {
    // Prepare: the secret cannot be read; one more message is unparsable
    const { queueOps, logger, run } = setup('deletions', {
      getClient: async () => {
        throw new Error('secret unavailable');
      },
    });
    const valid = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }));
    const bad = sqsRecord('nope');

    // Act
    const { response, results } = await run(sqsEvent(valid, bad));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: valid.messageId }] });
    expect(result(results, valid)).toEqual({
      action: 'fail',
      status: 'retry',
      code: 'internal_error',
      reason: 'Error: secret unavailable',
      delaySeconds: 30,
    });
    expect(queueOps.lettersIn(STANDARD_DLQ_URL).map((l) => l.id)).toEqual([bad.messageId]);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        message: 'batch could not be planned or executed; retrying every message',
        extra: { error: 'Error: secret unavailable' },
      },
    ]);
  });

  it('still reports the retries whose visibility change failed, and warns', async () => {
    // Prepare
    const { client, queueOps, logger, run } = setup('deletions');
    client.script('bulkDelete', apiError(503));
    const record = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }));
    queueOps.failVisibilityIds.add(record.messageId);

    // Act
    const { response } = await run(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(logger.withMessage('could not change the visibility of some retried messages')).toEqual([
      {
        level: 'warn',
        message: 'could not change the visibility of some retried messages',
        extra: { messageIds: [record.messageId] },
      },
    ]);
  });
});

describe('batch loop: last delivery', () => {
  it('dead-letters a message failing at its last delivery as retries_exhausted, with its last reason', async () => {
    // Prepare
    const { client, queueOps, metrics, run } = setup('deletions', { maxReceiveCount: 50 });
    client.script('bulkDelete', apiError(503));
    const last = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }), { receiveCount: 50 });

    // Act
    const { response, results } = await run(sqsEvent(last));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result(results, last)).toMatchObject({
      action: 'acknowledge',
      status: 'rejected',
      code: 'retries_exhausted',
      reason: expect.stringMatching(
        /^failed at each of its 50 deliveries; last: http_503: bulk_delete failed: /,
      ),
    });
    expect(queueOps.lettersIn(STANDARD_DLQ_URL)[0]?.attributes['error_code']).toBe(
      'retries_exhausted',
    );
    expect(metrics.counts).toContainEqual({
      name: 'MessagesRejected',
      value: 1,
      dimensions: { reason: 'retries_exhausted' },
    });
  });

  it('still retries before the last delivery, and always when no maxReceiveCount is set', async () => {
    // Prepare
    const limited = setup('deletions', { maxReceiveCount: 50 });
    const unlimited = setup('deletions');
    limited.client.script('bulkDelete', apiError(503));
    unlimited.client.script('bulkDelete', apiError(503));
    const before = sqsRecord(deleteBody('del-1', { personUuids: [UUID_1] }), { receiveCount: 49 });
    const late = sqsRecord(deleteBody('del-2', { personUuids: [UUID_1] }), { receiveCount: 50 });

    // Act
    const limitedRun = await limited.run(sqsEvent(before));
    const unlimitedRun = await unlimited.run(sqsEvent(late));

    // Assess
    expect(result(limitedRun.results, before)).toMatchObject({ status: 'retry', code: 'http_503' });
    expect(result(unlimitedRun.results, late)).toMatchObject({ status: 'retry', code: 'http_503' });
  });
});

describe('batch loop: FIFO order', () => {
  it('fails the rest of a group after a retry, as long as the blocker waits, and lets other groups go on', async () => {
    // Prepare: ada's first update fails (503, third receive); her second would succeed; bob's succeeds
    const { client, metrics, run } = setup('changes');
    client.handle('updateProperty', ([person, key]) => {
      if (person === UUID_1 && key === 'tier') throw apiError(503);
      return { accepted: true };
    });
    const a1 = fifoRecord(updateBody('a1', { uuid: UUID_1, set: { tier: 'gold' } }), 'g:ada', {
      receiveCount: 3,
    });
    const b1 = fifoRecord(updateBody('b1', { uuid: UUID_2, set: { tier: 'silver' } }), 'g:bob');
    // An unset, so that it is its own call (a person's set keys in one batch share one PATCH since issue 15).
    const a2 = fifoRecord(updateBody('a2', { uuid: UUID_1, unset: ['seats'] }), 'g:ada');

    // Act
    const { response, results } = await run(sqsEvent(a1, b1, a2));

    // Assess
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: a1.messageId }, { itemIdentifier: a2.messageId }],
    });
    expect(result(results, a1)).toMatchObject({
      action: 'fail',
      code: 'http_503',
      delaySeconds: 120,
    });
    expect(result(results, a2)).toEqual({
      action: 'fail',
      status: 'retry',
      code: 'fifo_group_blocked',
      reason: 'an earlier message of group g:ada failed (http_503); order is kept',
      // the blocker's delay, not its own first-receive 30 s
      delaySeconds: 120,
    });
    expect(result(results, b1)).toEqual({ action: 'acknowledge', status: 'applied' });
    expect(metrics.total('MessagesRetried')).toBe(2);
    expect(metrics.total('MessagesApplied')).toBe(1);
  });

  it('holds back an invalid message behind a failed one of its group instead of dead-lettering it out of order', async () => {
    // Prepare
    const { client, queueOps, run } = setup('changes');
    client.script('updateProperty', apiError(503));
    const first = fifoRecord(updateBody('f1', { uuid: UUID_1, set: { tier: 'gold' } }), 'g:ada');
    const invalid = fifoRecord('not json', 'g:ada');

    // Act
    const { results } = await run(sqsEvent(first, invalid));

    // Assess
    expect(result(results, invalid)).toMatchObject({
      action: 'fail',
      code: 'fifo_group_blocked',
      delaySeconds: 30,
    });
    expect(queueOps.deadLetters.size).toBe(0);
  });

  it('lets a group flow past a rejected message: it will never be applied, so it cannot be out of order', async () => {
    // Prepare
    const { queueOps, run } = setup('changes');
    const invalid = fifoRecord('not json', 'g:ada');
    const next = fifoRecord(updateBody('n1', { uuid: UUID_1, set: { tier: 'gold' } }), 'g:ada');

    // Act
    const { response, results } = await run(sqsEvent(invalid, next));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result(results, next)).toEqual({ action: 'acknowledge', status: 'applied' });
    expect(queueOps.lettersIn(DLQ_URL).map((l) => l.id)).toEqual([invalid.messageId]);
  });

  it('unblocks the group when its blocker is dead-lettered at its last delivery', async () => {
    // Prepare: the blocker fails for the 10th and last time; its successor is fine
    const { client, queueOps, run } = setup('changes', { maxReceiveCount: 10 });
    client.script('updateProperty', apiError(503));
    const blocker = fifoRecord(updateBody('x1', { uuid: UUID_1, set: { tier: 'gold' } }), 'g:ada', {
      receiveCount: 10,
    });
    // An unset: its own call (set keys of one person in a batch share one PATCH since issue 15).
    const successor = fifoRecord(updateBody('x2', { uuid: UUID_1, unset: ['seats'] }), 'g:ada', {
      receiveCount: 10,
    });

    // Act
    const { response, results } = await run(sqsEvent(blocker, successor));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result(results, blocker)).toMatchObject({ code: 'retries_exhausted' });
    expect(result(results, successor)).toEqual({ action: 'acknowledge', status: 'applied' });
    expect(queueOps.lettersIn(DLQ_URL).map((l) => l.id)).toEqual([blocker.messageId]);
  });

  it('never blocks on the standard (deletions) lane', async () => {
    // Prepare: two deletes; the first person's deletion fails
    const { client, run } = setup('deletions');
    client.failDeletionOf.add(UUID_1);
    const first = sqsRecord(deleteBody('d1', { personUuids: [UUID_1] }));
    const second = sqsRecord(deleteBody('d2', { personUuids: [UUID_2] }));

    // Act
    const { results } = await run(sqsEvent(first, second));

    // Assess
    expect(result(results, first)).toMatchObject({ status: 'retry' });
    expect(result(results, second)).toEqual({ action: 'acknowledge', status: 'applied' });
  });
});

describe('batch loop: report, logs and metrics', () => {
  it('logs one audit line per message and a batch summary, counts every outcome and flushes once', async () => {
    // Prepare: one applied, one retried, two rejected for different reasons; each client call takes 250 ms
    const { client, clock, logger, metrics, run } = setup('changes');
    client.onCall = () => clock.advance(250);
    client.handle('updateProperty', ([person]) => {
      if (person === UUID_2) throw apiError(503);
      return { accepted: true };
    });
    const applied = fifoRecord(updateBody('ok-1', { uuid: UUID_1, set: { a: 1 } }), 'g1');
    const retried = fifoRecord(updateBody('re-1', { uuid: UUID_2, set: { b: 2 } }), 'g2');
    const notJson = fifoRecord('nope', 'g3');
    const wrongLane = fifoRecord(deleteBody('wl-1', { personUuids: [UUID_1] }), 'g4');

    // Act
    const { response } = await run(sqsEvent(applied, retried, notJson, wrongLane));

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: retried.messageId }] });
    expect(audit(logger)).toEqual([
      expect.objectContaining({ level: 'info', correlation_id: 'ok-1', outcome: 'applied' }),
      expect.objectContaining({
        level: 'warn',
        correlation_id: 're-1',
        commandType: 'person.properties.update',
        outcome: 'retry',
        retryInSeconds: 30,
      }),
      expect.objectContaining({ level: 'warn', outcome: 'rejected', code: 'not_json' }),
      expect.objectContaining({ level: 'warn', correlation_id: 'wl-1', code: 'wrong_lane' }),
    ]);
    expect(audit(logger)[0]).not.toHaveProperty('code');
    expect(audit(logger)[0]).not.toHaveProperty('retryInSeconds');
    expect(logger.withMessage('batch done')[0]?.extra).toEqual({
      requestId: 'req-1',
      messages: 4,
      applied: 1,
      retried: 1,
      rejected: 2,
      plannedCalls: 2,
      lowerBound: 2,
      naiveCalls: 2,
      durationMs: 500,
    });
    expect(metrics.counts).toEqual([
      { name: 'MessagesReceived', value: 4, dimensions: {} },
      { name: 'MessagesApplied', value: 1, dimensions: {} },
      { name: 'MessagesRetried', value: 1, dimensions: {} },
      { name: 'MessagesRejected', value: 1, dimensions: { reason: 'not_json' } },
      { name: 'MessagesRejected', value: 1, dimensions: { reason: 'wrong_lane' } },
    ]);
    expect(metrics.flushes).toBe(1);
  });
});
