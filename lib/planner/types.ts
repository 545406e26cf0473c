import type { Command, JsonValue, PersonRef } from '../messages/index.ts';
import { MAX_BATCH_BY_DISTINCT_IDS, MAX_BULK_DELETE_IDS } from '../posthog/index.ts';

/** One valid command of an SQS batch, with the SQS message id its outcome is reported under. */
export interface InboundCommand {
  messageId: string;
  command: Command;
}

/**
 * How property writes reach PostHog.
 * - `update_property` (default): the Persons API on the 240/min budget; needs only the personal API key. A person's
 *   single set key is one `update_property`, several are one PATCH `persons/:id/` (one `$set`); a single unset key
 *   is one `delete_property`, several are one `$unset` capture event to the person, sent only once stage 0 found
 *   that person (see {@link PlanOptions.captureUnsets}). So every message is at most a few calls, however many keys.
 * - `capture`: `$set`/`$unset` events on `/batch/`, one call for many persons and not rate limited; needs the
 *   project token and a distinct id, so persons named by uuid still go through `update_property`.
 */
export type PropertyWrites = 'update_property' | 'capture';

/** Options of {@link planBatch}. */
export interface PlanOptions {
  /** @default 'update_property' (works with a personal API key alone) */
  propertyWrites?: PropertyWrites;
  /**
   * `update_property` mode: whether several unset keys of one person go out as one `$unset` capture event (needs the
   * project token) instead of one `delete_property` call each. Without it a message unsetting k keys costs k calls
   * of the 240/min budget, which at the deployed per-instance share (30/min) cannot finish in one invocation for k
   * above ~25. @default false
   */
  captureUnsets?: boolean;
}

/** The three bulk_delete flags; one call carries one combination. */
export interface DeleteFlags {
  deleteEvents: boolean;
  deleteRecordings: boolean;
  keepPerson: boolean;
}

/** Fields every planned call has. */
export interface PlannedCallBase {
  /** Message ids whose outcome depends on this call. */
  serves: string[];
  /**
   * Execution stage. Stages run in increasing order; calls within one stage are independent and may run
   * concurrently, except `capture_batch` calls, which run one after another in plan order. Stage 0 holds
   * resolutions and deletes. Later stages hold either Persons API calls (splits, property writes) or capture
   * calls, never both: each person's operations keep their message order, and capture events wait for no API call
   * they do not have to, so the capture stages are as few as per-person order allows.
   */
  stage: number;
}

/** POST `persons/batch_by_distinct_ids/` (at most 200 ids): find the person ids later calls need. */
export interface ResolveCall extends PlannedCallBase {
  endpoint: 'batch_by_distinct_ids';
  distinctIds: string[];
}

/** POST `persons/bulk_delete/`: at most 1000 ids or 1000 distinct ids, never both. */
export interface BulkDeleteCall extends PlannedCallBase {
  endpoint: 'bulk_delete';
  target: { ids: string[] } | { distinctIds: string[] };
  flags: DeleteFlags;
  /** For each id in the target, the messages that asked for it (for partial failures). */
  owners: Record<string, string[]>;
}

/** POST `persons/:id/split/`. */
export interface SplitCall extends PlannedCallBase {
  endpoint: 'split';
  /** By uuid, or by distinct id resolved through a {@link ResolveCall} of stage 0. */
  person: PersonRef;
  body: { mainDistinctId: string } | { distinctIdsToSplit: string[] };
}

/** POST `persons/:id/update_property/` (one key). */
export interface UpdatePropertyCall extends PlannedCallBase {
  endpoint: 'update_property';
  person: PersonRef;
  key: string;
  value: JsonValue;
}

