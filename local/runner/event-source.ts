import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { RECORD_SYSTEM_ATTRIBUTES, toSqsEvent, toSqsRecord } from './event.ts';
import type { Invoker } from './invoker.ts';

/** Options of {@link startEventSource}: the settings of a Lambda SQS event source mapping. */
export interface EventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly invoker: Invoker;
  /** Records per invocation (Lambda: up to 10,000 on standard queues, 10 on FIFO). @default 10 */
  readonly batchSize?: number;
  /** Keep gathering up to `batchSize` for this long (Lambda's MaximumBatchingWindowInSeconds). @default 0 */
  readonly maximumBatchingWindowMs?: number;
  /** Concurrent invocations (Lambda's ScalingConfig.MaximumConcurrency). @default 2 */
  readonly concurrency?: number;
  /** The function timeout; `getRemainingTimeInMillis` counts down from it. @default 30000 */
  readonly functionTimeoutMs?: number;
  /** Long-poll wait per ReceiveMessage. @default 1 */
  readonly waitTimeSeconds?: number;
  /** Called after every invocation (for reports and tests). */
  readonly onInvocation?: (info: InvocationInfo) => void;
  /** Chaos tests: kill this fraction of invocations mid-batch (see {@link KillChaos}). */
  readonly kill?: KillChaos;
}

/**
 * Kills a fraction of invocations at a random moment of their run, as a crashed or lost Lambda sandbox would end:
 * the mapping gets no response, deletes nothing, and every message of the batch comes back once its visibility
 * timeout (set at receive, or changed by the function before it died) runs out.
 */
export interface KillChaos {
  /** Fraction of invocations to kill, in [0, 1], spread evenly (one per 1/rate invocations). */
  readonly rate: number;
  /** The kill happens uniformly within this many ms of the start (if the run lasts that long). */
  readonly withinMs: number;
  /** Seeded source of randomness for when in the invocation the kill lands, so a run is repeatable. */
  readonly random: () => number;
}

/** What one invocation did. */
export interface InvocationInfo {
  readonly messageIds: readonly string[];
  readonly failedIds: readonly string[];
  readonly deletedIds: readonly string[];
  readonly response?: SQSBatchResponse;
  readonly error?: Error;
  readonly durationMs: number;
  /** The runner killed this invocation on purpose ({@link KillChaos}). */
  readonly killed?: boolean;
}

/** Counters of a running event source. */
export interface EventSourceStats {
  invocations: number;
  received: number;
  deleted: number;
  failed: number;
  errors: number;
  /** Invocations killed mid-batch by {@link KillChaos}. */
  killed: number;
}

