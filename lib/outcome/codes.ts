import type { MessageRejectionCode } from '../messages/index.ts';

/**
 * Every code a message's outcome can carry: what the DLQ's `error_code` attribute, the audit log's `code` and the
 * `MessagesRejected{reason}` metric show (docs/operations.md lists them with what to do).
 */
export const OUTCOME_CODES = {
  /** PostHog answered 429 (after the client's own retries). */
  throttled: 'throttled',
  /** An attempt ran past its timeout. */
  timeout: 'timeout',
  /** No HTTP response: DNS, refused or reset connection, TLS. */
  connectionError: 'connection_error',
  /** PostHog refused the credentials (401/403): retried until the secret is fixed, never dead-lettered. */
  postHogAuth: 'posthog_auth',
  /** No PostHog person has the id the command names. */
  personNotFound: 'person_not_found',
  /** bulk_delete reported some persons as not deleted (`deletion_errors`). */
  deletionErrors: 'deletion_errors',
  /** delete_property answered `success: false`. */
  propertyNotDeleted: 'delete_property_failed',
  /** A change skipped because its person is deleted in the batch, and that delete did not complete. */
  dependsOnDelete: 'depends_on_delete',
  /** Not started before the invocation deadline: PostHog did nothing wrong, so no backoff. */
  deadline: 'deadline',
  /** The client refused the call before sending it (a missing project token, an argument PostHog would refuse). */
  invalidRequest: 'invalid_request',
  /** PostHog answered 2xx with a body of an unexpected shape: a retry would get the same body. */
  unexpectedResponse: 'unexpected_response',
  /** A bug, or the secret could not be read: retried, never dead-lettered. */
  internal: 'internal_error',
  /** An earlier message of the same FIFO group failed in this batch; order is kept by failing this one too. */
  groupBlocked: 'fifo_group_blocked',
  /** A permanent rejection that could not be written to the DLQ: never dropped, SQS redelivers it. */
  dlqSendFailed: 'dlq_send_failed',
  /** Failed on its own at its last delivery (receive count = the queue's maxReceiveCount). */
  retriesExhausted: 'retries_exhausted',
  /** A valid command sent to the other lane's queue. */
  wrongLane: 'wrong_lane',
  /** A capture write or merge aimed at a distinct id persons.delete erased (lib/store/erasure-guard.ts). */
  personErased: 'person_erased',
  /** The erasure tombstones could not be read, so no capture write was sent: retried. */
  tombstoneCheckFailed: 'tombstone_check_failed',
} as const;

/** Any other HTTP status PostHog answered with, e.g. `http_400`, `http_503`. */
export type HttpStatusCode = `http_${number}`;

/** The one vocabulary of outcome codes: ours, PostHog's statuses, and the message parser's rejections. */
export type OutcomeCode =
  | (typeof OUTCOME_CODES)[keyof typeof OUTCOME_CODES]
  | HttpStatusCode
  | MessageRejectionCode;

/** What happens to one message: done, try again later (with a suggested delay), or never (with a reason). */
export type Outcome =
  | { status: 'applied' }
  | { status: 'retry'; delayMs: number; reason: string; code: OutcomeCode }
  | { status: 'rejected'; code: OutcomeCode; reason: string };

/** An outcome other than `applied`: what a failure leads to. */
export type FailedOutcome = Exclude<Outcome, { status: 'applied' }>;

/** The outcome of a message whose calls all succeeded. */
export const APPLIED: Outcome = { status: 'applied' };
