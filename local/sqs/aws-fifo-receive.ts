/**
 * Makes fauxqs deliver FIFO messages the way SQS does.
 *
 * SQS, receiving from a FIFO queue, "attempts to return as many messages with the same message group ID as
 * possible" in one call (up to `MaxNumberOfMessages`, 10), and only then messages of other groups; a group stays
 * blocked while any of its messages is in flight
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html,
 * "Receiving messages"). fauxqs 1.9.2 returns at most one message per group per call, so locally a batch never
 * held a predecessor and its successor together, and the receive-count effects of FIFO partial batch failures
 * (every successor returned with its failing head uses up a receive too) could not be seen. This replaces the
 * queue class's FIFO dequeue with one that fills the batch group by group, in order, keeping fauxqs's own
 * bookkeeping (in-flight entries, group locks, receive counts, the redrive to the DLQ when a message is received
 * more than `maxReceiveCount` times).
 *
 * fauxqs does not export its queue class, so the patch reaches it through a queue instance's prototype, found
 * via the module file next to fauxqs's entry point (the same module instance fauxqs itself uses).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The parts of fauxqs's (unexported) queue class this patch reads and writes. */
interface FauxqsMessage {
  messageId: string;
  sequenceNumber?: string;
  body: string;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  messageAttributes: Record<string, unknown>;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
}
interface FauxqsQueue {
  attributes: Record<string, string>;
  fifoMessages: Map<string, FauxqsMessage[]>;
  fifoLockedGroups: Map<string, number>;
  inflightMessages: Map<
    string,
    { message: FauxqsMessage; receiptHandle: string; visibilityDeadline: number }
  >;
  processTimers(): void;
  enqueue(message: FauxqsMessage): void;
  isFifo(): boolean;
}
type DlqResolver = (arn: string) => FauxqsQueue | undefined;

const PATCHED = Symbol.for('persons-relay.awsFifoReceive');

/** Installs the AWS-like FIFO receive on fauxqs's queue class (idempotent). */
export async function installAwsFifoReceive(): Promise<void> {
  // fauxqs's package exports only its entry point (and only for `import`), so look the file up in the
  // node_modules directories Node would search.
  const require = createRequire(import.meta.url);
  const file = (require.resolve.paths('fauxqs') ?? [])
    .map((dir) => path.join(dir, 'fauxqs', 'dist', 'sqs', 'sqsStore.js'))
    .find((candidate) => existsSync(candidate));
  if (file === undefined)
    throw new Error('fauxqs is not installed (dist/sqs/sqsStore.js not found)');
  const storeUrl = pathToFileURL(file).href;
  const module = (await import(storeUrl)) as {
    SqsQueue: { prototype: Record<string | symbol, unknown> };
  };
  const prototype = module.SqsQueue.prototype;
  if (prototype[PATCHED] === true) return;
  prototype['dequeueFifo'] = dequeueFifoLikeSqs;
  // fauxqs puts a message whose visibility ends back at the *front* of its group, one at a time, which reverses
  // a group returned several messages at once (head and blocked successors). SQS keeps the group's order: after
  // each return, order every group by its sequence number again (fauxqs numbers are zero-padded, so text order
  // is numeric order).
  for (const name of ['processTimers', 'changeVisibility'] as const) {
    const original = prototype[name] as (this: FauxqsQueue, ...args: unknown[]) => unknown;
    prototype[name] = function (this: FauxqsQueue, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (this.isFifo()) restoreGroupOrder(this);
      return result;
    };
  }
  prototype[PATCHED] = true;
}

function restoreGroupOrder(queue: FauxqsQueue): void {
  for (const messages of queue.fifoMessages.values()) {
    messages.sort((a, b) => (a.sequenceNumber ?? '').localeCompare(b.sequenceNumber ?? ''));
  }
}

function dequeueFifoLikeSqs(
  this: FauxqsQueue,
  maxCount: number,
  visibilityTimeoutOverride: number | undefined,
  dlqResolver: DlqResolver | undefined,
): Record<string, unknown>[] {
  this.processTimers();
  const visibilityTimeout =
    visibilityTimeoutOverride ?? Number.parseInt(this.attributes['VisibilityTimeout'] ?? '30', 10);
  const redrive = parseRedrive(this.attributes['RedrivePolicy']);
  const result: Record<string, unknown>[] = [];
  const count = Math.min(maxCount, 10);
  for (const [groupId, messages] of this.fifoMessages) {
    if (result.length >= count) break;
    if (this.fifoLockedGroups.has(groupId) || messages.length === 0) continue;
    // As many of this group as fit, in order; then the next group.
    while (result.length < count && messages.length > 0) {
      const message = messages.shift() as FauxqsMessage;
      message.approximateReceiveCount += 1;
      message.approximateFirstReceiveTimestamp ??= Date.now();
      if (redrive && dlqResolver && message.approximateReceiveCount > redrive.maxReceiveCount) {
        const dlq = dlqResolver(redrive.deadLetterTargetArn);
        if (dlq) {
          dlq.enqueue(message);
          continue;
        }
      }
      const receiptHandle = randomUUID();
      this.inflightMessages.set(receiptHandle, {
        message,
        receiptHandle,
        visibilityDeadline: Date.now() + visibilityTimeout * 1000,
      });
      result.push({
        MessageId: message.messageId,
        ReceiptHandle: receiptHandle,
        MD5OfBody: message.md5OfBody,
        Body: message.body,
        ...(message.md5OfMessageAttributes
          ? { MD5OfMessageAttributes: message.md5OfMessageAttributes }
          : {}),
        ...(Object.keys(message.messageAttributes).length > 0
          ? { MessageAttributes: message.messageAttributes }
          : {}),
      });
      // One lock per in-flight message: the group opens again when all of them are deleted or visible.
      this.fifoLockedGroups.set(groupId, (this.fifoLockedGroups.get(groupId) ?? 0) + 1);
    }
    if (messages.length === 0) this.fifoMessages.delete(groupId);
  }
  return result;
}

function parseRedrive(
  policy: string | undefined,
): { maxReceiveCount: number; deadLetterTargetArn: string } | undefined {
  if (!policy) return undefined;
  try {
    const parsed = JSON.parse(policy) as { maxReceiveCount?: number; deadLetterTargetArn?: string };
    if (parsed.deadLetterTargetArn === undefined) return undefined;
    return {
      maxReceiveCount: parsed.maxReceiveCount ?? Number.POSITIVE_INFINITY,
      deadLetterTargetArn: parsed.deadLetterTargetArn,
    };
  } catch {
    return undefined;
  }
}
