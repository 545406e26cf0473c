/** SQS refuses a visibility timeout above 12 hours. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The production retry design: the first retry after 30 s, doubling per receive, capped at 15 minutes. The
 * functions' config defaults and the CDK stack (which sizes `maxReceiveCount` from it) both read it from here.
 */
export const DEFAULT_RETRY_POLICY = { baseDelaySeconds: 30, maxDelaySeconds: 900 } as const;

/** How long a failed message waits before SQS delivers it again. */
export interface RetryPolicy {
  /** Delay after the first failed receive; doubles with each further receive. */
  readonly baseDelaySeconds: number;
  /** Ceiling of the exponential part. A longer `Retry-After` is still honoured, up to 12 h. */
  readonly maxDelaySeconds: number;
}

/**
 * Exponential backoff by receive count, without jitter: `min(max, base × 2^(receiveCount−1))`.
 * This is also the lower bound of {@link retryDelaySeconds}, which only ever adds jitter on top.
 */
export function backoffSeconds(receiveCount: number, policy: RetryPolicy): number {
  const exponent = Math.max(0, Math.min(receiveCount - 1, 30));
  return Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** exponent);
}

/**
 * The visibility timeout to give a message that will be retried.
 *
 * - `suggestedDelayMs` (a `Retry-After`, or the executor's own suggestion) is a floor: PostHog asked us to
 *   wait at least that long.
 * - Unless `transient` is false (the message was merely not reached before the deadline, so PostHog did
 *   nothing wrong), the exponential backoff by `ApproximateReceiveCount` is a floor too, so an outage is
 *   waited out with growing gaps instead of hammering PostHog.
 * - Up to 20 % jitter is added so that messages failed together do not all come back in the same second.
 * - The result is clipped to SQS's 12 h limit.
 */
export function retryDelaySeconds(
  input: { suggestedDelayMs?: number; receiveCount: number; transient?: boolean },
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const suggested = Math.ceil(Math.max(0, input.suggestedDelayMs ?? 0) / 1000);
  const backoff = input.transient === false ? 0 : backoffSeconds(input.receiveCount, policy);
  const floor = Math.max(suggested, backoff);
  const jitter = Math.floor(floor * 0.2 * random());
  return Math.min(SQS_MAX_VISIBILITY_SECONDS, floor + jitter);
}

/**
 * The shortest time a message survives continuous transient failures before SQS's redrive policy moves
 * it to the DLQ: the sum of the (jitter-free) delays of its `maxReceiveCount` failed receives. Processing
 * time comes on top, so the real figure is longer.
 *
 * With the production defaults (base 30 s, cap 900 s, maxReceiveCount 50):
 * 30 + 60 + 120 + 240 + 480 + 45 × 900 = 41,430 s ≈ 11.5 h.
 */
export function outageToleranceSeconds(policy: RetryPolicy, maxReceiveCount: number): number {
  let total = 0;
  for (let receive = 1; receive <= maxReceiveCount; receive += 1) {
    total += backoffSeconds(receive, policy);
  }
  return total;
}