/** A running poller; {@link EventSource.stop} waits for in-flight invocations. */
export interface EventSource {
  readonly stats: Readonly<EventSourceStats>;
  /** Resolves when no invocation is running (a snapshot; more may start right after). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Does for a local SQS (fauxqs) what Lambda's SQS event source mapping does in AWS:
 * - `concurrency` pollers each gather up to `batchSize` messages (ReceiveMessage takes 10 at most, so
 *   several receives within `maximumBatchingWindowMs`), asking for the system attributes Lambda passes on;
 * - builds a real `SQSEvent` and invokes the function with a context whose `getRemainingTimeInMillis`
 *   counts down from `functionTimeoutMs`;
 * - with ReportBatchItemFailures semantics: deletes every record not listed in `batchItemFailures`; an
 *   error, a timeout or an invalid response (an unknown or empty `itemIdentifier`) fails the whole batch;
 * - leaves failures alone: they reappear after their visibility timeout (the handler may have changed it),
 *   and the queue's redrive policy moves them to the DLQ after `maxReceiveCount` receives.
 */
export function startEventSource(options: EventSourceOptions): EventSource {
  const batchSize = options.batchSize ?? 10;
  const windowMs = options.maximumBatchingWindowMs ?? 0;
  const timeoutMs = options.functionTimeoutMs ?? 30_000;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const stats: EventSourceStats = {
    invocations: 0,
    received: 0,
    deleted: 0,
    failed: 0,
    errors: 0,
    killed: 0,
  };
  const abort = new AbortController();
  let running = 0;
  let idleWaiters: (() => void)[] = [];

  const receive = async (max: number, wait: number): Promise<Message[]> => {
    try {
      const out = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, max),
          WaitTimeSeconds: wait,
          MessageSystemAttributeNames: [...RECORD_SYSTEM_ATTRIBUTES],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      );
      return out.Messages ?? [];
    } catch (error) {
      if (abort.signal.aborted) return [];
      throw error;
    }
  };

  const gather = async (): Promise<Message[]> => {
    const batch = await receive(batchSize, waitTimeSeconds);
    if (batch.length === 0 || windowMs <= 0) return batch;
    const until = Date.now() + windowMs;
    while (batch.length < batchSize && !abort.signal.aborted) {
      const left = until - Date.now();
      if (left <= 0) break;
      // Short polls inside the window: long polls would overshoot it.
      const more = await receive(batchSize - batch.length, 0);
      batch.push(...more);
      if (more.length === 0) await sleep(Math.min(50, left), abort.signal);
    }
    return batch;
  };

  const deleteAll = async (messages: Message[]): Promise<string[]> => {
    const deleted: string[] = [];
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const out = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((m, index) => ({
            Id: `d${index}`,
            ReceiptHandle: m.ReceiptHandle ?? '',
          })),
        }),
      );
      for (const ok of out.Successful ?? []) {
        const message = chunk[Number(ok.Id?.slice(1))];
        if (message?.MessageId) deleted.push(message.MessageId);
      }
    }
    return deleted;
  };

  let invocationCount = 0;
  let killPending = false;
  const invokeOnce = async (messages: Message[]) => {
    const started = Date.now();
    const records = messages.map((m) => toSqsRecord(m, options.queueArn, options.region));
    const ids = records.map((r) => r.messageId);
    let response: SQSBatchResponse | undefined;
    let error: Error | undefined;
    let failed = new Set<string>(ids);
    const kill = options.kill;
    invocationCount += 1;
    // Kills are spread evenly (one per 1/rate invocations, the first after half of that), not drawn per invocation:
    // a short run then sees its share of kills instead of none by chance. A kill that lands after its invocation has
    // already finished moves on to the next invocation.
    if (kill !== undefined && kill.rate > 0) {
      const slot = (n: number) => Math.floor(n * kill.rate + 0.5);
      if (slot(invocationCount) > slot(invocationCount - 1)) killPending = true;
    }
    const killAfterMs =
      kill !== undefined && killPending ? Math.floor(kill.random() * kill.withinMs) : undefined;
    try {
      response = await options.invoker.invoke(toSqsEvent(records), {
        timeoutMs,
        ...(killAfterMs === undefined ? {} : { killAfterMs }),
      });
      failed = failuresOf(response, ids);
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
      stats.errors += 1;
    }
    const killed = error?.name === 'InvocationKilledError';
    if (killed) {
      stats.killed += 1;
      killPending = false;
    }
    const toDelete = messages.filter((m) => !failed.has(m.MessageId ?? ''));
    const deletedIds = toDelete.length > 0 ? await deleteAll(toDelete) : [];
    stats.invocations += 1;
    stats.deleted += deletedIds.length;
    stats.failed += failed.size;
    options.onInvocation?.({
      messageIds: ids,
      failedIds: [...failed],
      deletedIds,
      ...(response === undefined ? {} : { response }),
      ...(error === undefined ? {} : { error }),
      durationMs: Date.now() - started,
      ...(killed ? { killed } : {}),
    });
  };

  const poller = async () => {
    while (!abort.signal.aborted) {
      try {
        const messages = await gather();
        if (messages.length === 0 || abort.signal.aborted) continue;
        stats.received += messages.length;
        running += 1;
        try {
          await invokeOnce(messages);
        } finally {
          running -= 1;
          if (running === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const w of waiters) w();
          }
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        // Like the real mapping: log and keep polling after a transient receive/delete error.
        process.stderr.write(`event source ${options.queueArn}: ${String(error)}\n`);
        await sleep(200, abort.signal);
      }
    }
  };

  const pollers = Array.from({ length: options.concurrency ?? 2 }, () => poller());

  return {
    stats,
    idle: () =>
      running === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve)),
    async stop() {
      abort.abort();
      await Promise.all(pollers);
    },
  };
}

/**
 * Lambda's reading of a partial batch response: no response or an empty list means all succeeded; a list
 * naming an id that is not in the batch (or an empty id) is invalid and fails the whole batch.
 */
export function failuresOf(
  response: SQSBatchResponse | undefined | null,
  ids: readonly string[],
): Set<string> {
  const items = response?.batchItemFailures;
  if (!items || items.length === 0) return new Set();
  const known = new Set(ids);
  const failed = new Set<string>();
  for (const item of items) {
    const id = item?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) return new Set(ids);
    failed.add(id);
  }
  return failed;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
