import { PostHogAbortError, PostHogDeadlineError } from './errors.ts';
import { POSTHOG_RATE_LIMITS } from './limits.ts';
import type { RateLimitOptions } from './types.ts';

/*
 * Why hand-written: the maintained npm limiters were checked first. `limiter` (token bucket; its
 * clock and wait live in a private module), `p-throttle` (one window; `Date.now()` and `setTimeout`
 * hard-wired), `bottleneck` (last release 2019; `Date.now()`), `rate-limiter-flexible` and
 * `@sapphire/ratelimits` (server-side counters on `Date.now()`) — none takes an injected clock and
 * sleep, none knows a caller's deadline, and only `limiter` chains two windows (via a parent bucket).
 * PostHog's throttles are DRF `SimpleRateThrottle`s, which are sliding-window logs; a ~100-line
 * sliding-window log that enforces the same rule client-side is both the smallest and the most
 * faithful fit (and it can stamp requests on completion, see below, which no library offers).
 */

/** One limit: at most `limit` requests counted in any `windowMs`. */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

/** Injected time. */
export interface LimiterClock {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Options of one acquisition. */
export interface AcquireOptions {
  deadline?: number;
  signal?: AbortSignal;
}

/** A granted slot. Call `release()` once the request has its answer (or failed). */
export interface RatePermit {
  release(): void;
}

interface Entry {
  /** When the request was answered; `undefined` while in flight. */
  doneAt: number | undefined;
}

/**
 * A sliding-window log over several windows at once (DRF `SimpleRateThrottle` is one, per window).
 *
 * The subtle part is WHEN a request is stamped. PostHog stamps it on arrival, which we cannot see:
 * it lies between our send and its answer. Stamping at send time lets a burst whose arrivals spread
 * out (a busy server, a slow network) look older to us than to PostHog, and the next window's first
 * request collects a 429. So an in-flight request counts in every window, and on `release()` it is
 * stamped with the answer time, an upper bound of its arrival: a request we start once that stamp is
 * `windowMs` old is provably outside PostHog's window too, whatever the latency.
 *
 * Deadline: the wait is computed before sleeping. When completed requests must age out, the slot is
 * exact; when in-flight ones must, it is at least `now + windowMs`. Either way a caller whose slot is
 * known to fall past its deadline is refused at once with `PostHogDeadlineError` (`retryAfterMs` =
 * the wait) and nothing is reserved.
 */
export class SlidingWindowLimiter {
  readonly #windows: RateWindow[];
  readonly #clock: LimiterClock;
  readonly #longestMs: number;
  #entries: Entry[] = [];
  #blockedUntil = 0;
  /** Wakes sleepers when an in-flight request completes (their slot may now be computable). */
  #wakers = new Set<() => void>();

  constructor(windows: RateWindow[], clock: LimiterClock) {
    for (const w of windows) {
      if (!(Number.isFinite(w.limit) && w.limit >= 1 && w.windowMs > 0)) {
        throw new TypeError(
          `Invalid rate window ${JSON.stringify(w)}: limit must be >= 1 and windowMs > 0`,
        );
      }
    }
    this.#windows = windows.map((w) => ({ limit: Math.floor(w.limit), windowMs: w.windowMs }));
    this.#clock = clock;
    this.#longestMs = Math.max(0, ...windows.map((w) => w.windowMs));
  }

  /** The windows in force (after division across instances). */
  get windows(): readonly RateWindow[] {
    return this.#windows;
  }

  /** Requests currently in flight. */
  get inFlight(): number {
    return this.#entries.filter((e) => e.doneAt === undefined).length;
  }

