import type { EndpointPolicy } from './endpoints.ts';
import {
  type BackoffOptions,
  isConnectionReset,
  isRetryable,
  PostHogApiError,
  PostHogConnectionError,
  PostHogRateLimitError,
  retryDelayMs,
} from './errors.ts';

/** What the transport does after a failed attempt. */
export type RetryDecision =
  | { readonly retry: false; readonly retryAfterTooLong?: true }
  | {
      readonly retry: true;
      readonly delayMs: number;
      /** The one immediate resend of a reset connection: it does not count against `maxRetries`. */
      readonly reset: boolean;
    };

/** The state and knobs {@link decideRetry} reads. */
export interface RetryContext {
  readonly policy: EndpointPolicy;
  /** Retries made so far (0 after the first attempt). */
  readonly attempt: number;
  /** Whether the one free resend of a reset connection was already used. */
  readonly resetRetried: boolean;
  readonly maxRetries: number;
  readonly maxRetryAfterMs: number;
  readonly backoff: BackoffOptions;
}

/** The transport's retry policy, in one place: whether and when to repeat a failed attempt. */
export function decideRetry(error: unknown, context: RetryContext): RetryDecision {
  const { policy, attempt, resetRetried } = context;
  if (!isRetryable(error)) return { retry: false };
  const withinBudget = attempt < context.maxRetries;
  // stripe-node: a connection closed under us usually means a stale keep-alive socket held across
  // a frozen Lambda; resend once, immediately, even with retries exhausted or for an unsafe POST
  // (whose repeat is recognisable, see RetryClass). Not guaranteed to be a no-op, hence only once.
  if (isConnectionReset(error) && !resetRetried && (policy.retry === 'unsafe' || !withinBudget)) {
    return { retry: true, delayMs: 0, reset: true };
  }
  if (!withinBudget) return { retry: false };
  const safe =
    policy.retry === 'idempotent' ||
    error instanceof PostHogRateLimitError || // throttled before the handler ran
    (error instanceof PostHogConnectionError && error.notSent);
  if (!safe) return { retry: false };
  if (error instanceof PostHogApiError && error.retryAfterMs !== undefined) {
    // Sleeping less than asked only earns another 429: hand the wait to the caller instead.
    if (error.retryAfterMs > context.maxRetryAfterMs)
      return { retry: false, retryAfterTooLong: true };
    return { retry: true, delayMs: error.retryAfterMs, reset: false };
  }
  return { retry: true, delayMs: retryDelayMs(error, attempt, context.backoff) ?? 0, reset: false };
}
