import { describe, expect, it } from 'vitest';
import {
  PostHogAbortError,
  PostHogDeadlineError,
  PostHogRateLimiter,
  SlidingWindowLimiter,
} from '../../../../lib/posthog/index.ts';
import { empty, fakeTime, PERSON_UUID, scriptedFetch, unitClient } from './helpers.ts';

/** A clock whose sleeps only end when the test advances time past them. */
function manualTime(start = 1_000_000) {
  let current = start;
  const sleepers: { until: number; resolve: () => void }[] = [];
  return {
    now: (): number => current,
    sleep: (ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const entry = { until: current + ms, resolve };
        sleepers.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            sleepers.splice(sleepers.indexOf(entry), 1);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
    /** Moves time forward and wakes every sleeper that is due. */
    advance: async (ms: number): Promise<void> => {
      current += ms;
      for (const s of [...sleepers].filter((x) => x.until <= current)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.resolve();
      }
      await new Promise((r) => setImmediate(r));
    },
    get sleeping(): number {
      return sleepers.length;
    },
  };
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('SlidingWindowLimiter', () => {
  it('lets `limit` requests through per window and holds the next until the oldest answer ages out', async () => {
    // Prepare
    const time = manualTime();
    const limiter = new SlidingWindowLimiter([{ limit: 3, windowMs: 1000 }], time);
    const permits = [await limiter.acquire(), await limiter.acquire(), await limiter.acquire()];
    await time.advance(100);
    permits[0]?.release(); // answered at +100
    await time.advance(50);
    permits[1]?.release(); // answered at +150
    permits[2]?.release();

    // Act
    const fourth = limiter.acquire();

    // Assess
    expect(await settled(fourth)).toBe(false);
    await time.advance(899); // +1049: the first answer is still inside the window
    expect(await settled(fourth)).toBe(false);
    await time.advance(51); // +1100: first answer + 1000 ms
    expect(await settled(fourth)).toBe(true);
  });

  it('counts in-flight requests, stamped when answered rather than when sent', async () => {
    // Prepare: PostHog stamps on arrival, somewhere between send and answer.
    const time = manualTime();
    const limiter = new SlidingWindowLimiter([{ limit: 2, windowMs: 1000 }], time);
    const a = await limiter.acquire();
    const b = await limiter.acquire();

    // Act: both still in flight after a whole window
    await time.advance(1500);
    const third = limiter.acquire();

    // Assess
    expect(await settled(third)).toBe(false);
    a.release(); // answered at +1500, so the third may start at +2500
    await time.advance(999);
    expect(await settled(third)).toBe(false);
    await time.advance(1);
    expect(await settled(third)).toBe(true);
    b.release();
  });

  it('refuses at once when the slot is past the deadline, reserving nothing', async () => {
    // Prepare
    const time = manualTime();
    const limiter = new SlidingWindowLimiter([{ limit: 2, windowMs: 1000 }], time);
    (await limiter.acquire()).release();
    (await limiter.acquire()).release();

    // Act
    const error = await limiter.acquire({ deadline: time.now() + 500 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(PostHogDeadlineError);
    expect(error).toMatchObject({ retryAfterMs: 1000, remainingMs: 500 });
    expect(time.sleeping).toBe(0);
    expect(limiter.nextSlot().at).toBe(time.now() + 1000);
  });

  it('refuses when in-flight requests fill the window and the deadline is under one window away', async () => {
    const time = manualTime();
    const limiter = new SlidingWindowLimiter([{ limit: 1, windowMs: 1000 }], time);
    await limiter.acquire();

    const error = await limiter.acquire({ deadline: time.now() + 999 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostHogDeadlineError);
  });

  it('applies every window: the hourly one binds once the minute one has room', async () => {
    const time = manualTime();
    const limiter = new SlidingWindowLimiter(
      [
        { limit: 2, windowMs: 60_000 },
        { limit: 3, windowMs: 3_600_000 },
      ],
      time,
    );
    for (let i = 0; i < 3; i++) {
      (await limiter.acquire()).release();
      await time.advance(61_000);
    }
    expect(limiter.nextSlot()).toEqual({ at: 1_000_000 + 3_600_000, exact: true });
  });

  it('stops waiting with PostHogAbortError when the signal fires', async () => {
    const time = manualTime();
    const limiter = new SlidingWindowLimiter([{ limit: 1, windowMs: 1000 }], time);
    (await limiter.acquire()).release();
    const controller = new AbortController();

    const waiting = limiter.acquire({ signal: controller.signal });
    controller.abort();

    await expect(waiting).rejects.toBeInstanceOf(PostHogAbortError);
  });

  it('holds every start after blockUntil (a 429 from another process)', async () => {
    const time = manualTime();
    const limiter = new SlidingWindowLimiter([{ limit: 100, windowMs: 1000 }], time);
    limiter.blockUntil(time.now() + 5000);
    expect(limiter.nextSlot().at).toBe(time.now() + 5000);
  });
});

describe('PostHogRateLimiter', () => {
  it("knows PostHog's buckets and divides them across instances", () => {
    const clock = manualTime();
    const single = new PostHogRateLimiter({}, clock);
    expect(single.bucket('delete').windows).toEqual([
      { limit: 480, windowMs: 61_000 },
      { limit: 4800, windowMs: 3_601_000 },
    ]);
    expect(single.bucket('other').windows).toEqual([{ limit: 240, windowMs: 61_000 }]);

    const fleet = new PostHogRateLimiter({ instances: 4, safetyMarginMs: 0 }, clock);
    expect(fleet.bucket('delete').windows.map((w) => w.limit)).toEqual([120, 1200]);
    expect(fleet.bucket('other').windows).toEqual([{ limit: 60, windowMs: 60_000 }]);
  });

  it('compresses its windows for a time-scaled emulator', () => {
    const limiter = new PostHogRateLimiter({ timeScale: 60, otherPerMinute: 30 }, manualTime());
    expect(limiter.bucket('other').windows[0]?.limit).toBe(30);
    expect(limiter.bucket('other').windows[0]?.windowMs).toBeCloseTo(1000 + 1000 / 60);
  });

  it('rejects nonsense configuration', () => {
    expect(() => new PostHogRateLimiter({ instances: 0 }, manualTime())).toThrow(/instances/);
    expect(() => new PostHogRateLimiter({ otherPerMinute: -1 }, manualTime())).toThrow(
      /otherPerMinute/,
    );
  });
});

describe('PostHogClient with its limiter', () => {
  it('paces calls beyond the per-minute budget instead of collecting 429s', async () => {
    // Prepare
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => empty(202));
    const client = unitClient(fetch, time, {
      rateLimits: { otherPerMinute: 2, safetyMarginMs: 0 },
    });

    // Act
    for (let i = 0; i < 3; i++) await client.updateProperty(PERSON_UUID, 'k', i);

    // Assess
    expect(calls).toHaveLength(3);
    expect(time.sleeps).toEqual([60_000]);
  });

  it('refuses a call whose slot is past the deadline before sending it', async () => {
    const time = fakeTime();
    const { fetch, calls } = scriptedFetch(() => empty(202));
    const client = unitClient(fetch, time, { rateLimits: { otherPerMinute: 1 } });

    await client.updateProperty(PERSON_UUID, 'k', 1);
    const error = await client
      .updateProperty(PERSON_UUID, 'k', 2, { deadline: time.now() + 10_000 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PostHogDeadlineError);
    expect((error as PostHogDeadlineError).retryAfterMs).toBeGreaterThan(59_000);
    expect(calls).toHaveLength(1);
  });
});
