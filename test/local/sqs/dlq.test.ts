import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { redriveDeadLetters } from '../../../local/sqs/dlq.ts';
import { type LocalSqs, startLocalSqs } from '../../../local/sqs/index.ts';

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
});
