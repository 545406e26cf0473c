import type { ScaledClock } from './clock.ts';

/** The two throttle families of the persons viewset for personal-key callers (§1.5). */
export const RATE_CLASSES = { delete: 'delete', other: 'other' } as const;
/** A rate class. */
export type RateClass = (typeof RATE_CLASSES)[keyof typeof RATE_CLASSES];

/** Limits per rate class, in requests per window. */
export interface RateLimitConfig {
  deletePerMinute: number;
  deletePerHour: number;
  otherPerMinute: number;
  enabled: boolean;
}

/** A refused request: the wait in emulated ms (DRF `Throttled.wait` before rounding). */
export interface ThrottleDecision {
  allowed: boolean;
  /** Largest wait among the refusing throttles, emulated ms. 0 when allowed. */
  waitMs: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * DRF `SimpleRateThrottle`, one instance per (throttle scope, bucket key): a sliding log of request times. Like
 * DRF, every throttle of a request is checked and the ones that allow it record it, even when another refuses.
 */
class SlidingLog {
  readonly #history: number[] = [];

  public constructor(
    private readonly limit: number,
    private readonly durationMs: number,
  ) {}

  /** Records and returns 0 when allowed; otherwise returns the DRF wait in ms without recording. */
  public attempt(now: number): number {
    while (this.#history.length > 0 && (this.#history[0] ?? 0) <= now - this.durationMs) {
      this.#history.shift();
    }
    if (this.#history.length >= this.limit) {
      const oldest = this.#history[0] ?? now;
      const remaining = this.durationMs - (now - oldest);
      const available = this.limit - this.#history.length + 1;
      return available > 0 ? remaining / available : remaining;
    }
    this.#history.push(now);
    return 0;
  }
}

/** All throttles of one emulator, keyed by bucket (personal key hash or team). */
export class RateLimiter {
  readonly #logs = new Map<string, SlidingLog>();

  public constructor(
    private config: RateLimitConfig,
    private readonly clock: ScaledClock,
  ) {}

  /** Forget every recorded request (tests that want a fresh minute). */
  public reset(): void {
    this.#logs.clear();
  }

  /** Replace the limits (and forget history). */
  public configure(config: RateLimitConfig): void {
    this.config = config;
    this.reset();
  }

  /** Check and record one request of `rateClass` for `bucket`. */
  public check(bucket: string, rateClass: RateClass): ThrottleDecision {
    if (!this.config.enabled) return { allowed: true, waitMs: 0 };
    const now = this.clock.now();
    const throttles: [string, number, number][] =
      rateClass === 'delete'
        ? [
            ['persons_delete_burst', this.config.deletePerMinute, MINUTE],
            ['persons_delete_sustained', this.config.deletePerHour, HOUR],
          ]
        : [['clickhouse_burst', this.config.otherPerMinute, MINUTE]];
    let waitMs = 0;
    let allowed = true;
    for (const [scope, limit, duration] of throttles) {
      const key = `${scope}:${bucket}`;
      let log = this.#logs.get(key);
      if (!log) {
        log = new SlidingLog(limit, duration);
        this.#logs.set(key, log);
      }
      const wait = log.attempt(now);
      if (wait > 0) {
        allowed = false;
        waitMs = Math.max(waitMs, wait);
      }
    }
    return { allowed, waitMs };
  }
}
