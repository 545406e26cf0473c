import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../local/posthog-emulator/faults.ts';
import { type DeadLetterEntry, listDeadLetters } from '../../../local/sqs/dlq.ts';
import {
  buildTestBundles,
  type Pipeline,
  personsState,
  startPipeline,
  TIME_SCALE,
} from '../harness.ts';
import { recordFigures, SUITE_SIZE } from './figures.ts';
import { generateWorkload } from './generator.ts';

// The chaos run: a seeded mix of every command through fauxqs, the runner and the bundled handlers, against the
// emulator injecting faults into 32 % of the requests, two (scaled) 5-minute outages, and 1 % of invocations killed
// mid-batch. Pass: every message applied or dead-lettered for a permanent reason, none lost, and the final persons
// equal to a fault-free run of the same messages.

const SIZE = Number(
  process.env['RELIABILITY_CHAOS_SIZE'] ?? (SUITE_SIZE === 'full' ? 20_000 : 2_000),
);
/** A generous ceiling for draining, never an assertion on speed. */
const DRAIN_TIMEOUT_MS = SUITE_SIZE === 'full' ? 3_600_000 : 300_000;

const FAULTS = {
  errorRate: 0.15,
  errorStatuses: [500, 502, 503, 504] as number[],
  throttleRate: 0.1,
  retryAfterSeconds: 1,
  hangRate: 0.05,
  resetRate: 0.02,
  randomSeed: 1128,
} as const;
const KILL_RATE = 0.01;
/**
 * Two outages of 5 PostHog minutes each (5 real seconds at ×60), starting this long after polling starts (the first
 * once the sandboxes are warm and calling).
 */
const OUTAGE_MS = (5 * 60 * 1000) / TIME_SCALE;
const OUTAGE_STARTS_MS = [6_000, 6_000 + OUTAGE_MS + 8_000];

/**
 * A 1 s per-attempt timeout, so a hang costs 1 s. The runner counts a cold start inside the function timeout (Lambda
 * gives init its own 10 s), and eight sandboxes starting at once on a loaded 2-core machine take several seconds, so
 * the function timeout stays at the default 20 s; a killed batch is back after the 25 s visibility timeout.
 */
const CHAOS_ENV = {
  // Capture for property writes by distinct id (fewer calls per batch); updates by uuid still use update_property.
  POSTHOG_PROPERTY_WRITES: 'capture',
  POSTHOG_TIMEOUT_MS: '1000',
  POSTHOG_MAX_RETRIES: '2',
  DEADLINE_SAFETY_MARGIN_MS: '1500',
};
const LANES = {
  deletions: { functionTimeoutMs: 20_000 },
  // Six instances: under these faults a batch mostly waits (timeouts, Retry-After), it does not compute.
  changes: { functionTimeoutMs: 20_000, concurrency: 4 },
  visibilityTimeoutSeconds: 25,
};

interface RunResult {
  state: ReturnType<typeof personsState>;
  letters: DeadLetterEntry[];
  sent: number;
  pipeline: Pipeline;
}

const workload = generateWorkload(SIZE);
let bundles: Awaited<ReturnType<typeof buildTestBundles>>;

beforeAll(async () => {
  bundles = await buildTestBundles();
});
afterAll(async () => {
  await bundles.cleanup();
});

async function runWorkload(chaos: boolean): Promise<RunResult> {
  const pipeline = await startPipeline(bundles.modules, {
    emulator: { seed: { persons: workload.persons }, ...(chaos ? { faults: FAULTS } : {}) },
    env: CHAOS_ENV,
    stack: {
      deletions: LANES.deletions,
      changes: LANES.changes,
      visibilityTimeoutSeconds: LANES.visibilityTimeoutSeconds,
      ...(chaos ? { kill: { rate: KILL_RATE, withinMs: 2_000, random: seededRandom(77) } } : {}),
    },
  });
  const summary = await pipeline.send(workload.lines);
  const timers: NodeJS.Timeout[] = [];
  pipeline.stack.startPolling();
  if (chaos) {
    for (const start of OUTAGE_STARTS_MS) {
      timers.push(setTimeout(() => pipeline.emulator.setOutage(true), start));
      timers.push(setTimeout(() => pipeline.emulator.setOutage(false), start + OUTAGE_MS));
    }
    // Let both outages happen before waiting for the queues to drain.
    await new Promise((resolve) =>
      setTimeout(resolve, (OUTAGE_STARTS_MS.at(-1) ?? 0) + OUTAGE_MS + 500),
    );
  }
  await pipeline.stack.waitUntilDrained({ timeoutMs: DRAIN_TIMEOUT_MS, pollMs: 250 });
  for (const timer of timers) clearTimeout(timer);
  await pipeline.emulator.flush();
  const letters = [
    ...(await listDeadLetters(
      pipeline.stack.sqs.client,
      pipeline.stack.sqs.queues.deletions.dlqUrl,
      { max: SIZE },
    )),
    ...(await listDeadLetters(pipeline.stack.sqs.client, pipeline.stack.sqs.queues.changes.dlqUrl, {
      max: SIZE,
    })),
  ];
  const sent = summary.sent.deletions + summary.sent.changes + summary.sent.invalid;
  return { state: personsState(pipeline.emulator), letters, sent, pipeline };
}

