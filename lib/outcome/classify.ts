import {
  isRetryable,
  PostHogAbortError,
  PostHogApiError,
  PostHogConnectionError,
  PostHogDeadlineError,
  PostHogError,
  PostHogTimeoutError,
  PostHogUsageError,
  ResponseValidationError,
  retryDelayMs,
} from '../posthog/index.ts';
import { type FailedOutcome, OUTCOME_CODES, type Outcome, type OutcomeCode } from './codes.ts';

/**
 * The one place that decides, from a failure, whether a message is retried or rejected, and with which code
 * (message-queue-toolkit's `ErrorResolver`). PostHog's own retry predicate (`isRetryable`) decides for its
 * failures; everything else is decided here:
 *
 * - a 401/403 says nothing about the message (a wrong, revoked or under-scoped key): retry with `posthog_auth`;
 * - a 404 is a person not found, except for bulk_delete and capture, where it means an unknown project or route;
 * - the client refusing a call ({@link PostHogUsageError}) is permanent: `invalid_request`;
 * - a response of an unexpected shape is permanent: `unexpected_response`;
 * - anything else thrown (a `TypeError` from a bug, a `RangeError`…) is a programming error, never the message's
 *   fault: retry with `internal_error`, so a good message is not dead-lettered for it.
 *
 * `endpoint` names the failed call in the reason and decides the 404 rule.
 */
export function classify(error: unknown, endpoint?: string): FailedOutcome {
  const reason =
    endpoint === undefined
      ? describeError(error)
      : `${endpoint} failed: ${error instanceof Error ? error.message : String(error)}`;
  if (!(error instanceof PostHogError) && !(error instanceof ResponseValidationError)) {
    return classifyOwnError(error, reason);
  }
  // The caller's own abort: PostHog did nothing, and neither did the message.
  if (error instanceof PostHogAbortError) return retryNow(OUTCOME_CODES.internal, reason);
  const code = codeOf(error);
  if (isRetryable(error)) {
    return { status: 'retry', code, reason, delayMs: retryDelayMs(error, 0) ?? 0 };
  }
  if (error instanceof PostHogApiError && error.status === 404)
    return notFound(endpoint, code, reason);
  return { status: 'rejected', code, reason };
}

/**
 * Whether an outcome says nothing about the message itself: PostHog refused our credentials (401/403). The
 * executor reports what PostHog said (`rejected`, `http_403`); the batch loop retries such a message instead of
 * dead-lettering it, with backoff, until the key is fixed (the secret is re-read every `SECRET_MAX_AGE_SECONDS`).
 */
export function credentialsRefused(
  outcome: Outcome,
): outcome is Extract<Outcome, { status: 'rejected' }> {
  return (
    outcome.status === 'rejected' && (outcome.code === 'http_401' || outcome.code === 'http_403')
  );
}

/** The outcome the batch loop settles a message on: {@link credentialsRefused} ones become retries. */
export function messageOutcome(outcome: Outcome): Outcome {
  if (!credentialsRefused(outcome)) return outcome;
  return {
    status: 'retry',
    code: OUTCOME_CODES.postHogAuth,
    reason: `PostHog refused the credentials (fix the secret): ${outcome.reason}`,
    delayMs: 0,
  };
}

/**
 * Whether a retry is PostHog's (or the network's) fault, so the receive-count backoff applies. Only a message not
 * reached before the deadline is not: PostHog did nothing wrong, and it is retried at once.
 */
export function isTransientRetry(code: OutcomeCode): boolean {
  return code !== OUTCOME_CODES.deadline;
}

/** A retry with no delay of its own: the batch loop's backoff by receive count decides. */
export function retryNow(code: OutcomeCode, reason: string): FailedOutcome {
  return { status: 'retry', code, reason, delayMs: 0 };
}

function classifyOwnError(error: unknown, reason: string): FailedOutcome {
  if (error instanceof PostHogUsageError) {
    return { status: 'rejected', code: OUTCOME_CODES.invalidRequest, reason };
  }
  return retryNow(OUTCOME_CODES.internal, reason);
}

function notFound(endpoint: string | undefined, code: OutcomeCode, reason: string): FailedOutcome {
  // Not `isAlreadyDone(error, 'delete')` for bulk_delete: that 404 rule is for DELETE persons/:id. bulk_delete
  // answers 202 with persons_found 0 for persons already gone, so its 404 means an unknown project or route, and
  // counting it as done would acknowledge deletions that never happened.
  if (endpoint === 'bulk_delete' || endpoint === 'capture_batch') {
    return {
      status: 'rejected',
      code,
      reason: `${reason} (404 here means an unknown project or route, not unknown persons: check the project id and host)`,
    };
  }
  return { status: 'rejected', code: OUTCOME_CODES.personNotFound, reason };
}

function codeOf(error: PostHogError | ResponseValidationError): OutcomeCode {
  if (error instanceof PostHogDeadlineError) {
    // A deadline that cut short the retries of a real failure (a 503, a timeout) is that failure: the batch loop
    // then backs off by receive count, so an outage is waited out instead of retried once per invocation. Only a
    // deadline reached before any attempt means PostHog did nothing wrong.
    return error.cause instanceof PostHogError && !(error.cause instanceof PostHogDeadlineError)
      ? codeOf(error.cause)
      : OUTCOME_CODES.deadline;
  }
  if (error instanceof ResponseValidationError) return OUTCOME_CODES.unexpectedResponse;
  if (error instanceof PostHogApiError) {
    return error.status === 429 ? OUTCOME_CODES.throttled : `http_${error.status}`;
  }
  if (error instanceof PostHogTimeoutError) return OUTCOME_CODES.timeout;
  if (error instanceof PostHogConnectionError) return OUTCOME_CODES.connectionError;
  return OUTCOME_CODES.internal;
}

/** `Name: message` of an error, or its string form. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
