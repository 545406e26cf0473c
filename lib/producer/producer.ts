import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import {
  COMMAND_TYPES,
  type Command,
  type CommandInput,
  type CommandLane,
  CommandSchema,
  describeIssue,
  formatPath,
  isCommandType,
  laneOf,
  messageGroupIdOf,
} from '../messages/index.ts';

/** The part of `SQSClient` the producer uses (pass a real `SQSClient`). */
export interface SqsSender {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

/** Options of {@link createProducer}. */
export interface ProducerOptions {
  /** An `SQSClient` (or anything that sends `SendMessageBatchCommand`). */
  sqs: SqsSender;
  /** URL of the deletions queue (standard). */
  deletionsQueueUrl: string;
  /** URL of the changes queue (FIFO, `.fifo`). */
  changesQueueUrl: string;
}

/** A command accepted by SQS. */
export interface SentCommand {
  /** Position in the input array. */
  index: number;
  id: string;
  lane: CommandLane;
  /** The SQS message id. */
  messageId: string;
}

/** A command that was not sent, or that SQS refused. */
export interface FailedCommand {
  index: number;
  /** The command id, when the input had a string `id`. */
  id: string | undefined;
  /**
   * `invalid_field` (the command breaks the contract; `path` says where), `unknown_command_type`, `message_too_large`
   * (over SQS's 256 KiB), `group_blocked` (not sent because an
   * earlier command of the same person failed, and sending it would break that person's order), or the SQS error
   * code (e.g. `QueueDoesNotExist`, `AccessDenied`).
   */
  code: string;
  /** One sentence; for `invalid_field` it starts with the path, like the consumer's rejections. */
  reason: string;
  path?: string;
  /** Whether SQS blamed the request (true) or itself (false); absent when SQS was not asked. */
  senderFault?: boolean;
}

/** What happened to every command given to {@link Producer.send}. */
export interface SendReport {
  sent: SentCommand[];
  failed: FailedCommand[];
}

/** A typed producer for persons-relay commands. */
export interface Producer {
  /**
   * Validates the commands, routes each to its lane and sends them with `SendMessageBatch` (10 per call, and at
   * most 256 KiB per call). Never throws for a bad command or an SQS failure: the report says, per command.
   */
  send(commands: readonly CommandInput[]): Promise<SendReport>;
}

/** SQS: at most 10 entries and 256 KiB of bodies per `SendMessageBatch`. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024;
/**
 * The largest body persons-relay sends: SQS's default `MaximumMessageSize` (256 KiB), which the stack keeps. A
 * command over it would be refused by SQS for the whole batch entry; naming the size here says what to do instead.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

interface Pending {
  index: number;
  command: Command;
  body: string;
  group: string;
}

/**
 * Creates a producer that sends commands to the right persons-relay queue: deletes to the deletions queue,
 * everything else to the FIFO changes queue with `MessageGroupId` = the person and `MessageDeduplicationId` = the
 * command `id`.
 *
 * @example
 * const producer = createProducer({ sqs: new SQSClient({}), deletionsQueueUrl, changesQueueUrl });
 * const { failed } = await producer.send([{ type: 'persons.delete', id: 'erasure-1', time: new Date().toISOString(),
 *   data: { distinctIds: ['user-1'], reason: 'gdpr_erasure' } }]);
 */
export function createProducer(options: ProducerOptions): Producer {
  return {
    async send(commands) {
      const report: SendReport = { sent: [], failed: [] };
      const lanes: Record<CommandLane, Pending[]> = { deletions: [], changes: [] };
      commands.forEach((input, index) => {
        const type = typeOfInput(input);
        if (!isCommandType(type)) {
          report.failed.push({
            index,
            id: idOf(input),
            code: 'unknown_command_type',
            path: 'type',
            reason: `type: ${JSON.stringify(type ?? null)} is not a known command type (expected one of ${Object.values(COMMAND_TYPES).join(', ')})`,
          });
          return;
        }
        const parsed = CommandSchema.safeParse(input, { reportInput: true });
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const { path, reason } = issue
            ? describeIssue(issue)
            : { path: [], reason: 'is not a valid command' };
          const formatted = formatPath(path);
          report.failed.push({
            index,
            id: idOf(input),
            code: 'invalid_field',
            path: formatted,
            reason: formatted === '' ? reason : `${formatted}: ${reason}`,
          });
          return;
        }
        const command = parsed.data;
        const body = JSON.stringify(command);
        const bytes = Buffer.byteLength(body);
        if (bytes > MAX_MESSAGE_BYTES) {
          report.failed.push({
            index,
            id: command.id,
            code: 'message_too_large',
            path: 'data',
            reason: `data: the command is ${bytes.toLocaleString('en')} bytes as JSON, over the ${MAX_MESSAGE_BYTES.toLocaleString('en')} an SQS message carries; split it into several commands (each with its own id)`,
          });
          return;
        }
        lanes[laneOf(command)].push({ index, command, body, group: messageGroupIdOf(command) });
      });
      await sendLane(options.sqs, options.deletionsQueueUrl, 'deletions', lanes.deletions, report);
      await sendLane(options.sqs, options.changesQueueUrl, 'changes', lanes.changes, report);
      report.failed.sort((a, b) => a.index - b.index);
      report.sent.sort((a, b) => a.index - b.index);
      return report;
    },
  };
}

