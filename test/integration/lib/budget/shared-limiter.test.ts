import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FallbackEvent,
  SharedRateLimiter,
  type SharedRateLimiterOptions,
} from '#lib/budget/index.ts';
import { loadConfig } from '#lib/config.ts';
import {
  POSTHOG_RATE_LIMITS,
  PostHogDeadlineError,
  PostHogRateLimiter,
  type RateBucket,
  type RateGovernor,
} from '#lib/posthog/index.ts';
import { DynamoBudgetStore, keyHash } from '#lib/store/index.ts';
import { timeScaledEnv } from '../../../../local/runner/emulator-target.ts';
import { type LocalDynamo, startLocalDynamo } from '../../../../local/store/index.ts';
import { countingStore, maxInWindow, VirtualTime } from '../../../support/virtual-time.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
let dynamo: LocalDynamo;
let keys = 0;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  await dynamo.stop();
});

/** A fresh key (so each test has its own buckets), and a limiter factory: one limiter per simulated instance. */
function fleet(time: VirtualTime, overrides: Partial<SharedRateLimiterOptions> = {}) {
  const hash = keyHash(`phx_test_key_${++keys}_${Date.now()}`);
  const store = countingStore(new DynamoBudgetStore(dynamo.client, dynamo.tableName), time);
  const fallbacks: FallbackEvent[] = [];
  return {
    fallbacks,
    instance: (instances = 8): SharedRateLimiter =>
      new SharedRateLimiter(
        {
          store,
          keyHash: hash,
          rateLimits: { instances },
          onFallback: (e) => fallbacks.push(e),
          // Real time, and this machine is shared: generous here; the fallback tests below use short ones.
          storeTimeoutMs: 5_000,
          ...overrides,
        },
        time,
      ),
  };
}

/** One simulated caller: acquire, a call of `latencyMs`, release; until virtual time `end`. */
async function caller(
  limiter: RateGovernor,
  bucket: RateBucket,
  time: VirtualTime,
  end: number,
  log: number[],
  latencyMs = 300,
): Promise<void> {
  for (;;) {
    let permit: { release(): void };
    try {
      permit = await limiter.acquire(bucket, { deadline: end });
    } catch (error) {
      if (error instanceof PostHogDeadlineError) return;
      throw error;
    }
    if (time.now() >= end) {
      permit.release();
      return;
    }
    log.push(time.now());
    await time.sleep(latencyMs);
    permit.release();
  }
}

/** Runs `callers` concurrent callers per limiter until `durationMs` of virtual time have passed. */
async function simulate(
  time: VirtualTime,
  limiters: readonly { limiter: RateGovernor; bucket: RateBucket; callers: number }[],
  durationMs: number,
  latencyMs = 300,
): Promise<number[][]> {
  const end = time.now() + durationMs;
  const logs = limiters.map(() => [] as number[]);
  const tasks = limiters.flatMap(({ limiter, bucket, callers }, i) =>
    Array.from({ length: callers }, () =>
      caller(limiter, bucket, time, end, logs[i] ?? [], latencyMs),
    ),
  );
  await time.runUntil(end);
  await time.drain();
  await Promise.all(tasks);
  return logs;
}

