import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../../../lib/messages/index.ts';
import { createProducer, type ProducerCommand } from '../../../../lib/producer/index.ts';
import { deleteCommand, mergeCommand, splitCommand, updateCommand } from '../messages/factories.ts';

let server: FauxqsServer;
let sqs: SQSClient;
let queueCount = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  sqs.destroy();
  await server.stop();
});

async function queues() {
  queueCount += 1;
  const deletions = await sqs.send(
    new CreateQueueCommand({ QueueName: `deletions-${queueCount}` }),
  );
  const changes = await sqs.send(
    new CreateQueueCommand({
      QueueName: `changes-${queueCount}.fifo`,
      Attributes: { FifoQueue: 'true' },
    }),
  );
  return { deletionsQueueUrl: deletions.QueueUrl ?? '', changesQueueUrl: changes.QueueUrl ?? '' };
}

async function drain(queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
      }),
    );
    if (Messages.length === 0) return out;
    out.push(...Messages);
    // Deleting releases the FIFO group, so the person's next message can be received.
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: `${i}`, ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

/** An SQS sender that counts SendMessageBatch calls and their sizes, then forwards to fauxqs. */
function counting() {
  const batches: number[] = [];
  return {
    batches,
    sender: {
      send: (command: SendMessageBatchCommand) => {
        batches.push(command.input.Entries?.length ?? 0);
        return sqs.send(command);
      },
    },
  };
}

const cmd = (raw: Record<string, unknown>, id: string) => ({ ...raw, id }) as ProducerCommand;

describe('createProducer against fauxqs', () => {
  it('routes deletes to the deletions queue and changes to the FIFO queue, 10 per batch', async () => {
    // Prepare
    const urls = await queues();
    const { batches, sender } = counting();
    const producer = createProducer({ sqs: sender, ...urls });
    const commands = [
      ...Array.from({ length: 12 }, (_, i) =>
        cmd(deleteCommand({ distinctIds: [`user-${i}`] }), `del-${i}`),
      ),
      cmd(updateCommand({ distinctId: 'crm-1', set: { plan: 'pro' } }), 'upd-1'),
      cmd(splitCommand({ distinctId: 'crm-1', distinctIdsToSplit: ['device-9'] }), 'split-1'),
      cmd(mergeCommand({ survivorDistinctId: 'crm-7', mergedDistinctIds: ['crm-8'] }), 'merge-1'),
    ];

    // Act
    const report = await producer.send(commands);

    // Assess
    expect(report.failed).toEqual([]);
    expect(report.sent.map((s) => [s.index, s.lane])).toEqual(
      commands.map((_, i) => [i, i < 12 ? 'deletions' : 'changes']),
    );
    expect(batches).toEqual([10, 2, 3]);
    const deletions = await drain(urls.deletionsQueueUrl);
    expect(deletions).toHaveLength(12);
    const changes = await drain(urls.changesQueueUrl);
    const received = changes.map((m) => [
      m.Attributes?.MessageGroupId,
      m.Attributes?.MessageDeduplicationId,
      JSON.parse(m.Body ?? '{}').type,
    ]);
    // FIFO orders within a group only: crm-1's update must come before its split.
    expect(received.filter(([group]) => group === 'crm-1')).toEqual([
      ['crm-1', 'upd-1', 'person.properties.update'],
      ['crm-1', 'split-1', 'person.split'],
    ]);
    expect(received.filter(([group]) => group !== 'crm-1')).toEqual([
      ['crm-7', 'merge-1', 'person.merge'],
    ]);
    for (const message of [...deletions, ...changes]) {
      expect(parseMessage(message.Body ?? '')).toMatchObject({ ok: true, envelope: 'bare' });
    }
  });

  it('reports invalid commands with the path and reason and sends the rest', async () => {
    const urls = await queues();
    const producer = createProducer({ sqs, ...urls });
    const report = await producer.send([
      cmd(deleteCommand({ distinctIds: ['ok'] }), 'good'),
      cmd(deleteCommand({ distinctIds: ['a', ''] }), 'bad-1'),
      cmd(mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['anonymous'] }), 'bad-2'),
      { type: 'person.create' } as unknown as ProducerCommand,
    ]);
    expect(report.sent.map((s) => s.id)).toEqual(['good']);
    expect(report.failed).toEqual([
      {
        index: 1,
        id: 'bad-1',
        code: 'invalid_field',
        path: 'data.distinctIds[1]',
        reason: 'data.distinctIds[1]: must be a non-empty string',
      },
      {
        index: 2,
        id: 'bad-2',
        code: 'invalid_field',
        path: 'data.mergedDistinctIds[0]',
        reason:
          'data.mergedDistinctIds[0]: is "anonymous", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
      },
      {
        index: 3,
        id: undefined,
        code: 'unknown_command_type',
        path: 'type',
        reason:
          'type: "person.create" is not a known command type (expected one of persons.delete, person.split, person.properties.update, person.merge)',
      },
    ]);
    expect(await drain(urls.deletionsQueueUrl)).toHaveLength(1);
  });

  it('refuses a command too large for one SQS message, naming its size, and sends the rest', async () => {
    // Prepare: 7,000 uuids are about 270 KB of JSON, over SQS's 256 KiB
    const urls = await queues();
    const producer = createProducer({ sqs, ...urls });
    const uuids = Array.from(
      { length: 7000 },
      (_, i) => `0190a3c2-5b7e-7cde-8f01-${i.toString().padStart(12, '0')}`,
    );

    // Act
    const report = await producer.send([
      cmd(deleteCommand({ personUuids: uuids }), 'huge'),
      cmd(deleteCommand({ personUuids: uuids.slice(0, 5000) }), 'fits'),
    ]);

    // Assess
    expect(report.sent.map((s) => s.id)).toEqual(['fits']);
    expect(report.failed).toEqual([
      expect.objectContaining({ index: 0, id: 'huge', code: 'message_too_large', path: 'data' }),
    ]);
    expect(report.failed[0]?.reason).toMatch(
      /^data: the command is [\d,]+ bytes as JSON, over the 262,144 an SQS message carries; split it/,
    );
    expect(await drain(urls.deletionsQueueUrl)).toHaveLength(1);
  });

  it('reports every command of a batch SQS refuses, and holds back later commands of the same person', async () => {
    const urls = await queues();
    const producer = createProducer({
      sqs,
      deletionsQueueUrl: urls.deletionsQueueUrl,
      changesQueueUrl: `${urls.changesQueueUrl.replace(/changes-\d+/, 'missing')}`,
    });
    const updates = Array.from({ length: 11 }, (_, i) =>
      cmd(updateCommand({ distinctId: `crm-${i === 10 ? 0 : i}`, set: { n: i } }), `u-${i}`),
    );
    const report = await producer.send([cmd(deleteCommand(), 'd-1'), ...updates]);
    expect(report.sent.map((s) => s.id)).toEqual(['d-1']);
    expect(report.failed).toHaveLength(11);
    expect(report.failed.slice(0, 10).every((f) => f.code === 'QueueDoesNotExist')).toBe(true);
    expect(report.failed[0]?.reason).toMatch(/^SQS SendMessageBatch to the changes queue failed: /);
    expect(report.failed[10]).toMatchObject({ index: 11, id: 'u-10', code: 'group_blocked' });
  });
});
