import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  laneOf,
  type MessageRejection,
  messageGroupIdOf,
  parseMessage,
} from '#lib/messages/index.ts';

/** Where each lane's messages go; a missing lane means its commands are refused. */
export interface LaneTargets {
  readonly deletions?: string;
  readonly changes?: string;
}

/** One line that was not sent (invalid, or no queue for its lane). */
export interface Unsent {
  readonly line: number;
  readonly reason: string;
  readonly rejection?: MessageRejection;
}

/** What {@link sendCommandLines} did. */
export interface SendSummary {
  readonly lines: number;
  readonly sent: { deletions: number; changes: number; invalid: number };
  readonly unsent: Unsent[];
  readonly failed: number;
}

/**
 * Validates each NDJSON line with the same parser the handlers use and sends the valid ones to their lane:
 * deletes to the standard deletions queue, everything else to the FIFO changes queue with the person's
 * `MessageGroupId` and the command id as `MessageDeduplicationId` (so a producer retry is dropped by SQS).
 * Sends in batches of 10, keeping file order per lane.
 *
 * `invalidTo`: where to send lines that fail validation (to exercise the DLQ path locally); by default they
 * are not sent and are listed in `unsent` with the parser's reason.
 */
export async function sendCommandLines(
  sqs: SQSClient,
  lines: readonly string[],
  targets: LaneTargets,
  options: { invalidTo?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<SendSummary> {
  type Entry = { line: number; body: string; groupId?: string; dedupId?: string };
  const batches: Record<'deletions' | 'changes' | 'invalid', Entry[]> = {
    deletions: [],
    changes: [],
    invalid: [],
  };
  const unsent: Unsent[] = [];
  lines.forEach((body, index) => {
    const line = index + 1;
    if (body.trim() === '') return;
    const parsed = parseMessage(body);
    if (!parsed.ok) {
      if (options.invalidTo) batches.invalid.push({ line, body });
      else unsent.push({ line, reason: parsed.rejection.reason, rejection: parsed.rejection });
      return;
    }
    const lane = laneOf(parsed.command);
    if (!targets[lane]) {
      unsent.push({
        line,
        reason: `a ${parsed.command.type} goes to the ${lane} queue, which was not given`,
      });
      return;
    }
    batches[lane].push(
      lane === 'changes'
        ? { line, body, groupId: messageGroupIdOf(parsed.command), dedupId: parsed.command.id }
        : { line, body },
    );
  });

  const total = batches.deletions.length + batches.changes.length + batches.invalid.length;
  const sent = { deletions: 0, changes: 0, invalid: 0 };
  let failed = 0;
  let done = 0;
  const send = async (kind: keyof typeof batches, queueUrl: string | undefined) => {
    const entries = batches[kind];
    if (!queueUrl) return;
    const fifo = queueUrl.endsWith('.fifo');
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const out = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((e, j) => ({
              Id: `m${j}`,
              MessageBody: e.body,
              ...(fifo
                ? {
                    MessageGroupId: e.groupId ?? 'invalid',
                    MessageDeduplicationId: e.dedupId ?? `line-${e.line}-${Date.now()}`,
                  }
                : {}),
            })),
          }),
        );
        sent[kind] += out.Successful?.length ?? 0;
        for (const f of out.Failed ?? []) {
          const entry = chunk[Number(f.Id?.slice(1))];
          failed += 1;
          unsent.push({
            line: entry?.line ?? 0,
            reason: `SQS refused it: ${f.Code}: ${f.Message}`,
          });
        }
      } catch (error) {
        failed += chunk.length;
        for (const e of chunk)
          unsent.push({ line: e.line, reason: `send failed: ${String(error)}` });
      }
      done += chunk.length;
      options.onProgress?.(done, total);
    }
  };
  await send('deletions', targets.deletions);
  await send('changes', targets.changes);
  await send('invalid', options.invalidTo);
  unsent.sort((a, b) => a.line - b.line);
  return { lines: lines.filter((l) => l.trim() !== '').length, sent, unsent, failed };
}
