import { setMaxListeners } from 'node:events';
import {
  type AcquireOptions,
  DEFAULT_SAFETY_MARGIN_MS,
  type LimiterClock,
  POSTHOG_RATE_LIMITS,
  PostHogAbortError,
  PostHogDeadlineError,
  PostHogRateLimiter,
  type RateBucket,
  type RateGovernor,
  type RateLimitOptions,
  type RatePermit,
} from '../posthog/index.ts';
import { type BudgetStore, budgetItemKey, type StoredBucket } from './store.ts';
import {
  type BucketSpec,
  checkSpec,
  defaultCapacity,
  idleAfter,
  idleState,
  type Reservation,
  reserve,
} from './token-bucket.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Why an acquisition was served from the per-instance share instead of the shared budget. */
export interface FallbackEvent {
  readonly bucket: RateBucket;
  /** `store_error` (the store answered with an error), `store_timeout` (no answer in time), `degraded` (still in the hold). */
  readonly reason: 'store_error' | 'store_timeout' | 'degraded';
  readonly error?: unknown;
}

/** Options of {@link SharedRateLimiter}. */
export interface SharedRateLimiterOptions {
  /** Where the fleet's buckets live. */
  readonly store: BudgetStore;
  /** `keyHash(personalApiKey)` (lib/store): one budget per key, shared by both lanes. */
  readonly keyHash: string;
  /**
   * The same limits as the in-process limiter (`POSTHOG_RATE_*`), including `instances` (used only by the fallback)
   * and `timeScale` (windows shrink by it, as against the time-scaled emulator).
   */
  readonly rateLimits?: RateLimitOptions;
  /**
   * Bucket capacity (burst) per minute window. @default about 2 % of the limit, 1 to 8 ({@link defaultCapacity}). The
   * delete hour is a counted window (bins of a minute) and has no capacity.
   */
  readonly capacity?: Partial<
    Record<'deletePerMinute' | 'deletePerHour' | 'otherPerMinute', number>
  >;
  /** A store round trip that takes longer is abandoned and the acquisition falls back. Real time. @default 250 */
  readonly storeTimeoutMs?: number;
  /**
   * After a store failure, acquisitions use the per-instance share for this long (PostHog time: divided by the time
   * scale, like the windows) before trying the store again. @default 10 000
   */
  readonly fallbackHoldMs?: number;
  /** Lost conditional writes in a row before each retry waits 1–10 ms (random) first. @default 3 */
  readonly maxConflicts?: number;
  /** Called once per acquisition served by the fallback (the first of a failure carries the error). */
  readonly onFallback?: (event: FallbackEvent) => void;
}

/** Counters, for tests and the benchmark. */
export interface SharedLimiterStats {
  /** Calls to the store (reads and conditional writes). */
  storeCalls: number;
  /** Round trips for reservations (each serves every acquisition waiting at its start). */
  roundTrips: number;
  /** Slots granted from the shared budget. */
  granted: number;
  /** Lost conditional writes (another instance wrote first). */
  conflicts: number;
  /** Acquisitions served by the per-instance fallback. */
  fallbacks: number;
}

type RoundResult =
  | { readonly kind: 'slot'; readonly at: number }
  | { readonly kind: 'late'; readonly at: number }
  | { readonly kind: 'fallback' };

interface Waiter {
  /** The latest slot the caller can use (its deadline), or Infinity. */
  readonly latest: number;
  readonly resolve: (result: RoundResult) => void;
}

interface BucketRuntime {
  readonly name: RateBucket;
  readonly key: string;
  readonly specs: readonly BucketSpec[];
  cached: StoredBucket | undefined;
  /** Acquisitions waiting for the next round trip. */
  pending: Waiter[];
  running: boolean;
  blockedUntil: number;
  fallbackUntil: number;
}

/** The store failed or did not answer in time. */
class StoreUnavailable extends Error {
  public readonly reason: 'store_error' | 'store_timeout';
  public constructor(reason: 'store_error' | 'store_timeout', cause: unknown) {
    super(`shared rate budget store unavailable (${reason})`, { cause });
    this.name = 'StoreUnavailable';
    this.reason = reason;
  }
}

const NOOP_PERMIT: RatePermit = { release() {} };
/** Abort reason: the fallback hold is over, back to the shared budget. */
const HOLD_OVER = Symbol('fallback hold over');

