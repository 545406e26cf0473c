/**
 * Runs one workload end to end, the way production would: the messages go onto fauxqs (deletes to the standard
 * deletions queue, changes to the FIFO changes queue, malformed ones to the deletions queue), the local event-source
 * runner invokes the bundled handlers in worker sandboxes, and they call the PostHog emulator, whose rate limits run
 * `timeScale` times faster than PostHog's. The same function is used for persons-relay and for the baseline: only
 * the handler modules differ.
 */
import { performance } from 'node:perf_hooks';
import { startPostHogEmulator } from '../local/posthog-emulator/index.ts';
import { emulatorTarget } from '../local/runner/emulator-target.ts';
import {
  type LaneSettings,
  type LocalStackOptions,
  startLocalStack,
} from '../local/runner/stack.ts';
import { listDeadLetters } from '../local/sqs/dlq.ts';
import { sendCommandLines } from '../local/sqs/send-commands.ts';
import { type BucketCalls, bucketOf, minDrainMinutes } from './limits.ts';
import { costPerMillionMessages, type Usage } from './prices.ts';
import type { StateCheck, Workload } from './workloads.ts';

/** Which handler ran. */
export type Side = 'persons-relay' | 'baseline';

/** The figures of one workload on one side. */
export interface PipelineRun extends StateCheck {
  readonly side: Side;
  readonly workload: Workload['id'];
  readonly messages: number;
  readonly timeScale: number;
  readonly calls: number;
  readonly callsByBucket: BucketCalls;
  readonly throttled: number;
  /** Real seconds from the start of polling to the last acknowledged message. */
  readonly drainWallSeconds: number;
  /** The same in PostHog time (× timeScale), in minutes. */
  readonly drainMinutes: number;
  /** The least PostHog minutes this side's own calls need under the rate limits. */
  readonly minDrainMinutes: number;
  readonly applied: number;
  readonly rejected: number;
  /** Σ of the plans' lower bounds over the relay's batches (from its `batch done` log lines); null for the baseline. */
  readonly batchLowerBound: number | null;
  readonly usage: Usage;
  readonly costPerMillion: { arm64: number; x86_64: number };
}

/** The deployed timings (infra/stacks/persons-relay-stack.ts `LANE_SETTINGS`, RETRY_DESIGN, lib/config.ts). */
const DEPLOYED = {
  deletions: { timeoutSeconds: 120, windowSeconds: 30 },
  changes: { timeoutSeconds: 60 },
  visibilityFactor: 6,
  deadlineSafetyMarginMs: 5_000,
  retryBaseSeconds: 30,
  retryMaxSeconds: 900,
} as const;

/**
 * The function environment and event-source settings for a time-scaled run: PostHog's own budgets with the
 * limiter's windows compressed like the emulator's (`POSTHOG_RATE_TIME_SCALE`), and every deployed AWS timing
 * (function timeout, batching window, visibility timeout, deadline margin, retry delays) divided by the scale,
 * with floors that keep the local runner workable on a slow machine: a function timeout of at least 20 real seconds
 * (a worker's cold start alone takes seconds on a loaded 2-core machine) and a visibility timeout above it.
 */
export function scaledSettings(timeScale: number): {
  env: Record<string, string>;
  stack: Pick<LocalStackOptions, 'deletions' | 'changes' | 'visibilityTimeoutSeconds'>;
} {
  const seconds = (s: number, floor: number) => Math.max(floor, s / timeScale);
  const deletionsTimeout = seconds(DEPLOYED.deletions.timeoutSeconds, 20);
  const changesTimeout = seconds(DEPLOYED.changes.timeoutSeconds, 20);
  return {
    env: {
      POSTHOG_RATE_TIME_SCALE: String(timeScale),
      DEADLINE_SAFETY_MARGIN_MS: String(Math.round(DEPLOYED.deadlineSafetyMarginMs / timeScale)),
      RETRY_BASE_DELAY_SECONDS: String(
        Math.max(1, Math.round(DEPLOYED.retryBaseSeconds / timeScale)),
      ),
      RETRY_MAX_DELAY_SECONDS: String(
        Math.max(1, Math.round(DEPLOYED.retryMaxSeconds / timeScale)),
      ),
    },
    stack: {
      deletions: {
        functionTimeoutMs: deletionsTimeout * 1000,
        // The deployed window (30 s at ×1): with a backlog a batch fills to 1,000 well before it, and only the
        // last, partial batch waits for it, as on AWS.
        maximumBatchingWindowMs: seconds(DEPLOYED.deletions.windowSeconds, 0.1) * 1000,
      },
      changes: { functionTimeoutMs: changesTimeout * 1000 },
      visibilityTimeoutSeconds: Math.ceil(
        Math.max(
          deletionsTimeout + 1,
          (DEPLOYED.deletions.timeoutSeconds * DEPLOYED.visibilityFactor) / timeScale,
        ),
      ),
    },
  };
}

