import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/**
 * An SQS record factory for the unit tier (Powertools `tests/helpers/factories.ts` style): the records Lambda's event
 * source mapping hands a function, built in memory. Standard and FIFO records, with the system attributes the batch
 * loop reads (`ApproximateReceiveCount`, `ApproximateFirstReceiveTimestamp`, `MessageGroupId`).
 */

/** 2026-11-28T10:00:00Z: the first receive of every record unless a test says otherwise. */
export const FIRST_RECEIVED_AT = Date.parse('2026-11-28T10:00:00Z');

export const STANDARD_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:persons-relay-deletions';
export const FIFO_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:persons-relay-changes.fifo';

/** What a test may set on a record; everything else gets a realistic default. */
export interface RecordOptions {
  /** @default a sequential `msg-<n>` */
  messageId?: string;
  /** @default 1 */
  receiveCount?: number;
  /** Epoch ms of the first receive. @default {@link FIRST_RECEIVED_AT} */
  firstReceivedAt?: number;
  /** The producer's message attributes (as Lambda delivers them). */
  messageAttributes?: SQSMessageAttributes;
  /** Overrides of system attributes, e.g. `ApproximateReceiveCount: 'not a number'`. */
  attributes?: Partial<Record<keyof SQSRecord['attributes'], string>>;
  /** @default the lane's queue ARN */
  eventSourceARN?: string;
}

let sequence = 0;

/** A record of a standard queue (the deletions lane). */
export function sqsRecord(body: string, options: RecordOptions = {}): SQSRecord {
  sequence += 1;
  const messageId = options.messageId ?? `msg-${sequence}`;
  const firstReceivedAt = options.firstReceivedAt ?? FIRST_RECEIVED_AT;
  return {
    messageId,
    receiptHandle: `rh-${messageId}-${sequence}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(firstReceivedAt - 50),
      SenderId: 'AIDAEXAMPLEPRODUCER',
      ApproximateFirstReceiveTimestamp: String(firstReceivedAt),
      ...options.attributes,
    },
    messageAttributes: options.messageAttributes ?? {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: options.eventSourceARN ?? STANDARD_QUEUE_ARN,
    awsRegion: 'eu-west-1',
  };
}

/** A record of a FIFO queue (the changes lane): group id, deduplication id and sequence number set. */
export function fifoRecord(body: string, groupId: string, options: RecordOptions = {}): SQSRecord {
  const record = sqsRecord(body, { eventSourceARN: FIFO_QUEUE_ARN, ...options });
  return {
    ...record,
    attributes: {
      ...record.attributes,
      MessageGroupId: groupId,
      MessageDeduplicationId: `dedup-${record.messageId}`,
      SequenceNumber: String(18_000_000_000_000_000_000 + sequence),
      ...options.attributes,
    },
  };
}

/** The event Lambda passes to the handler. */
export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