describe('SharedRateLimiter against dynalite, at PostHog real limits under a fake clock', () => {
  it('keeps six instances of both lanes under 240 "other" calls in every sliding minute, and uses the budget', async () => {
    // Prepare: 3 deletions-lane instances (batch_by_distinct_ids) and 3 changes-lane instances, one key.
    const time = new VirtualTime();
    const { instance, fallbacks } = fleet(time);
    const limiters = Array.from({ length: 6 }, () => ({
      limiter: instance(),
      bucket: 'other' as const,
      callers: 4,
    }));

    // Act
    const logs = await simulate(time, limiters, 5 * MINUTE);

    // Assess
    expect(fallbacks).toEqual([]);
    const all = logs.flat();
    expect(maxInWindow(all, MINUTE)).toBeLessThanOrEqual(POSTHOG_RATE_LIMITS.otherPerMinute);
    // Sustained: (240 − capacity 4) per 61 s ≈ 232/min, plus the first burst.
    expect(all.length / 5).toBeGreaterThan(225);
    expect(fallbacks).toEqual([]);
    // Every instance got a share (none starved).
    for (const log of logs) expect(log.length).toBeGreaterThan(100);
  });

  it('coalesces the acquisitions waiting on one instance into one round trip (several slots per write)', async () => {
    // Prepare
    const time = new VirtualTime();
    const { instance } = fleet(time);
    const limiter = instance();

    // Act: 8 callers at once; the first starts a round trip, the 7 others wait for the next one.
    const permits = Array.from({ length: 8 }, () => limiter.acquire('other'));
    await time.runUntil(time.now() + MINUTE);
    await Promise.all(permits);

    // Assess
    expect(limiter.stats).toMatchObject({ roundTrips: 2, granted: 8, conflicts: 0 });
    expect(limiter.stats.storeCalls).toBe(3); // one read of the new item, then one conditional write per round trip
  });

  it('gives a single instance the whole budget, where the per-instance share gave it 1/8', async () => {
    // Prepare
    const time = new VirtualTime();
    const { instance } = fleet(time);
    const shared = instance(8);
    const share = new PostHogRateLimiter({ instances: 8 }, time);

    // Act
    const [alone = []] = await simulate(
      time,
      [{ limiter: shared, bucket: 'other', callers: 4 }],
      10 * MINUTE,
    );
    const [baseline = []] = await simulate(
      time,
      [{ limiter: share, bucket: 'other', callers: 4 }],
      10 * MINUTE,
    );

    // Assess
    expect(maxInWindow(alone, MINUTE)).toBeLessThanOrEqual(240);
    expect(alone.length / 10).toBeGreaterThan(228); // ≥ 95 % of 240/min
    expect(baseline.length / 10).toBeLessThanOrEqual(30);
    // Alone, its cached state is current: about one conditional write per slot, fewer when slots are coalesced.
    expect(shared.stats.storeCalls).toBeLessThanOrEqual(alone.length + 2);
    expect(shared.stats.conflicts).toBe(0);
  });

  it('keeps deletes under 480 per minute and 4800 per hour across a recycled instance, where fresh per-instance limiters do not', async () => {
    // Prepare: two deletions instances; one is recycled (a new limiter, empty memory) after 20 minutes.
    const time = new VirtualTime();
    const { instance } = fleet(time);
    const first = [instance(1), instance(1)];

    // Act
    const before = await simulate(
      time,
      first.map((limiter) => ({ limiter, bucket: 'delete' as const, callers: 4 })),
      20 * MINUTE,
    );
    const after = await simulate(
      time,
      [instance(1), instance(1)].map((limiter) => ({
        limiter,
        bucket: 'delete' as const,
        callers: 4,
      })),
      50 * MINUTE,
    );

    // Assess
    const all = [...before.flat(), ...after.flat()];
    const start = Math.min(...all);
    expect(maxInWindow(all, MINUTE)).toBeLessThanOrEqual(POSTHOG_RATE_LIMITS.deletePerMinute);
    expect(maxInWindow(all, HOUR)).toBeLessThanOrEqual(POSTHOG_RATE_LIMITS.deletePerHour);
    // And the budget is used: the whole hour in its first ten minutes (the 480/min burst, 472 per 61 s), nothing
    // more until the first minute bin's calls leave the counted hour (60–61 min: bins are whole clock minutes),
    // then the next burst.
    expect(all.filter((t) => t < start + 11 * MINUTE)).toHaveLength(4_800);
    expect(all.filter((t) => t < start + 60 * MINUTE)).toHaveLength(4_800);
    expect(all.length).toBeGreaterThan(4_800 + 7 * 400);

    // The baseline breaks the hourly limit exactly this way: a recycled in-process limiter forgets its hour.
    const baseTime = new VirtualTime();
    const base1 = await simulate(
      baseTime,
      [
        {
          limiter: new PostHogRateLimiter({ instances: 1 }, baseTime),
          bucket: 'delete',
          callers: 4,
        },
      ],
      20 * MINUTE,
    );
    const base2 = await simulate(
      baseTime,
      [
        {
          limiter: new PostHogRateLimiter({ instances: 1 }, baseTime),
          bucket: 'delete',
          callers: 4,
        },
      ],
      20 * MINUTE,
    );
    expect(maxInWindow([...base1.flat(), ...base2.flat()], HOUR)).toBeGreaterThan(4_800);
  }, 120_000);

  it('shares a 429 block with every instance through the store', async () => {
    // Prepare
    const time = new VirtualTime();
    const { instance } = fleet(time);
    const a = instance();
    const b = instance();
    const log: number[] = [];
    await simulate(time, [{ limiter: b, bucket: 'other', callers: 1 }], 10_000); // b has a cached state
    const start = time.now();

    // Act: a gets a 429 with Retry-After 30 s.
    a.blockUntil('other', start + 30_000);
    await time.runUntil(start); // let the block reach the store
    const task = (async () => {
      const permit = await b.acquire('other');
      log.push(time.now());
      permit.release();
    })();
    await time.runUntil(start + 60_000);
    await task;

    // Assess
    expect(log[0]).toBeGreaterThanOrEqual(start + 30_000);
  });
});

