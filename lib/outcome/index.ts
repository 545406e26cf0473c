/** The outcome of a message, its one vocabulary of codes, and the one classifier of failures. */
export {
  classify,
  credentialsRefused,
  describeError,
  isTransientRetry,
  messageOutcome,
  retryNow,
} from './classify.ts';
export {
  APPLIED,
  type FailedOutcome,
  type HttpStatusCode,
  OUTCOME_CODES,
  type Outcome,
  type OutcomeCode,
} from './codes.ts';
