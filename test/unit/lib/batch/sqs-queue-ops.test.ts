import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type DeadLetter, sqsQueueOps } from '../../../../lib/batch/index.ts';

// The SQS adapter of the batch loop's QueueOps port, with an in-memory `send` in place of the SDK client: the batch
// limits (10 entries, 200,000 bytes per send), per-entry failures mapped back to message ids, and a failed request
// failing only its own chunk. fauxqs exercises the same adapter in the integration tier.

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-relay-deletions';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/persons-relay-changes-dlq.fifo';

type Command = ChangeMessageVisibilityBatchCommand | SendMessageBatchCommand;

/** Records every command; `answer` decides the response of each (by call index), or throws. */
function fakeSqs(answer: (command: Command, call: number) => unknown = () => ({})) {
  const commands: Command[] = [];
  const client: Pick<SQSClient, 'send'> = {
    send: (async (command: Command) => {
      commands.push(command);
      return answer(command, commands.length - 1);
    }) as unknown as SQSClient['send'],
  };
  return { client, commands };
}

const changes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    receiptHandle: `rh${i}`,
    visibilityTimeout: 30 + i,
  }));

const letter = (id: string, body: string, extra: Partial<DeadLetter> = {}): DeadLetter => ({
  id,
  body,
  attributes: { error_code: { DataType: 'String', StringValue: 'not_json' } },
  ...extra,
});

describe('sqsQueueOps.changeVisibility', () => {
  it('sends at most 10 entries per ChangeMessageVisibilityBatch, with each receipt handle and timeout', async () => {
    // Prepare
    const { client, commands } = fakeSqs();

    // Act
    const { failedIds } = await sqsQueueOps(client).changeVisibility(QUEUE_URL, changes(23));

    // Assess
    expect(failedIds).toEqual([]);
    expect(commands.every((c) => c instanceof ChangeMessageVisibilityBatchCommand)).toBe(true);
    expect(commands.map((c) => c.input.Entries?.length)).toEqual([10, 10, 3]);
    expect(commands[2]?.input).toEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: 'e0', ReceiptHandle: 'rh20', VisibilityTimeout: 50 },
        { Id: 'e1', ReceiptHandle: 'rh21', VisibilityTimeout: 51 },
        { Id: 'e2', ReceiptHandle: 'rh22', VisibilityTimeout: 52 },
      ],
    });
  });

  it("maps failed entries back to message ids, ignores ids it never sent, and fails only a thrown request's chunk", async () => {
    // Prepare: chunk 0 reports e3 failed (and an unknown and a missing id); chunk 1 throws; chunk 2 succeeds
    const { client } = fakeSqs((_, call) => {
      if (call === 1) throw new Error('SQS unavailable');
      return call === 0 ? { Failed: [{ Id: 'e3' }, { Id: 'e99' }, {}] } : {};
    });

    // Act
    const { failedIds } = await sqsQueueOps(client).changeVisibility(QUEUE_URL, changes(25));

    // Assess
    expect(failedIds).toEqual(['m3', ...Array.from({ length: 10 }, (_, i) => `m${10 + i}`)]);
  });
});

describe('sqsQueueOps.sendToDeadLetterQueue', () => {
  it('closes a SendMessageBatch at 10 entries or before 200,000 bytes, counting UTF-8 bytes and attributes', async () => {
    // Prepare: 12 small letters, then three of 90,000 two-byte characters (180,000 bytes each)
    const { client, commands } = fakeSqs();
    const small = Array.from({ length: 12 }, (_, i) => letter(`s${i}`, 'x'));
    const large = ['l0', 'l1', 'l2'].map((id) => letter(id, 'é'.repeat(90_000)));

    // Act
    const { failedIds } = await sqsQueueOps(client).sendToDeadLetterQueue(DLQ_URL, [
      ...small,
      ...large,
    ]);

    // Assess: 10 by count; the last 2 small ones and the first large one fit (about 180,100 bytes); each other large
    // one goes alone (counted as 90,000 characters instead of 180,000 bytes, two would share a request)
    expect(failedIds).toEqual([]);
    expect(commands.every((c) => c instanceof SendMessageBatchCommand)).toBe(true);
    expect(commands.map((c) => (c.input.Entries ?? []).map((e) => e.Id).length)).toEqual([
      10, 3, 1, 1,
    ]);
  });

  it('counts the attributes in the 200,000 bytes as well as the body', async () => {
    // Prepare: two 99,900-byte bodies fit together; with a 5,000-character reason attribute each they do not
    const { client, commands } = fakeSqs();
    const reason = { DataType: 'String', StringValue: 'r'.repeat(5_000) };

    // Act
    await sqsQueueOps(client).sendToDeadLetterQueue(DLQ_URL, [
      letter('p0', 'x'.repeat(99_900)),
      letter('p1', 'x'.repeat(99_900)),
      letter('q0', 'x'.repeat(99_900), { attributes: { error_reason: reason } }),
      letter('q1', 'x'.repeat(99_900), { attributes: { error_reason: reason } }),
    ]);

    // Assess
    expect(commands.map((c) => (c.input.Entries ?? []).length)).toEqual([2, 1, 1]);
  });

  it('passes the body and attributes, and the FIFO group and deduplication ids only when given', async () => {
    // Prepare
    const { client, commands } = fakeSqs();

    // Act
    await sqsQueueOps(client).sendToDeadLetterQueue(DLQ_URL, [
      letter('a', 'body-a', { groupId: 'd:ada', deduplicationId: 'a' }),
      letter('b', 'body-b'),
    ]);

    // Assess
    const send = commands[0] as SendMessageBatchCommand;
    // Strict: a standard DLQ refuses a MessageGroupId even when it is undefined in the request.
    expect(send.input).toStrictEqual({
      QueueUrl: DLQ_URL,
      Entries: [
        {
          Id: 'e0',
          MessageBody: 'body-a',
          MessageAttributes: { error_code: { DataType: 'String', StringValue: 'not_json' } },
          MessageGroupId: 'd:ada',
          MessageDeduplicationId: 'a',
        },
        {
          Id: 'e1',
          MessageBody: 'body-b',
          MessageAttributes: { error_code: { DataType: 'String', StringValue: 'not_json' } },
        },
      ],
    });
  });

  it('maps failed entries back to message ids and fails every entry of a request that throws', async () => {
    // Prepare
    const { client } = fakeSqs((_, call) => {
      if (call === 1) throw new Error('KMS key disabled');
      return { Failed: [{ Id: 'e1', Code: 'InvalidParameterValue' }] };
    });
    const letters = Array.from({ length: 12 }, (_, i) => letter(`d${i}`, 'x'));

    // Act
    const { failedIds } = await sqsQueueOps(client).sendToDeadLetterQueue(DLQ_URL, letters);

    // Assess
    expect(failedIds).toEqual(['d1', 'd10', 'd11']);
  });
});