/** PATCH `persons/:id/` `{"properties"}`: several keys of one person as one `$set`. */
export interface UpdatePropertiesCall extends PlannedCallBase {
  endpoint: 'update_properties';
  person: PersonRef;
  properties: Record<string, JsonValue>;
  /**
   * The per-key calls the same writes would be one by one. PostHog refuses the whole PATCH (400) when one key is not
   * writable; the executor then runs these, so only the messages writing that key are rejected.
   */
  perKey: UpdatePropertyCall[];
}

/** GET `persons/:id/` by uuid: a distinct id of the person, for the `$unset` event that names it. */
export interface RetrieveCall extends PlannedCallBase {
  endpoint: 'retrieve';
  uuid: string;
}

/** POST `persons/:id/delete_property/` (one key). */
export interface DeletePropertyCall extends PlannedCallBase {
  endpoint: 'delete_property';
  person: PersonRef;
  key: string;
}

/** One event of a planned capture batch. */
export type PlannedCaptureEvent =
  | {
      event: '$set';
      distinctId: string;
      set: Record<string, JsonValue>;
      unset: string[];
      /** The latest `time` among the writes it carries. */
      timestamp: string;
      /** Deterministic (uuid v5 of the person, round and command ids): a redelivered batch resends the same event. */
      uuid: string;
      /**
       * Set on the `$unset` events of `update_property` mode: the event goes to a person stage 0 found (a distinct id
       * resolved by batch_by_distinct_ids, or a uuid retrieved), so it never creates one. When there is none, the
       * executor drops the event and reports `serves` as `person_not_found`, as update_property would have. For a
       * uuid, `distinctId` is empty in the plan and the executor fills in the retrieved person's first distinct id.
       */
      existingPerson?: { person: PersonRef; serves: string[] };
    }
  | {
      event: '$merge_dangerously';
      /** The survivor. */
      distinctId: string;
      /** The merged-away distinct id (`properties.alias`). */
      alias: string;
      timestamp: string;
      /** Deterministic (uuid v5 of survivor, alias and command id). */
      uuid: string;
    };

/** POST capture `/batch/` with the project token (not rate limited; at most {@link CAPTURE_BATCH_MAX_EVENTS}). */
export interface CaptureBatchCall extends PlannedCallBase {
  endpoint: 'capture_batch';
  events: PlannedCaptureEvent[];
}

/** A PostHog call of a plan, discriminated on `endpoint`. */
export type PlannedCall =
  | ResolveCall
  | BulkDeleteCall
  | SplitCall
  | UpdatePropertyCall
  | UpdatePropertiesCall
  | RetrieveCall
  | DeletePropertyCall
  | CaptureBatchCall;

/** Why a message needs no call of its own. */
export interface SkippedMessage {
  messageId: string;
  code: 'person_deleted_in_batch';
  reason: string;
  /**
   * The delete messages that make this one moot. The executor reports the skipped message `applied` when all of
   * them are applied, and `retry` otherwise (so the change is redelivered and applied if the delete did not happen).
   */
  dependsOn: string[];
}

/** The calls for one batch, and how they compare with the best and the naive plan. */
export interface Plan {
  calls: PlannedCall[];
  skipped: SkippedMessage[];
  /** The minimum number of calls any correct plan needs for this batch (see docs/messages.md, "Planner"). */
  lowerBound: number;
  /** `calls.length`. */
  callCount: number;
  /** Σ over messages of the calls each would need planned alone (`planBatch([m]).callCount`). */
  naiveCallCount: number;
}

/** PostHog limits the planner respects (lib/posthog/limits.ts, shared with the client's chunking). */
export const SERVER_LIMITS = {
  bulkDeleteMaxIds: MAX_BULK_DELETE_IDS,
  batchByDistinctIdsMax: MAX_BATCH_BY_DISTINCT_IDS,
} as const;

/**
 * Events per capture batch. Capture accepts 20 MB per `/batch/`; messages are at most 256 KiB, and 1000 events keeps
 * a request well under the limit in practice while still folding a whole Lambda batch into one call.
 */
export const CAPTURE_BATCH_MAX_EVENTS = 1000;