/**
 * The fleet-wide PostHog budget: one token bucket (GCRA form) per personal API key and PostHog bucket in a shared
 * store (DynamoDB), reserved with conditional writes, so every instance of both lanes spends one budget per key: all
 * of it when alone, a share of it when many run, and never more than PostHog's limits in any sliding window (proof in
 * token-bucket.ts), even across recycled instances (the state outlives them).
 *
 * - One round trip per slot, no polling: an acquisition reserves the next free slot (read or cached state, then a
 *   conditional UpdateItem; a lost race re-reads and retries) and sleeps until it. The in-process part is the fast
 *   path: while this instance is the only writer its cached state is current, so a reservation is one write.
 * - Coalescing: the acquisitions of one instance that arrive while a round trip is running wait for the next one,
 *   which reserves a slot for each of them in one conditional write (a lease of several slots).
 * - Fail safe: a store that errors or takes longer than `storeTimeoutMs` (real time) sends the acquisition to the
 *   in-process {@link PostHogRateLimiter} holding `budget / instances`, today's behaviour, for `fallbackHoldMs`;
 *   each such acquisition is reported through `onFallback`. 429s keep being honoured in both modes
 *   ({@link blockUntil} holds this instance back, tells the fallback and records the block in the store for all).
 *
 * @example
 * const limiter = new SharedRateLimiter({ store, keyHash: keyHash(apiKey), rateLimits }, { now: Date.now, sleep });
 * const client = new PostHogClient({ ..., rateLimiter: limiter });
 */