/** Dead letters as comparable data: code and body, sorted (message ids differ between runs). */
const letterKeys = (letters: DeadLetterEntry[]) =>
  [...new Map(letters.map((l) => [l.originalMessageId ?? l.messageId, l])).values()]
    .map((l) => `${l.errorCode} ${l.body}`)
    .sort();

describe(`chaos run (${SIZE} messages)`, () => {
  let reference: RunResult;
  let chaos: RunResult;

  beforeAll(
    async () => {
      reference = await runWorkload(false);
      await reference.pipeline.close();
      chaos = await runWorkload(true);
    },
    DRAIN_TIMEOUT_MS * 2 + 60_000,
  );

  afterAll(async () => {
    await chaos?.pipeline.close();
  });

  it('injected every kind of fault', () => {
    const log = chaos.pipeline.emulator.state.requestLog;
    for (const kind of ['error', 'throttle', 'hang', 'reset', 'outage'] as const) {
      expect(
        log.some((r) => r.fault === kind),
        kind,
      ).toBe(true);
    }
    const killed =
      (chaos.pipeline.stack.sources.deletions?.stats.killed ?? 0) +
      (chaos.pipeline.stack.sources.changes?.stats.killed ?? 0);
    expect(killed).toBeGreaterThan(0);
  });

  it('loses nothing: every message is applied or dead-lettered for a permanent reason', () => {
    // Assess: the fault-free run sent everything and rejected only the bad ones by construction
    expect(reference.sent).toBe(SIZE);
    expect(new Set(reference.letters.map((l) => l.originalMessageId)).size).toBe(
      workload.expectedRejected,
    );
    // Assess: under chaos, applied + dead-lettered (distinct originals) = sent, none left retrying
    const outcomes = [...chaos.pipeline.stack.observer.outcomes.values()];
    const applied = outcomes.filter((o) => o.outcome === 'applied').length;
    const deadLettered = new Set(chaos.letters.map((l) => l.originalMessageId ?? l.messageId));
    expect(outcomes.filter((o) => o.outcome === 'retry')).toEqual([]);
    expect(chaos.letters.filter((l) => l.errorCode === 'redrive_policy')).toEqual([]);
    expect(chaos.sent - applied - deadLettered.size).toBe(0);
    expect(letterKeys(chaos.letters)).toEqual(letterKeys(reference.letters));
  });

  it('ends in the same PostHog state as the fault-free run', () => {
    expect(chaos.state).toEqual(reference.state);
  });

  it('records the figures', () => {
    const stack = chaos.pipeline.stack;
    const log = chaos.pipeline.emulator.state.requestLog;
    const faults = (kind: string) => log.filter((r) => r.fault === kind).length;
    const outcomes = [...stack.observer.outcomes.values()];
    const redeliveries = outcomes.reduce((n, o) => n + Math.max(0, o.receiveCount - 1), 0);
    const byReason = new Map<string, number>();
    for (const l of new Map(chaos.letters.map((x) => [x.originalMessageId, x])).values()) {
      byReason.set(l.errorCode, (byReason.get(l.errorCode) ?? 0) + 1);
    }
    const canonical = (value: unknown): string =>
      JSON.stringify(value, (_key, v: unknown) =>
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
          : v,
      );
    const referenceKeys = new Set(reference.state.map(canonical));
    const chaosKeys = new Set(chaos.state.map(canonical));
    const mismatches =
      [...chaosKeys].filter((k) => !referenceKeys.has(k)).length +
      [...referenceKeys].filter((k) => !chaosKeys.has(k)).length;
    recordFigures('chaos', {
      messages: chaos.sent,
      'PostHog requests': log.length,
      'faults: 5xx': faults('error'),
      'faults: 429 with Retry-After': faults('throttle'),
      'faults: hang past the timeout': faults('hang'),
      'faults: connection reset': faults('reset'),
      'faults: outage 503 (2 × 5 scaled minutes)': faults('outage'),
      'invocations killed mid-batch':
        (stack.sources.deletions?.stats.killed ?? 0) + (stack.sources.changes?.stats.killed ?? 0),
      invocations:
        (stack.sources.deletions?.stats.invocations ?? 0) +
        (stack.sources.changes?.stats.invocations ?? 0),
      'messages retried through SQS (at least once)': stack.observer.everRetried.size,
      'SQS redeliveries': redeliveries,
      'DLQ by reason': [...byReason].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none',
      lost:
        chaos.sent -
        outcomes.filter((o) => o.outcome === 'applied').length -
        [...byReason.values()].reduce((a, b) => a + b, 0),
      'state mismatches vs fault-free run': mismatches,
      'persons compared': reference.state.length,
      'longest outage survived without a DLQ entry': `${OUTAGE_MS / 1000} s = 5 PostHog minutes at ×${TIME_SCALE}`,
    });
    expect(mismatches).toBe(0);
  });
});
