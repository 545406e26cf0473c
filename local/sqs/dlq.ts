import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type CommandLane, laneOf, messageGroupIdOf, parseMessage } from '#lib/messages/index.ts';

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

/** A dead letter that a redrive left where it was, and why. */
export interface RefusedLetter {
  readonly messageId: string;
  readonly reason: string;
}

/** What {@link redriveDeadLetters} did. */
export interface RedriveResult {
  /** Messages sent to a source queue and deleted from the DLQ. */
  readonly moved: number;
  /** Messages the filter did not pick (left in the DLQ). */
  readonly skipped: number;
  /** Messages not moved because their target was wrong or unknown (left in the DLQ), with the reason. */
  readonly refused: readonly RefusedLetter[];
  /** What the DLQ holds after the redrive (visible + in flight), read from the queue itself. */
  readonly left: number;
}

/**
 * Moves dead letters back to a source queue after a fix (what `StartMessageMoveTask` does in AWS, done by hand so
 * it also works on fauxqs and lets a filter pick messages).
 *
 * - Target: `sourceUrl`, else each message's recorded source queue: the `source_queue` attribute the handler wrote,
 *   or, for a message moved by the redrive policy, the `DeadLetterQueueSourceArn` system attribute SQS sets
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). A message with
 *   neither is refused.
 * - Lanes: a command goes only to a queue of its own lane (deletes to the standard queue, everything else to the
 *   FIFO one); a move to the other lane is refused, because that lane's function would dead-letter it again as
 *   `wrong_lane`. A body that is not a command has no lane and is moved as it is.
 * - FIFO: the original group id is kept (or the person's group, coming from a standard DLQ) and a fresh
 *   deduplication id is used, so SQS does not drop the resend as a duplicate.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  options: {
    dlqUrl: string;
    sourceUrl?: string;
    max?: number;
    filter?: (entry: DeadLetterEntry) => boolean;
  },
): Promise<RedriveResult> {
  const max = options.max ?? 10_000;
  const urlOfArn = queueUrlResolver(sqs);
  let moved = 0;
  let skipped = 0;
  let received = 0;
  const refused: RefusedLetter[] = [];
  const held: Message[] = [];
  while (received < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - received),
        VisibilityTimeout: HOLD_SECONDS,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: [
          'ApproximateReceiveCount',
          'MessageGroupId',
          'DeadLetterQueueSourceArn',
        ],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    received += messages.length;
    const byTarget = new Map<string, Message[]>();
    for (const message of messages) {
      if (!(options.filter?.(toEntry(message)) ?? true)) {
        skipped += 1;
        held.push(message);
        continue;
      }
      const target = await targetOf(message, options.sourceUrl, urlOfArn);
      if ('refused' in target) {
        refused.push({ messageId: message.MessageId ?? '', reason: target.refused });
        held.push(message);
        continue;
      }
      byTarget.set(target.url, [...(byTarget.get(target.url) ?? []), message]);
    }
    for (const [url, chosen] of byTarget) {
      const done = await moveBatch(sqs, options.dlqUrl, url, chosen);
      moved += done.length;
      for (const m of chosen) {
        if (done.includes(m)) continue;
        refused.push({ messageId: m.MessageId ?? '', reason: `SQS did not accept it on ${url}` });
        held.push(m);
      }
    }
  }
  await release(sqs, options.dlqUrl, held);
  return { moved, skipped, refused, left: await depthOf(sqs, options.dlqUrl) };
}

/** Sends messages to one queue and deletes from the DLQ those it accepted; returns those. */
async function moveBatch(
  sqs: SQSClient,
  dlqUrl: string,
  targetUrl: string,
  chosen: Message[],
): Promise<Message[]> {
  const fifo = targetUrl.endsWith('.fifo');
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: targetUrl,
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
        QueueUrl: dlqUrl,
        Entries: done.map((m, index) => ({
          Id: `d${index}`,
          ReceiptHandle: m.ReceiptHandle ?? '',
        })),
      }),
    );
  }
  return done;
}

/** The lane of a queue URL: the changes lane is the FIFO one (`.fifo`), the deletions lane the standard one. */
const laneOfQueueUrl = (url: string): CommandLane =>
  url.endsWith('.fifo') ? 'changes' : 'deletions';

async function targetOf(
  message: Message,
  sourceUrl: string | undefined,
  urlOfArn: (arn: string) => Promise<string | undefined>,
): Promise<{ url: string } | { refused: string }> {
  let url = sourceUrl;
  if (url === undefined) {
    const recorded =
      message.MessageAttributes?.['source_queue']?.StringValue ??
      message.Attributes?.DeadLetterQueueSourceArn;
    url = recorded?.startsWith('arn:') ? await urlOfArn(recorded) : recorded;
    if (url === undefined || url === '' || url === 'unknown') {
      return {
        refused:
          recorded === undefined
            ? 'no source queue recorded on the message; pass --to <source queue URL>'
            : `its recorded source queue ${recorded} was not found; pass --to <source queue URL>`,
      };
    }
  }
  const parsed = parseMessage(message.Body ?? '');
  if (!parsed.ok) return { url };
  const lane = laneOf(parsed.command);
  const queueLane = laneOfQueueUrl(url);
  if (lane === queueLane) return { url };
  return {
    refused:
      `a ${parsed.command.type} belongs on the ${lane} lane (${lane === 'changes' ? 'the FIFO queue' : 'the standard queue'}), ` +
      `but ${url} is the ${queueLane} queue; its function would dead-letter it again (wrong_lane). ` +
      `Redrive it with --to <the ${lane} queue URL>${sourceUrl === undefined ? '' : ' instead'}`,
  };
}

/** Queue ARN → URL through GetQueueUrl (works on AWS and fauxqs), remembered per ARN. */
function queueUrlResolver(sqs: SQSClient): (arn: string) => Promise<string | undefined> {
  const known = new Map<string, string | undefined>();
  return async (arn) => {
    if (known.has(arn)) return known.get(arn);
    // arn:aws:sqs:<region>:<account>:<name>
    const [, , , , account, name] = arn.split(':');
    let url: string | undefined;
    try {
      const out = await sqs.send(
        new GetQueueUrlCommand({
          QueueName: name,
          ...(account ? { QueueOwnerAWSAccountId: account } : {}),
        }),
      );
      url = out.QueueUrl;
    } catch (error) {
      if (!(error instanceof Error && error.name.includes('QueueDoesNotExist'))) throw error;
    }
    known.set(arn, url);
    return url;
  };
}

async function depthOf(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
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
