import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type { DeadLetter } from './queue-ops.ts';

/** SQS allows 10 message attributes; five are ours. */
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_REASON_LENGTH = 1000;

/**
 * The DLQ entry of a rejected message: its body, `error_code`, `error_reason`, `original_message_id`,
 * `source_queue` and `first_received_at`, then as many of the producer's own attributes as SQS's limit of 10 leaves.
 */
export function deadLetterOf(
  record: SQSRecord,
  outcome: Outcome | undefined,
  dlqUrl: string,
): DeadLetter {
  const code = outcome?.status === 'rejected' ? outcome.code : OUTCOME_CODES.internal;
  const reason = outcome?.status === 'rejected' ? outcome.reason : 'unknown';
  const firstReceived = Number(record.attributes?.ApproximateFirstReceiveTimestamp);
  const ours: Record<string, MessageAttributeValue> = {
    error_code: str(code),
    error_reason: str(reason.slice(0, MAX_REASON_LENGTH)),
    original_message_id: str(record.messageId),
    source_queue: str(record.eventSourceARN || 'unknown'),
    first_received_at: str(
      Number.isFinite(firstReceived) && firstReceived > 0
        ? new Date(firstReceived).toISOString()
        : 'unknown',
    ),
  };
  // Keep the producer's own attributes where SQS's limit of 10 leaves room.
  const attributes = { ...ours };
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES) break;
    if (name in attributes) continue;
    if (value.stringValue !== undefined) {
      attributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
    } else if (value.binaryValue !== undefined) {
      attributes[name] = {
        DataType: value.dataType,
        BinaryValue: Buffer.from(value.binaryValue, 'base64'),
      };
    }
  }
  const fifoDlq = dlqUrl.endsWith('.fifo');
  return {
    id: record.messageId,
    body: record.body,
    attributes,
    ...(fifoDlq
      ? {
          groupId: record.attributes?.MessageGroupId ?? 'dead-letter',
          // One DLQ entry per original message even if this batch is retried after a partial send.
          deduplicationId: record.messageId,
        }
      : {}),
  };
}
const str = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value || '-',
});
