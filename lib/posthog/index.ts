/**
 * Typed PostHog Persons API client: the public surface of `lib/posthog`. Import from here only.
 *
 * @example
 * import { PostHogClient, isRetryable, isAlreadyDone } from '../posthog/index.ts';
 */

export { ILLEGAL_DISTINCT_IDS, isIllegalDistinctId } from '../messages/index.ts';
export {
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_TIMEOUT_MS,
  ENDPOINT_POLICY,
  ENDPOINTS,
  type EndpointName,
  type EndpointPolicy,
  MAX_BATCH_BY_DISTINCT_IDS,
  MAX_BULK_DELETE_IDS,
  MAX_CAPTURE_BATCH_BYTES,
  MIN_ATTEMPT_MS,
  PostHogClient,
  type RetryClass,
} from './client.ts';
export { errorFromResponse, parseErrorBody, parseRetryAfterMs } from './error-factory.ts';
export {
  type EndpointUnavailableReason,
  type ErrorEnvelope,
  PostHogAbortError,
  PostHogApiError,
  PostHogAuthError,
  PostHogConnectionError,
  PostHogDeadlineError,
  PostHogEndpointUnavailableError,
  PostHogError,
  PostHogNotFoundError,
  PostHogPermissionError,
  PostHogRateLimitError,
  PostHogServerError,
  PostHogTimeoutError,
  PostHogUsageError,
  PostHogValidationError,
  ResponseValidationError,
} from './errors.ts';
export { deriveCaptureHost, isLoopbackHost, normalizeHost } from './host.ts';
export { CAPTURE_BATCH_SERVER_MAX_BYTES, chunk } from './limits.ts';
export { paginate } from './pagination.ts';
export {
  type AcquireOptions,
  DEFAULT_SAFETY_MARGIN_MS,
  type LimiterClock,
  POSTHOG_RATE_LIMITS,
  PostHogRateLimiter,
  type RateBucket,
  type RateGovernor,
  type RatePermit,
  type RateWindow,
  SlidingWindowLimiter,
} from './rate-limiter.ts';
export { redactSecrets } from './redact.ts';
export {
  type BackoffOptions,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_CAP_MS,
  idsStillOnPerson,
  isAlreadyDone,
  isConnectionReset,
  isRetryable,
  retryDelayMs,
} from './retry-policy.ts';
export * from './schemas.ts';
export type * from './types.ts';
export { PERSON_UUIDV5_NAMESPACE, personUuidFromDistinctId, splitPersonUuid } from './uuid.ts';
