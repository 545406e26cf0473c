import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { messageGroupIdOf, parseMessage } from '../../lib/messages/index.ts';

/** A dead-lettered message with the reason persons-relay attached to it. */
export interface DeadLetterEntry {
  readonly messageId: string;
  readonly body: string;
  /** `error_code` (e.g. `not_json`, `invalid_field`), or `redrive_policy` for one moved by SQS after maxReceiveCount. */
  readonly errorCode: string;
  readonly errorReason: string;
  readonly originalMessageId?: string;
  readonly sourceQueue?: string;
  readonly firstReceivedAt?: string;
  readonly groupId?: string;
  readonly receiveCount: number;
  readonly attributes: Record<string, MessageAttributeValue>;
}

const HOLD_SECONDS = 30;

/**
 * Reads up to `max` messages of a DLQ without consuming them: each is received (hidden for a moment), then
 * made visible again. A message moved by SQS's redrive policy (not by the handler) has no `error_code`; it
 * is reported as `redrive_policy` — it failed `maxReceiveCount` times.
 */
export async function listDeadLetters(
  sqs: SQSClient,
  dlqUrl: string,
  options: { max?: number } = {},
): Promise<DeadLetterEntry[]> {
  const max = options.max ?? 1000;
  const held: Message[] = [];
  while (held.length < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - held.length),
        VisibilityTimeout: HOLD_SECONDS,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
      }),
    );
    if (!out.Messages || out.Messages.length === 0) break;
    held.push(...out.Messages);
  }
  await release(sqs, dlqUrl, held);
  return held.map(toEntry);
}

/**
 * Moves dead letters back to their source queue after a fix (what `StartMessageMoveTask` does in AWS,
 * done by hand so it also works on fauxqs and lets a filter pick messages). FIFO: the original group id is
 * kept and a fresh deduplication id is used, so SQS does not drop the resend as a duplicate.
 * Returns how many were moved.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  options: {
    dlqUrl: string;
    sourceUrl: string;
    max?: number;
    filter?: (entry: DeadLetterEntry) => boolean;
  },
): Promise<{ moved: number; kept: number }> {
  const fifo = options.sourceUrl.endsWith('.fifo');
  const max = options.max ?? 10_000;
  let moved = 0;
  const skipped: Message[] = [];
  while (moved + skipped.length < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved - skipped.length),
        VisibilityTimeout: HOLD_SECONDS,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    const chosen = messages.filter((m) => options.filter?.(toEntry(m)) ?? true);
    skipped.push(...messages.filter((m) => !chosen.includes(m)));
    if (chosen.length === 0) continue;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: options.sourceUrl,
        Entries: chosen.map((m, index) => ({
          Id: `r${index}`,
          MessageBody: m.Body ?? '',
          MessageAttributes: producerAttributes(m.MessageAttributes ?? {}),
          ...(fifo
            ? {
                MessageGroupId: m.Attributes?.MessageGroupId ?? groupIdOfBody(m.Body ?? ''),
                MessageDeduplicationId: `redrive-${m.MessageId}-${Date.now()}`.slice(0, 128),
              }
            : {}),
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => Number(s.Id?.slice(1))));
    const done = chosen.filter((_, index) => ok.has(index));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.dlqUrl,
          Entries: done.map((m, index) => ({
            Id: `d${index}`,
            ReceiptHandle: m.ReceiptHandle ?? '',
          })),
        }),
      );
    }
    moved += done.length;
    skipped.push(...chosen.filter((_, index) => !ok.has(index)));
  }
  await release(sqs, options.dlqUrl, skipped);
  return { moved, kept: skipped.length };
}

/** The attributes persons-relay added are dropped on redrive: the next failure writes fresh ones. */
const OUR_ATTRIBUTES = new Set([
  'error_code',
  'error_reason',
  'original_message_id',
  'source_queue',
  'first_received_at',
]);

function producerAttributes(
  attributes: Record<string, MessageAttributeValue>,
): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(attributes).filter(([name]) => !OUR_ATTRIBUTES.has(name)),
  );
}

async function release(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, index) => ({
          Id: `v${index}`,
          ReceiptHandle: m.ReceiptHandle ?? '',
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

function toEntry(message: Message): DeadLetterEntry {
  const attributes = message.MessageAttributes ?? {};
  const text = (name: string) => attributes[name]?.StringValue;
  const code = text('error_code');
  return {
    messageId: message.MessageId ?? '',
    body: message.Body ?? '',
    errorCode: code ?? 'redrive_policy',
    errorReason:
      text('error_reason') ?? 'failed maxReceiveCount times; moved by the queue redrive policy',
    ...optional('originalMessageId', text('original_message_id')),
    ...optional('sourceQueue', text('source_queue')),
    ...optional('firstReceivedAt', text('first_received_at')),
    ...optional('groupId', message.Attributes?.MessageGroupId),
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    attributes,
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/**
 * The FIFO group for a message that comes from a standard DLQ (say, a `wrong_lane` change that was sent to the
 * deletions queue): the person's group, as the producer would have chosen it, so the redriven command keeps its
 * person's order. A body that is not a valid command has no person; it gets a group of its own.
 */
function groupIdOfBody(body: string): string {
  const parsed = parseMessage(body);
  return parsed.ok ? messageGroupIdOf(parsed.command) : 'redriven-unparsed';
}