export class SharedRateLimiter implements RateGovernor {
  readonly #store: BudgetStore;
  readonly #clock: LimiterClock;
  readonly #fallback: PostHogRateLimiter;
  readonly #buckets: Record<RateBucket, BucketRuntime>;
  readonly #storeTimeoutMs: number;
  readonly #fallbackHoldMs: number;
  readonly #maxConflicts: number;
  readonly #onFallback: ((event: FallbackEvent) => void) | undefined;
  readonly #stats: SharedLimiterStats = {
    storeCalls: 0,
    roundTrips: 0,
    granted: 0,
    conflicts: 0,
    fallbacks: 0,
  };

  public constructor(options: SharedRateLimiterOptions, clock: LimiterClock) {
    const limits = options.rateLimits ?? {};
    const scale = limits.timeScale ?? 1;
    if (!(Number.isFinite(scale) && scale > 0)) {
      throw new TypeError(`rateLimits.timeScale must be positive, got ${scale}`);
    }
    const margin = (limits.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS) / scale;
    const spec = (
      limit: number,
      windowMs: number,
      capacity: number | undefined,
      binMs?: number,
    ): BucketSpec =>
      checkSpec({
        limit,
        windowMs: windowMs / scale + margin,
        capacity: capacity ?? defaultCapacity(limit),
        ...(binMs === undefined ? {} : { binMs: binMs / scale }),
      });
    const deleteSpecs = [
      spec(
        limits.deletePerMinute ?? POSTHOG_RATE_LIMITS.deletePerMinute,
        MINUTE_MS,
        options.capacity?.deletePerMinute,
      ),
      // Counted by the minute (token-bucket.ts, "Long windows"): a fresh hour allows the 480/min burst.
      spec(
        limits.deletePerHour ?? POSTHOG_RATE_LIMITS.deletePerHour,
        HOUR_MS,
        undefined,
        MINUTE_MS,
      ),
    ];
    const otherSpecs = [
      spec(
        limits.otherPerMinute ?? POSTHOG_RATE_LIMITS.otherPerMinute,
        MINUTE_MS,
        options.capacity?.otherPerMinute,
      ),
    ];
    const runtime = (name: RateBucket, specs: BucketSpec[]): BucketRuntime => ({
      name,
      key: budgetItemKey(options.keyHash, name),
      specs,
      cached: undefined,
      pending: [],
      running: false,
      blockedUntil: 0,
      fallbackUntil: 0,
    });
    this.#buckets = { delete: runtime('delete', deleteSpecs), other: runtime('other', otherSpecs) };
    this.#store = options.store;
    this.#clock = clock;
    this.#fallback = new PostHogRateLimiter(limits, clock);
    this.#storeTimeoutMs = options.storeTimeoutMs ?? 250;
    this.#fallbackHoldMs = (options.fallbackHoldMs ?? 10_000) / scale;
    this.#maxConflicts = options.maxConflicts ?? 3;
    this.#onFallback = options.onFallback;
  }

  /** The buckets' specs (windows include the margin and the time scale). */
  public specs(bucket: RateBucket): readonly BucketSpec[] {
    return this.#buckets[bucket].specs;
  }

  /** The store key of a bucket (`budget#<key hash>#<bucket>`). */
  public storeKey(bucket: RateBucket): string {
    return this.#buckets[bucket].key;
  }

  /** Counters since construction. */
  public get stats(): Readonly<SharedLimiterStats> {
    return { ...this.#stats };
  }

  /**
   * Waits for a token of `bucket` in the shared budget (or, when the store fails, a slot of the per-instance share).
   * Throws `PostHogDeadlineError` at once when the wait is known to end past `deadline`, `PostHogAbortError` when
   * `signal` fires.
   */
  public async acquire(bucket: RateBucket, options: AcquireOptions = {}): Promise<RatePermit> {
    const b = this.#buckets[bucket];
    if (options.signal?.aborted) {
      throw new PostHogAbortError('Aborted while waiting for the rate budget', {
        cause: options.signal.reason,
      });
    }
    if (this.#clock.now() < b.fallbackUntil) {
      return this.#fromFallback(b, options);
    }
    const result = await this.#join(b, options.deadline ?? Number.POSITIVE_INFINITY);
    if (result.kind === 'fallback') return this.#fromFallback(b, options);
    if (result.kind === 'late') this.#refuse(result.at, options);
    // The slot is ours: the fallback learns about it, then we wait for it.
    this.#fallback.record(bucket, result.at);
    await this.#waitUntil(result.at, options);
    return NOOP_PERMIT;
  }

  /** After a 429: this instance, its fallback and (best effort) every other instance hold `bucket` back until `until`. */
  public blockUntil(bucket: RateBucket, until: number): void {
    const b = this.#buckets[bucket];
    b.blockedUntil = Math.max(b.blockedUntil, until);
    this.#fallback.blockUntil(bucket, until);
    b.cached = undefined;
    const expiresAt = Math.ceil((until + Math.max(...b.specs.map((s) => s.windowMs))) / 1000);
    this.#store
      .block(b.key, until, expiresAt, AbortSignal.timeout(this.#storeTimeoutMs))
      .catch(() => {
        // Best effort: the local block holds this instance back, and other instances get their own 429s.
      });
  }

  #join(b: BucketRuntime, latest: number): Promise<RoundResult> {
    return new Promise<RoundResult>((resolve) => {
      b.pending.push({ latest, resolve });
      if (!b.running) void this.#run(b);
    });
  }

  /** Serves the pending acquisitions: one reservation round trip for all that wait at its start. */
  async #run(b: BucketRuntime): Promise<void> {
    b.running = true;
    try {
      while (b.pending.length > 0) {
        const waiting = b.pending.splice(0);
        if (this.#clock.now() < b.fallbackUntil) {
          // The round trip before failed: these go to the fallback without trying the store again.
          for (const w of waiting) w.resolve({ kind: 'fallback' });
          continue;
        }
        let reservation: Reservation;
        try {
          reservation = await this.#reserveInStore(
            b,
            waiting.map((w) => w.latest),
          );
        } catch (error) {
          b.fallbackUntil = this.#clock.now() + this.#fallbackHoldMs;
          b.cached = undefined;
          const reason = error instanceof StoreUnavailable ? error.reason : 'store_error';
          this.#report({
            bucket: b.name,
            reason,
            error: error instanceof StoreUnavailable ? error.cause : error,
          });
          for (const w of waiting) w.resolve({ kind: 'fallback' });
          continue;
        }
        waiting.forEach((w, i) => {
          const grant = reservation.grants[i];
          if (grant !== undefined && 'slot' in grant) w.resolve({ kind: 'slot', at: grant.slot });
          else w.resolve({ kind: 'late', at: grant?.refusedAt ?? Number.POSITIVE_INFINITY });
        });
      }
    } finally {
      b.running = false;
    }
  }

  /**
   * One round trip: read (or use the cached state), reserve a slot per waiter, write conditionally; on a lost race,
   * read again and retry. The whole round trip has `storeTimeoutMs` (real time).
   */
  async #reserveInStore(b: BucketRuntime, latest: readonly number[]): Promise<Reservation> {
    this.#stats.roundTrips += 1;
    const signal = AbortSignal.timeout(this.#storeTimeoutMs);
    // Every store call of the round trip listens to it (lost races add calls); not a leak.
    setMaxListeners(64, signal);
    const call = async <T>(op: () => Promise<T>): Promise<T> => {
      this.#stats.storeCalls += 1;
      try {
        return await op();
      } catch (error) {
        throw new StoreUnavailable(signal.aborted ? 'store_timeout' : 'store_error', error);
      }
    };
    let current = b.cached ?? (await call(() => this.#store.read(b.key, signal)));
    for (let attempt = 0; ; attempt++) {
      const now = this.#clock.now();
      const state =
        current === undefined || current.state.tat.length !== b.specs.length
          ? { ...idleState(b.specs), blockedUntil: current?.state.blockedUntil ?? 0 }
          : current.state;
      const reservation = reserve(b.specs, state, latest, now, b.blockedUntil);
      if (reservation.granted === 0) return reservation;
      const expected = current?.version;
      const written = await call(() =>
        this.#store.write(
          b.key,
          reservation.next,
          expected,
          Math.ceil(idleAfter(b.specs, reservation.next) / 1000) + 1,
          signal,
        ),
      );
      if (written !== undefined) {
        b.cached = written;
        this.#stats.granted += reservation.granted;
        return reservation;
      }
      this.#stats.conflicts += 1;
      b.cached = undefined;
      if (attempt + 1 >= this.#maxConflicts) {
        // Writers in lockstep: a short random pause breaks the tie. A conflict proves the store works, so this is
        // never a reason to fall back; only the round trip's timeout is.
        await this.#clock.sleep(1 + Math.floor(Math.random() * 10), signal).catch(() => {
          throw new StoreUnavailable('store_timeout', signal.reason);
        });
      }
      current = await call(() => this.#store.read(b.key, signal));
    }
  }

  /**
   * Serves an acquisition from the per-instance share. A wait there that would outlast the fallback hold is cut at
   * the hold's end, and the acquisition goes back to the shared budget.
   */
  async #fromFallback(b: BucketRuntime, options: AcquireOptions): Promise<RatePermit> {
    this.#report({ bucket: b.name, reason: 'degraded' });
    const holdOver = new AbortController();
    const timer = new AbortController();
    const onCallerAbort = (): void => holdOver.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    this.#clock
      .sleep(Math.max(1, b.fallbackUntil - this.#clock.now()), timer.signal)
      .then(() => holdOver.abort(HOLD_OVER))
      .catch(() => {
        // The acquisition ended first.
      });
    try {
      return await this.#fallback.acquire(b.name, { ...options, signal: holdOver.signal });
    } catch (error) {
      if (holdOver.signal.reason === HOLD_OVER && !options.signal?.aborted) {
        return this.acquire(b.name, options);
      }
      throw error;
    } finally {
      timer.abort();
      options.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  #report(event: FallbackEvent): void {
    if (event.reason === 'degraded') this.#stats.fallbacks += 1;
    try {
      this.#onFallback?.(event);
    } catch {
      // A metrics hook must never fail an acquisition.
    }
  }

  /** Throws the deadline error of a slot past the caller's deadline. */
  #refuse(at: number, options: AcquireOptions): never {
    const now = this.#clock.now();
    const left = Math.max(0, (options.deadline ?? now) - now);
    throw new PostHogDeadlineError(
      `the shared rate budget leaves no slot before the deadline (next in ${at - now} ms, ${left} ms left)`,
      { remainingMs: left, retryAfterMs: Math.max(0, at - now) },
    );
  }

  /** Sleeps until the reserved slot. */
  async #waitUntil(at: number, options: AcquireOptions): Promise<void> {
    const wait = at - this.#clock.now();
    if (wait <= 0) return;
    try {
      await this.#clock.sleep(wait, options.signal);
    } catch (error) {
      throw new PostHogAbortError('Aborted while waiting for the rate budget', { cause: error });
    }
  }
}
