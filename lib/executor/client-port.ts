import type { JsonValue } from '../messages/index.ts';

/** Per-call options the client takes (contract B). */
export interface ClientRequestOptions {
  deadline?: number;
  signal?: AbortSignal;
}

/** A capture event as the client sends it (contract B `CaptureEvent`). */
export interface ClientCaptureEvent {
  event: string;
  distinctId: string;
  properties?: Record<string, JsonValue>;
  timestamp?: string;
  uuid?: string;
}

/** What one bulk_delete call reports back, as far as the executor reads it (the counts feed `PersonsDeleted`). */
export interface ClientBulkDeleteResult {
  personsDeleted?: number;
  personsQueuedForDeletion?: number;
  deletionErrors: { personUuid: string }[];
}

/**
 * The part of `PostHogClient` (contract B) the executor uses. Tests and the runtime pass the real client; the
 * narrow shape keeps the executor independent of everything else the client does.
 */
export interface PostHogClientLike {
  /** Whether capture can be sent (a project token is configured); the planner then folds several unsets into one. */
  readonly hasProjectToken?: boolean;
  batchByDistinctIds(
    distinctIds: string[],
    o?: ClientRequestOptions,
  ): Promise<Record<string, { uuid: string }>>;
  bulkDelete(
    target: { ids: string[] } | { distinctIds: string[] },
    flags?: { deleteEvents?: boolean; deleteRecordings?: boolean; keepPerson?: boolean },
    o?: ClientRequestOptions,
  ): Promise<ClientBulkDeleteResult>;
  split(
    person: string,
    body?: { mainDistinctId?: string; distinctIdsToSplit?: string[] },
    o?: ClientRequestOptions,
  ): Promise<unknown>;
  updateProperty(
    person: string,
    key: string,
    value: JsonValue,
    o?: ClientRequestOptions,
  ): Promise<unknown>;
  updateProperties(
    person: string,
    properties: Record<string, JsonValue>,
    o?: ClientRequestOptions,
  ): Promise<unknown>;
  retrieve(person: string, o?: ClientRequestOptions): Promise<{ distinct_ids: string[] }>;
  deleteProperty(
    person: string,
    key: string,
    o?: ClientRequestOptions,
  ): Promise<{ success: boolean }>;
  captureBatch(events: ClientCaptureEvent[], o?: ClientRequestOptions): Promise<void>;
}
