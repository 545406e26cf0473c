/** Runs a plan through the PostHog client and maps every call's result back to each message (contract D). */
export {
  type ClientCaptureEvent,
  type ClientRequestOptions,
  DELETION_ERROR_RETRY_MS,
  type ExecuteOptions,
  executePlan,
  OUTCOME_CODES,
  type Outcome,
  outcomeOfError,
  type PostHogClientLike,
} from './execute.ts';