describe('SharedRateLimiter fails safe', () => {
  let hanging: Server;
  let hangingUrl: string;
  beforeAll(async () => {
    // A DynamoDB endpoint that accepts requests and never answers: the slow store.
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', () => resolve()));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
  });

  it('falls back to the per-instance share when the store does not answer in time, and reports it', async () => {
    // Prepare
    const time = new VirtualTime();
    const client = dynamo.createClient({ endpoint: hangingUrl, maxAttempts: 1 });
    const events: FallbackEvent[] = [];
    const limiter = new SharedRateLimiter(
      {
        store: countingStore(new DynamoBudgetStore(client, dynamo.tableName), time),
        keyHash: keyHash('phx_slow'),
        rateLimits: { instances: 8 },
        storeTimeoutMs: 100,
        onFallback: (e) => events.push(e),
      },
      time,
    );

    // Act: 3 minutes, 4 callers.
    const [log = []] = await simulate(time, [{ limiter, bucket: 'other', callers: 4 }], 3 * MINUTE);
    client.destroy();

    // Assess: today's share, 240 / 8 = 30 a minute, is kept; the store was retried after each 10 s hold.
    expect(maxInWindow(log, MINUTE)).toBeLessThanOrEqual(30);
    expect(log.length).toBeGreaterThanOrEqual(80);
    expect(events.filter((e) => e.reason === 'store_timeout').length).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e.reason === 'store_timeout').length).toBeLessThanOrEqual(19);
    expect(limiter.stats.fallbacks).toBe(
      log.length + events.filter((e) => e.reason === 'degraded').length - log.length,
    );
  });

  it('falls back when the store is down, and returns to the shared budget once it is back', async () => {
    // Prepare: a store that refuses connections (a closed port).
    const time = new VirtualTime();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = dynamo.createClient({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
    let current = new DynamoBudgetStore(down, dynamo.tableName);
    const switching = {
      read: (k: string, s: AbortSignal) => current.read(k, s),
      write: (...a: Parameters<DynamoBudgetStore['write']>) => current.write(...a),
      block: (...a: Parameters<DynamoBudgetStore['block']>) => current.block(...a),
    };
    const events: FallbackEvent[] = [];
    const limiter = new SharedRateLimiter(
      {
        store: countingStore(switching, time),
        keyHash: keyHash(`phx_down_${Date.now()}`),
        rateLimits: { instances: 8 },
        storeTimeoutMs: 5_000,
        onFallback: (e) => events.push(e),
      },
      time,
    );

    // Act
    const [broken = []] = await simulate(time, [{ limiter, bucket: 'other', callers: 4 }], MINUTE);
    current = new DynamoBudgetStore(dynamo.client, dynamo.tableName);
    const [healed = []] = await simulate(
      time,
      [{ limiter, bucket: 'other', callers: 4 }],
      2 * MINUTE,
    );
    down.destroy();

    // Assess
    expect(events.some((e) => e.reason === 'store_error')).toBe(true);
    expect(broken.length).toBeLessThanOrEqual(30);
    expect(healed.length / 2).toBeGreaterThan(200); // the whole budget again
    expect(maxInWindow([...broken, ...healed], MINUTE)).toBeLessThanOrEqual(240);
  });
});

describe('SharedRateLimiter with a time scale', () => {
  it.each([
    ['timeScaledEnv (budgets × 60, real windows)', timeScaledEnv(60), 240 * 60, 61_000],
    [
      'POSTHOG_RATE_TIME_SCALE (windows ÷ 60)',
      { POSTHOG_RATE_TIME_SCALE: '60' },
      240,
      1_000 + 1_000 / 60,
    ],
  ])('takes the local time scaling from the function config: %s', (_name, env, limit, windowMs) => {
    // Prepare: the function's config, as the local runner and the bench set it.
    const config = loadConfig({
      LANE: 'changes',
      POSTHOG_HOST: 'http://127.0.0.1:1',
      POSTHOG_PROJECT_ID: '1',
      POSTHOG_SECRET_ID: 's',
      QUEUE_URL: 'http://127.0.0.1:1/q',
      DLQ_URL: 'http://127.0.0.1:1/dlq',
      RELAY_STATE_TABLE_NAME: 't',
      ...env,
    });

    // Act: what createRelayHandler builds from it.
    const limiter = new SharedRateLimiter(
      {
        store: new DynamoBudgetStore(dynamo.client, dynamo.tableName),
        keyHash: 'x',
        rateLimits: { ...config.posthog.rateLimits },
      },
      new VirtualTime(),
    );

    // Assess
    expect(limiter.specs('other')[0]?.limit).toBe(limit);
    expect(limiter.specs('other')[0]?.windowMs).toBeCloseTo(windowMs, 6);
  });

  it('shrinks its windows like the emulator (POSTHOG_RATE_TIME_SCALE), keeping the budgets', async () => {
    // Prepare: ×60, so a PostHog minute lasts one second.
    const time = new VirtualTime();
    const { instance } = fleet(time, { rateLimits: { instances: 2, timeScale: 60 } });
    const limiters = [instance(), instance()].map((limiter) => ({
      limiter,
      bucket: 'other' as const,
      callers: 4,
    }));

    // Act
    const logs = await simulate(time, limiters, 3_000, 5);

    // Assess
    expect(instance().specs('other')[0]?.windowMs).toBeCloseTo(1000 + 1000 / 60, 5);
    expect(maxInWindow(logs.flat(), 1_000)).toBeLessThanOrEqual(240);
    expect(logs.flat().length / 3).toBeGreaterThan(220);
  });
});