  /**
   * The earliest time one more request fits every window. `exact: false` means in-flight requests
   * must finish first, so `at` is only a lower bound.
   */
  nextSlot(now: number = this.#clock.now()): { at: number; exact: boolean } {
    this.#prune(now);
    let at = Math.max(now, this.#blockedUntil);
    let exact = true;
    for (const w of this.#windows) {
      let inFlight = 0;
      const done: number[] = [];
      for (const e of this.#entries) {
        if (e.doneAt === undefined) inFlight++;
        else if (e.doneAt > now - w.windowMs) done.push(e.doneAt);
      }
      const excess = inFlight + done.length - w.limit + 1;
      if (excess <= 0) continue;
      if (excess <= done.length) {
        done.sort((a, b) => a - b);
        at = Math.max(at, (done[excess - 1] ?? now) + w.windowMs);
      } else {
        at = Math.max(at, now + w.windowMs);
        exact = false;
      }
    }
    return { at, exact };
  }

  /**
   * Waits for a slot and takes it. Throws `PostHogDeadlineError` without waiting when the slot is
   * known to be past `deadline`, and `PostHogAbortError` when `signal` fires while waiting.
   */
  async acquire(options: AcquireOptions = {}): Promise<RatePermit> {
    for (;;) {
      const now = this.#clock.now();
      const slot = this.nextSlot(now);
      if (slot.exact && slot.at <= now) return this.#take();
      if (options.deadline !== undefined && slot.at > options.deadline) {
        const left = Math.max(0, options.deadline - now);
        throw new PostHogDeadlineError(
          `the rate limit leaves no slot before the deadline (next slot in ${slot.at - now} ms${slot.exact ? '' : ' or later'}, ${left} ms left)`,
          { remainingMs: left, retryAfterMs: slot.at - now },
        );
      }
      // An inexact slot is re-evaluated when an in-flight request completes.
      const wait = slot.exact
        ? slot.at - now
        : Math.max(1, (options.deadline ?? slot.at + this.#longestMs) - now);
      await this.#sleep(wait, !slot.exact, options.signal);
    }
  }

  /**
   * Counts a request started elsewhere (the shared budget granted it) at `at`, as answered then: when this limiter
   * later takes over as the fallback, it knows what the instance already spent.
   */
  record(at: number = this.#clock.now()): void {
    this.#entries.push({ doneAt: at });
  }

  /** Blocks every start until `until` (epoch ms): used when PostHog answers 429 anyway. */
  blockUntil(until: number): void {
    this.#blockedUntil = Math.max(this.#blockedUntil, until);
  }

  #take(): RatePermit {
    const entry: Entry = { doneAt: undefined };
    this.#entries.push(entry);
    return {
      release: () => {
        if (entry.doneAt !== undefined) return;
        entry.doneAt = this.#clock.now();
        for (const wake of [...this.#wakers]) wake();
      },
    };
  }

  async #sleep(ms: number, wakeOnRelease: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new PostHogAbortError('Aborted while waiting for the rate limiter');
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const wake = (): void => controller.abort();
    if (wakeOnRelease) this.#wakers.add(wake);
    try {
      await this.#clock.sleep(ms, controller.signal);
    } catch {
      // Woken early by a release (fine, re-evaluate) or by the caller's abort (handled below).
    } finally {
      this.#wakers.delete(wake);
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) {
      throw new PostHogAbortError('Aborted while waiting for the rate limiter', {
        cause: signal.reason,
      });
    }
  }

  #prune(now: number): void {
    if (this.#entries.length < 64) return;
    this.#entries = this.#entries.filter(
      (e) => e.doneAt === undefined || e.doneAt > now - this.#longestMs,
    );
  }
}

/** PostHog's personal-API-key buckets (`rate_limit.py`); the numbers live with PostHog's other limits. */
export { POSTHOG_RATE_LIMITS };

/** Which throttle bucket an endpoint falls in; `null` for capture, which the API throttles skip. */
export type RateBucket = 'delete' | 'other';

/**
 * What the client needs from a rate governor: {@link PostHogRateLimiter} (in-process, a share of the budget per
 * instance) or the fleet-wide `SharedRateLimiter` of `lib/budget` (one budget per key in DynamoDB).
 */
export interface RateGovernor {
  /** Waits for a slot in `bucket`; the permit is released once the request has its answer. */
  acquire(bucket: RateBucket, options?: AcquireOptions): Promise<RatePermit>;
  /** After a 429 (someone else spent the key's budget): holds the bucket back until `until` (epoch ms). */
  blockUntil(bucket: RateBucket, until: number): void;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Default slack per window, absorbing latency differences between our send and PostHog's count. */
export const DEFAULT_SAFETY_MARGIN_MS = 1_000;

/**
 * The client-side governor that knows PostHog's buckets: `delete` (destroy, bulk_delete) at
 * 480/minute plus 4800/hour, `other` (every other persons action) at 240/minute. Each rate is divided
 * by `instances`, so N concurrent Lambdas sharing one key stay under the team-wide limit together.
 *
 * @example
 * const limiter = new PostHogRateLimiter({ instances: 4 }, { now: Date.now, sleep });
 * await limiter.acquire('delete', { deadline });
 */
export class PostHogRateLimiter implements RateGovernor {
  readonly #buckets: Record<RateBucket, SlidingWindowLimiter>;

  constructor(options: RateLimitOptions, clock: LimiterClock) {
    const instances = positive(options.instances ?? 1, 'rateLimits.instances');
    const scale = positive(options.timeScale ?? 1, 'rateLimits.timeScale');
    const margin = (options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS) / scale;
    const share = (rate: number, name: string): number =>
      Math.max(1, Math.floor(positive(rate, name) / instances));
    this.#buckets = {
      delete: new SlidingWindowLimiter(
        [
          {
            limit: share(
              options.deletePerMinute ?? POSTHOG_RATE_LIMITS.deletePerMinute,
              'rateLimits.deletePerMinute',
            ),
            windowMs: MINUTE_MS / scale + margin,
          },
          {
            limit: share(
              options.deletePerHour ?? POSTHOG_RATE_LIMITS.deletePerHour,
              'rateLimits.deletePerHour',
            ),
            windowMs: HOUR_MS / scale + margin,
          },
        ],
        clock,
      ),
      other: new SlidingWindowLimiter(
        [
          {
            limit: share(
              options.otherPerMinute ?? POSTHOG_RATE_LIMITS.otherPerMinute,
              'rateLimits.otherPerMinute',
            ),
            windowMs: MINUTE_MS / scale + margin,
          },
        ],
        clock,
      ),
    };
  }

  /** The limiter of one bucket (for inspection). */
  bucket(name: RateBucket): SlidingWindowLimiter {
    return this.#buckets[name];
  }

  /** Waits for a slot in `bucket` (see {@link SlidingWindowLimiter.acquire}); release it when answered. */
  acquire(bucket: RateBucket, options?: AcquireOptions): Promise<RatePermit> {
    return this.#buckets[bucket].acquire(options);
  }

  /** Counts a request of `bucket` granted elsewhere (see {@link SlidingWindowLimiter.record}). */
  record(bucket: RateBucket, at?: number): void {
    this.#buckets[bucket].record(at);
  }

  /** After a 429 anyway (another process on the same key), holds the whole bucket back. */
  blockUntil(bucket: RateBucket, until: number): void {
    this.#buckets[bucket].blockUntil(until);
  }
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new TypeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}
