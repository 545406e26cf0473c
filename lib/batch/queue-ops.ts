import {
  ChangeMessageVisibilityBatchCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** One visibility change: make `receiptHandle` visible again after `visibilityTimeout` seconds. */
export interface VisibilityChange {
  readonly id: string;
  readonly receiptHandle: string;
  readonly visibilityTimeout: number;
}

/** One message to dead-letter. `groupId`/`deduplicationId` are required when the DLQ is FIFO. */
export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly groupId?: string;
  readonly deduplicationId?: string;
}

/**
 * The two SQS actions the batch loop takes itself (Lambda's event source mapping does the deletes).
 * Each returns the ids that failed instead of throwing, so one failed entry never hides the others.
 */
export interface QueueOps {
  changeVisibility(
    queueUrl: string,
    changes: readonly VisibilityChange[],
  ): Promise<{ failedIds: string[] }>;
  sendToDeadLetterQueue(
    dlqUrl: string,
    messages: readonly DeadLetter[],
  ): Promise<{ failedIds: string[] }>;
}

/** SQS batch APIs take at most 10 entries. */
const SQS_BATCH_ENTRIES = 10;
/** Stay well under SQS's 256 KiB batch payload limit (bodies plus attributes). */
const SEND_BATCH_BYTES = 200_000;

/** Batch entry ids may only contain alphanumerics, `-` and `_`, up to 80 characters. */
const entryId = (index: number) => `e${index}`;

/** {@link QueueOps} over the AWS SDK v3 SQS client (real SQS in Lambda, fauxqs locally). */
export function sqsQueueOps(client: Pick<SQSClient, 'send'>): QueueOps {
  return {
    async changeVisibility(queueUrl, changes) {
      const failedIds: string[] = [];
      for (const chunk of chunked(changes, () => 0)) {
        try {
          const out = await client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: queueUrl,
              Entries: chunk.map((change, index) => ({
                Id: entryId(index),
                ReceiptHandle: change.receiptHandle,
                VisibilityTimeout: change.visibilityTimeout,
              })),
            }),
          );
          for (const failed of out.Failed ?? []) {
            const change = chunk[Number(failed.Id?.slice(1))];
            if (change) failedIds.push(change.id);
          }
        } catch {
          failedIds.push(...chunk.map((change) => change.id));
        }
      }
      return { failedIds };
    },

    async sendToDeadLetterQueue(dlqUrl, messages) {
      const failedIds: string[] = [];
      const size = (m: DeadLetter) =>
        Buffer.byteLength(m.body) + JSON.stringify(m.attributes).length;
      for (const chunk of chunked(messages, size)) {
        try {
          const out = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: dlqUrl,
              Entries: chunk.map((message, index) => ({
                Id: entryId(index),
                MessageBody: message.body,
                MessageAttributes: message.attributes,
                ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
                ...(message.deduplicationId === undefined
                  ? {}
                  : { MessageDeduplicationId: message.deduplicationId }),
              })),
            }),
          );
          for (const failed of out.Failed ?? []) {
            const message = chunk[Number(failed.Id?.slice(1))];
            if (message) failedIds.push(message.id);
          }
        } catch {
          failedIds.push(...chunk.map((message) => message.id));
        }
      }
      return { failedIds };
    },
  };
}

function* chunked<T>(items: readonly T[], size: (item: T) => number): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const itemBytes = size(item);
    if (
      chunk.length > 0 &&
      (chunk.length === SQS_BATCH_ENTRIES || bytes + itemBytes > SEND_BATCH_BYTES)
    ) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += itemBytes;
  }
  if (chunk.length > 0) yield chunk;
}
