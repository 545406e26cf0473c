import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestBundles,
  exampleLines,
  type Pipeline,
  personsState,
  startPipeline,
} from './harness.ts';

// Outages and throttling, end to end: fauxqs + the time-scaled emulator + the bundled handlers.
// Time scale 60: the emulator's minute is a real second, and the functions' retry delays are scaled to match
// (RETRY_BASE_DELAY_SECONDS 1 and RETRY_MAX_DELAY_SECONDS 4 instead of 30 and 900: SQS counts whole seconds).

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;

beforeAll(async () => {
  bundles = await buildTestBundles();
});

afterAll(async () => {
  await bundles.cleanup();
});

const valid = async () => {
  const lines = await exampleLines();
  // Only the valid commands: this file is about transient failures, not bad input.
  return lines.filter((line) => !/"(broken|bad)-8|"hello"/.test(line));
};

/** The final state of a clean run (the emulator is deterministic for the same commands). */
async function referenceState(): Promise<ReturnType<typeof personsState>> {
  const clean = await startPipeline(bundles.modules);
  try {
    await clean.send(await valid());
    clean.stack.startPolling();
    await clean.stack.waitUntilDrained({ timeoutMs: 150_000 });
    await clean.emulator.flush();
    return personsState(clean.emulator);
  } finally {
    await clean.close();
  }
}

/**
 * Lets an outage last at least `atLeastMs` and until `until()` holds, checking every 100 ms; throws after `ceilingMs`
 * (a hung run, not a slow one).
 */
async function outageOf(options: {
  atLeastMs: number;
  until: () => boolean;
  ceilingMs?: number;
}): Promise<void> {
  const started = Date.now();
  const ceiling = started + (options.ceilingMs ?? 120_000);
  while (Date.now() - started < options.atLeastMs || !options.until()) {
    if (Date.now() > ceiling) throw new Error('the outage condition was not reached');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('resilience of the pipeline', () => {
  let reference: ReturnType<typeof personsState>;
  let pipeline: Pipeline | undefined;

  beforeAll(async () => {
    reference = await referenceState();
  }, 240_000);

  afterAll(async () => {
    await pipeline?.close();
  });

  it('waits out a (scaled) 10 minute PostHog outage: nothing reaches the DLQ and everything applies after', async () => {
    // Prepare: PostHog answers 503 to everything
    pipeline = await startPipeline(bundles.modules);
    pipeline.emulator.setOutage(true);
    await pipeline.send(await valid());

    // Act: at least 10 scaled minutes of outage with the functions polling, and until every deletion and the head of
    // every FIFO group (7 groups) were tried and deferred (the rest of a group waits behind its head, as FIFO order
    // demands). On a loaded machine a fixed 10 s could end before all 23 were tried; the ceiling only ends a hung run.
    pipeline.stack.startPolling();
    const observer = pipeline.stack.observer;
    await outageOf({ atLeastMs: 10_000, until: () => observer.everRetried.size >= 16 + 7 });
    const retriedDuringOutage = pipeline.stack.observer.everRetried.size;
    const duringOutage = await pipeline.stack.depth();
    const appliedDuringOutage = [...pipeline.stack.observer.outcomes.values()].filter(
      (o) => o.outcome === 'applied',
    ).length;
    pipeline.emulator.setOutage(false);
    await pipeline.stack.waitUntilDrained({ timeoutMs: 150_000 });
    await pipeline.emulator.flush();

    // Assess: during the outage, retried with delays, none dead-lettered, none applied
    expect(appliedDuringOutage).toBe(0);
    expect(retriedDuringOutage).toBeGreaterThanOrEqual(16 + 7);
    expect(duringOutage.deletions.dlq + duringOutage.changes.dlq).toBe(0);
    const outcomes = [...pipeline.stack.observer.outcomes.values()];
    const receives = outcomes.map((o) => o.receiveCount);
    expect(Math.max(...receives)).toBeGreaterThan(1);
    expect(Math.max(...receives)).toBeLessThan(pipeline.stack.sqs.queues.deletions.maxReceiveCount);
    // Assess: after recovery, every message applied and the state is the same as without the outage
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(24).fill('applied'));
    expect(await pipeline.stack.depth()).toEqual({
      deletions: { queued: 0, inFlight: 0, dlq: 0 },
      changes: { queued: 0, inFlight: 0, dlq: 0 },
    });
    expect(personsState(pipeline.emulator)).toEqual(reference);
    expect(pipeline.stack.observer.metrics.totals.get('MessagesRetried')).toBeGreaterThan(0);
    await pipeline.close();
    pipeline = undefined;
  }, 240_000);

  it('delays messages under 429s instead of losing them', async () => {
    // Prepare: 20 % of the requests are throttled with Retry-After; the client does not retry in-process,
    // so every 429 reaches the batch loop and becomes a delayed SQS retry.
    pipeline = await startPipeline(bundles.modules, {
      emulator: { faults: { throttleRate: 0.2, retryAfterSeconds: 1, randomSeed: 7 } },
      env: { POSTHOG_MAX_RETRIES: '0', RETRY_MAX_DELAY_SECONDS: '2' },
    });
    await pipeline.send(await valid());

    // Act
    pipeline.stack.startPolling();
    await pipeline.stack.waitUntilDrained({ timeoutMs: 150_000 });
    await pipeline.emulator.flush();

    // Assess
    const throttled = pipeline.emulator.state.requestLog.filter((r) => r.status === 429).length;
    expect(throttled).toBeGreaterThan(0);
    expect(pipeline.stack.observer.metrics.totals.get('PostHogThrottled')).toBe(throttled);
    const outcomes = [...pipeline.stack.observer.outcomes.values()];
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(24).fill('applied'));
    expect(pipeline.stack.observer.everRetried.size).toBeGreaterThan(0);
    const depth = await pipeline.stack.depth();
    expect(depth.deletions.dlq + depth.changes.dlq).toBe(0);
    expect(personsState(pipeline.emulator)).toEqual(reference);
  }, 240_000);
});