/** Runs `workload` through fauxqs, the runner and `modules` against a fresh emulator. */
export async function runPipeline(options: {
  side: Side;
  workload: Workload;
  timeScale: number;
  modules: LocalStackOptions['modules'];
  memoryMb: number;
  /** Event-source settings that differ from the deployed lane's (the baseline takes Lambda's default batch of 10). */
  deletionsLane?: Partial<LaneSettings>;
  /** Function instances per lane (quick mode uses 1: fewer sandboxes to cold-start). @default the runner's 2 */
  concurrency?: number;
  /** Give up after this long (real ms). */
  timeoutMs: number;
}): Promise<PipelineRun> {
  const { workload, timeScale } = options;
  const emulator = await startPostHogEmulator({
    timeScale,
    rateLimits: { enabled: true },
    seed: { persons: [...workload.persons] },
  });
  let invocations = 0;
  let handlerMs = 0;
  let lastAck = 0;
  let firstError: Error | undefined;
  const settings = scaledSettings(timeScale);
  const stack = await startLocalStack({
    posthog: emulatorTarget(emulator),
    modules: options.modules,
    startPolling: false,
    env: settings.env,
    ...settings.stack,
    deletions: {
      ...settings.stack.deletions,
      ...options.deletionsLane,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    },
    changes: {
      ...settings.stack.changes,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    },
    onInvocation: (_lane, info) => {
      invocations += 1;
      handlerMs += info.durationMs;
      if (info.deletedIds.length > 0) lastAck = performance.now();
      firstError ??= info.error;
    },
  });
  try {
    const { queues } = stack.sqs;
    const sent = await sendCommandLines(
      stack.sqs.client,
      workload.lines,
      { deletions: queues.deletions.url, changes: queues.changes.url },
      { invalidTo: queues.deletions.url },
    );
    const started = performance.now();
    stack.startPolling();
    await stack
      .waitUntilDrained({ timeoutMs: options.timeoutMs, pollMs: 200 })
      .catch((error: unknown) => {
        throw new Error(
          `${options.side} ${workload.id}: ${String(error)}; first invocation error: ${String(firstError)}`,
        );
      });
    const drainWallSeconds = (Math.max(lastAck, started) - started) / 1000;
    await emulator.flush();

    const letters = [
      ...(await listDeadLetters(stack.sqs.client, queues.deletions.dlqUrl, { max: 1_000_000 })),
      ...(await listDeadLetters(stack.sqs.client, queues.changes.dlqUrl, { max: 1_000_000 })),
    ];
    const deadLettered = new Set(letters.map((l) => commandIdOf(l.body)));
    const state = workload.check(emulator, deadLettered);

    const log = emulator.state.requestLog.filter((r) => r.endpoint !== 'emulator');
    const callsByBucket = { delete: 0, other: 0, capture: 0 };
    for (const r of log) callsByBucket[bucketOf(r.endpoint, r.method)] += 1;
    const messages = sent.sent.deletions + sent.sent.changes + sent.sent.invalid;
    const stats = { d: stack.sources.deletions?.stats, c: stack.sources.changes?.stats };
    // SQS requests: SendMessageBatch, ReceiveMessage and DeleteMessageBatch carry 10 messages each (empty long
    // polls, DLQ sends and visibility changes are left out: small next to these).
    const per10 = (n: number | undefined) => Math.ceil((n ?? 0) / 10);
    const usage: Usage = {
      messages,
      invocations,
      // Measured handler wall time on this machine, NOT stretched by the time scale: CPU and latency do not
      // scale, rate-limit waits would (up to ×timeScale on AWS), so this understates the waiting side's cost.
      gbSeconds: (handlerMs / 1000) * (options.memoryMb / 1024),
      sqsRequests: {
        standard:
          per10(sent.sent.deletions + sent.sent.invalid) +
          per10(stats.d?.received) +
          per10(stats.d?.deleted),
        fifo: per10(sent.sent.changes) + per10(stats.c?.received) + per10(stats.c?.deleted),
      },
    };
    return {
      side: options.side,
      workload: workload.id,
      messages,
      timeScale,
      calls: log.length,
      callsByBucket,
      throttled: log.filter((r) => r.status === 429).length,
      drainWallSeconds,
      drainMinutes: (drainWallSeconds * timeScale) / 60,
      minDrainMinutes: minDrainMinutes(callsByBucket),
      applied: messages - letters.length - state.lost,
      rejected: letters.length,
      ...state,
      batchLowerBound: options.side === 'persons-relay' ? stack.observer.lowerBound : null,
      usage,
      costPerMillion: costPerMillionMessages(usage),
    };
  } finally {
    await stack.close();
    await emulator.close();
  }
}

/** The command id of a dead-lettered body, or its text when it is not a command (malformed). */
function commandIdOf(body: string): string {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : body;
  } catch {
    return body;
  }
}