function typeOfInput(input: unknown): unknown {
  return typeof input === 'object' && input !== null && 'type' in input ? input.type : undefined;
}

function idOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || !('id' in input)) return undefined;
  return typeof input.id === 'string' ? input.id : undefined;
}

function batchesOf(pending: Pending[]): Pending[][] {
  const batches: Pending[][] = [];
  let current: Pending[] = [];
  let bytes = 0;
  for (const item of pending) {
    const size = Buffer.byteLength(item.body);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

// Batches go one after another: on the FIFO lane, batch k+1 may hold later commands of a person in batch k.
async function sendLane(
  sqs: SqsSender,
  queueUrl: string,
  lane: CommandLane,
  pending: Pending[],
  report: SendReport,
): Promise<void> {
  const fifo = lane === 'changes';
  const blocked = new Set<string>();
  for (const batch of batchesOf(pending)) {
    const entries: SendMessageBatchRequestEntry[] = [];
    const byEntryId = new Map<string, Pending>();
    for (const item of batch) {
      if (fifo && blocked.has(item.group)) {
        report.failed.push({
          index: item.index,
          id: item.command.id,
          code: 'group_blocked',
          reason: `not sent: an earlier command for the same person (group ${item.group}) failed, and sending this one would break their order`,
        });
        continue;
      }
      const entryId = `c${item.index}`;
      byEntryId.set(entryId, item);
      entries.push({
        Id: entryId,
        MessageBody: item.body,
        ...(fifo ? { MessageGroupId: item.group, MessageDeduplicationId: item.command.id } : {}),
      });
    }
    if (entries.length === 0) continue;
    let output: SendMessageBatchCommandOutput;
    try {
      output = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
      );
    } catch (error) {
      const code = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      for (const item of byEntryId.values()) {
        report.failed.push({
          index: item.index,
          id: item.command.id,
          code,
          reason: `SQS SendMessageBatch to the ${lane} queue failed: ${message}`,
        });
        blocked.add(item.group);
      }
      continue;
    }
    for (const ok of output.Successful ?? []) {
      const item = ok.Id === undefined ? undefined : byEntryId.get(ok.Id);
      if (item === undefined) continue;
      report.sent.push({
        index: item.index,
        id: item.command.id,
        lane,
        messageId: ok.MessageId ?? '',
      });
    }
    for (const bad of output.Failed ?? []) {
      const item = bad.Id === undefined ? undefined : byEntryId.get(bad.Id);
      if (item === undefined) continue;
      report.failed.push({
        index: item.index,
        id: item.command.id,
        code: bad.Code ?? 'Failed',
        reason: `SQS refused the message: ${bad.Message ?? bad.Code ?? 'no reason given'}`,
        ...(bad.SenderFault === undefined ? {} : { senderFault: bad.SenderFault }),
      });
      blocked.add(item.group);
    }
  }
}
