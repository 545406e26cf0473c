import {
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { redriveDeadLetters } from '../../../../local/sqs/dlq.ts';
import { type LocalSqs, type QueuePair, startLocalSqs } from '../../../../local/sqs/index.ts';

let local: LocalSqs | undefined;
afterEach(async () => {
  await local?.stop();
  local = undefined;
});

const update = (id: string, distinctId: string) =>
  JSON.stringify({
    type: 'person.properties.update',
    id,
    time: '2026-11-28T10:00:00Z',
    data: { distinctId, set: { plan: 'pro' } },
  });

describe('redriveDeadLetters', () => {
  it("gives a change moved from a standard DLQ to the FIFO queue its person's group, not one shared group", async () => {
    // Prepare: two wrong-lane changes of two persons, dead-lettered on the (standard) deletions DLQ
    local = await startLocalSqs();
    const { client, queues } = local;
    for (const [id, person] of [
      ['u1', 'crm-1'],
      ['u2', 'crm-2'],
    ] as const) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queues.deletions.dlqUrl,
          MessageBody: update(id, person),
        }),
      );
    }

    // Act
    const result = await redriveDeadLetters(client, {
      dlqUrl: queues.deletions.dlqUrl,
      sourceUrl: queues.changes.url,
    });

    // Assess
    expect(result).toEqual({ moved: 2, skipped: 0, refused: [], left: 0 });
    const groups: string[] = [];
    for (let attempt = 0; attempt < 5 && groups.length < 2; attempt += 1) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queues.changes.url,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      groups.push(...Messages.map((m) => m.Attributes?.MessageGroupId ?? ''));
    }
    expect(groups.sort()).toEqual(['crm-1', 'crm-2']);
  });

  it('counts what is left from the queue itself, also when a FIFO group lock hides messages from the redrive', async () => {
    // Prepare: on the FIFO changes DLQ, twelve dead letters of one person (the first one http_400) and one of
    // another. --code skips the first: it stays in flight while the redrive runs and locks that person's group,
    // so the person's last two are never received (a receive returns at most 10).
    local = await startLocalSqs();
    const { client, queues } = local;
    for (let i = 0; i < 12; i += 1) {
      const code = i === 0 ? 'http_400' : 'person_not_found';
      await deadLetter(client, queues.changes, update(`a${i}`, 'crm-1'), code, 'crm-1');
    }
    await deadLetter(client, queues.changes, update('b1', 'crm-2'), 'person_not_found', 'crm-2');

    // Act
    const result = await redriveDeadLetters(client, {
      dlqUrl: queues.changes.dlqUrl,
      filter: (l) => l.errorCode === 'person_not_found',
    });

    // Assess: "left" is what the DLQ holds (13 - moved), not just the one it skipped; a FIFO receive never
    // returns crm-1's later letters while a0 is held, so they are left (and counted) too
    expect(result.skipped).toBe(1);
    expect(result.refused).toEqual([]);
    expect(result.left).toBe(13 - result.moved);
    expect(result.left).toBeGreaterThan(result.skipped);
    expect(await bodiesIn(client, queues.changes.url)).toHaveLength(result.moved);
  });

  it('moves each dead letter to its recorded source queue by default, and refuses a move to the wrong lane', async () => {
    // Prepare: a delete that a producer put on the changes queue (its function dead-lettered it as wrong_lane),
    // a change whose recorded source is the changes queue, and one moved by the redrive policy (no attributes)
    local = await startLocalSqs();
    const { client, queues } = local;
    await deadLetter(client, queues.changes, erase('e1', 'crm-9'), 'wrong_lane', 'crm-9');
    await deadLetter(client, queues.changes, update('u1', 'crm-1'), 'person_not_found', 'crm-1');
    await client.send(
      new SendMessageCommand({
        QueueUrl: queues.changes.dlqUrl,
        MessageBody: update('p1', 'crm-3'),
        MessageGroupId: 'crm-3',
        MessageDeduplicationId: 'p1',
      }),
    );

    // Act: no --to
    const byDefault = await redriveDeadLetters(client, { dlqUrl: queues.changes.dlqUrl });

    // Assess: the change went back to its source; the delete would land on the wrong lane; the third has no source
    expect(byDefault.moved).toBe(1);
    expect(byDefault.left).toBe(2);
    expect(byDefault.refused).toHaveLength(2);
    const reasons = byDefault.refused.map((r) => r.reason).sort();
    expect(reasons[0]).toMatch(
      /^a persons\.delete belongs on the deletions lane \(the standard queue\), but \S+persons-relay-changes\.fifo is the changes queue; .*--to <the deletions queue URL>/,
    );
    expect(reasons[1]).toBe(
      'no source queue recorded on the message; pass --to <source queue URL>',
    );
    expect(await bodiesIn(client, queues.changes.url)).toEqual([update('u1', 'crm-1')]);

    // Act: an explicit --to of the wrong lane is refused too; the right one moves the delete
    const wrong = await redriveDeadLetters(client, {
      dlqUrl: queues.changes.dlqUrl,
      sourceUrl: queues.changes.url,
      filter: (l) => l.errorCode === 'wrong_lane',
    });
    const right = await redriveDeadLetters(client, {
      dlqUrl: queues.changes.dlqUrl,
      sourceUrl: queues.deletions.url,
      filter: (l) => l.errorCode === 'wrong_lane',
    });

    // Assess
    expect(wrong).toMatchObject({ moved: 0, left: 2 });
    expect(wrong.refused[0]?.reason).toMatch(
      /Redrive it with --to <the deletions queue URL> instead$/,
    );
    expect(right).toMatchObject({ moved: 1, left: 1, refused: [] });
    expect(await bodiesIn(client, queues.deletions.url)).toEqual([erase('e1', 'crm-9')]);
  });
});

const erase = (id: string, distinctId: string) =>
  JSON.stringify({
    type: 'persons.delete',
    id,
    time: '2026-11-28T10:00:00Z',
    data: { distinctIds: [distinctId] },
  });

/** Puts a message on a lane's DLQ as the handler does: with error_code and the source queue's ARN. */
async function deadLetter(
  client: SQSClient,
  lane: QueuePair,
  body: string,
  code: string,
  group: string,
): Promise<void> {
  const text = (value: string): MessageAttributeValue => ({
    DataType: 'String',
    StringValue: value,
  });
  await client.send(
    new SendMessageCommand({
      QueueUrl: lane.dlqUrl,
      MessageBody: body,
      MessageAttributes: {
        error_code: text(code),
        error_reason: text(`test: ${code}`),
        source_queue: text(lane.arn),
      },
      ...(lane.fifo
        ? {
            MessageGroupId: group,
            MessageDeduplicationId: `${code}-${body.length}-${Math.random()}`,
          }
        : {}),
    }),
  );
}

/** Every body on a queue right now (received and left in flight). */
async function bodiesIn(client: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
      }),
    );
    if (Messages.length === 0) break;
    bodies.push(...Messages.map((m) => m.Body ?? ''));
  }
  return bodies;
}
