/**
 * The client's retry policy, in one place: which failures are worth repeating ({@link isRetryable}), how long to
 * wait ({@link retryDelayMs}), whether the transport repeats an attempt itself ({@link decideRetry}), and which
 * failures mean the goal already holds ({@link isAlreadyDone}, {@link idsStillOnPerson}).
 */
import type { EndpointPolicy } from './endpoints.ts';
import {
  PostHogApiError,
  PostHogConnectionError,
  PostHogDeadlineError,
  PostHogEndpointUnavailableError,
  PostHogRateLimitError,
  PostHogTimeoutError,
} from './errors.ts';

/** Error codes of a connection that closed under us: typically a stale keep-alive socket. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/**
 * THE retry predicate, pure. Retryable: connection errors, timeouts, 408, 429, 5xx, and a deadline
 * that cut a retryable failure short (a later invocation may succeed). Permanent: every other 4xx
 * (400, 401, 403, 404, 413, 415…), an unavailable funnel route, a caller abort, and a response
 * that failed validation.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PostHogEndpointUnavailableError) return false;
  if (error instanceof PostHogApiError) {
    return error.status === 408 || error.status === 429 || error.status >= 500;
  }
  if (error instanceof PostHogConnectionError) return true; // includes PostHogTimeoutError
  if (error instanceof PostHogDeadlineError)
    return error.cause === undefined || isRetryable(error.cause);
  return false;
}

/** A connection closed under a request that was probably sent on a stale keep-alive socket. */
export function isConnectionReset(error: unknown): boolean {
  if (!(error instanceof PostHogConnectionError) || error instanceof PostHogTimeoutError) {
    return false;
  }
  if (error.errorCode !== undefined) return RESET_CODES.has(error.errorCode);
  // undici without a code: "other side closed", "socket hang up".
  return /other side closed|socket hang up|ECONNRESET/i.test(causeMessages(error));
}

function causeMessages(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    out.push(current.message);
    current = current.cause;
  }
  return out.join(' | ');
}

/** Backoff knobs for {@link retryDelayMs}. */
export interface BackoffOptions {
  /** First backoff ceiling in ms. @default 500 */
  baseMs?: number;
  /** Largest backoff ceiling in ms. @default 8000 */
  capMs?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

/** Default first backoff ceiling (openai-node: 0.5 s × 2ⁿ, capped at 8 s). */
export const DEFAULT_BACKOFF_BASE_MS = 500;
/** Default backoff cap. */
export const DEFAULT_BACKOFF_CAP_MS = 8_000;

/**
 * How long to wait before retrying after `error` on retry number `attempt` (0-based), or `undefined`
 * when the error is not retryable. The server's `Retry-After` wins when present; otherwise
 * exponential backoff with full jitter: `random() × min(cap, base × 2^attempt)` (AWS "full jitter").
 */
export function retryDelayMs(
  error: unknown,
  attempt: number,
  options: BackoffOptions = {},
): number | undefined {
  if (!isRetryable(error)) return undefined;
  const hinted =
    error instanceof PostHogApiError || error instanceof PostHogDeadlineError
      ? error.retryAfterMs
      : undefined;
  const causeHint =
    error instanceof PostHogDeadlineError && error.cause instanceof PostHogApiError
      ? error.cause.retryAfterMs
      : undefined;
  const hint = hinted ?? causeHint;
  if (hint !== undefined) return hint;
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = options.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * True when a failure means the operation's goal already holds, so the caller may treat it as
 * applied: a 404 on a delete (the person is already gone), or a 400 "not on this person" on a
 * split with `distinct_ids_to_split` (a repeated split whose ids already moved).
 */
export function isAlreadyDone(error: unknown, op: 'delete' | 'split'): boolean {
  if (!(error instanceof PostHogApiError) || error instanceof PostHogEndpointUnavailableError) {
    return false;
  }
  if (op === 'delete') return error.status === 404;
  return error.status === 400 && /not on this person/i.test(error.detail ?? '');
}

/**
 * For a repeated split (400 "not on this person", see {@link isAlreadyDone}): which of `ids` PostHog did NOT name as
 * off the person, so are still on it and were never split. `undefined` when `error` is not that 400. PostHog names
 * the ids as a Python list repr (`not on this person: ['a', "b'c"]`); an id whose repr escapes characters cannot
 * be matched reliably, so it counts as named (the lenient reading: already done).
 */
export function idsStillOnPerson(error: unknown, ids: readonly string[]): string[] | undefined {
  if (!isAlreadyDone(error, 'split') || !(error instanceof PostHogApiError)) return undefined;
  const detail = error.detail ?? '';
  return ids.filter((id) => !namedInDetail(detail, id));
}

function namedInDetail(detail: string, id: string): boolean {
  // Python escapes quotes, backslashes and control characters (code points below 32, and 127).
  if (/[\\'"]/.test(id) || [...id].some((ch) => ch.charCodeAt(0) < 32 || ch === '\x7f'))
    return true;
  return detail.includes(`'${id}'`);
}

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
