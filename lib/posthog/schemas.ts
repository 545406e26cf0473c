import * as z from 'zod';

/**
 * Zod schemas of PostHog's responses: the single source of truth for the client's result types.
 * Objects are `looseObject` so a field PostHog adds later passes through instead of failing every
 * call; the fields we rely on are checked strictly. A body that does not fit becomes a
 * `ResponseValidationError`, never a transport error.
 */

const Properties = z.record(z.string(), z.unknown());

/** `PersonSerializer`: retrieve and PATCH. `id` is the integer pk here. */
export const PersonRecordSchema = z.looseObject({
  id: z.int(),
  uuid: z.string(),
  name: z.string().nullish(),
  distinct_ids: z.array(z.string()),
  properties: Properties,
  created_at: z.string(),
  last_seen_at: z.string().nullish(),
});

/** batch_by_distinct_ids / batch_by_uuids entries: a PersonRecord with at most 10 distinct ids. */
export const MinimalPersonSchema = PersonRecordSchema;

/** `SerializedPerson` of list, funnel and correlation: here `id` is the uuid string. */
export const SerializedPersonSchema = z.looseObject({
  type: z.literal('person').optional(),
  id: z.union([z.string(), z.int()]),
  uuid: z.string(),
  name: z.string().nullish(),
  distinct_ids: z.array(z.string()),
  properties: Properties,
  is_identified: z.boolean().nullish(),
  created_at: z.string().nullish(),
  last_seen_at: z.string().nullish(),
});

const PageLinks = {
  next: z.string().nullish(),
  previous: z.string().nullish(),
};

/** GET persons/ */
export const PersonListPageSchema = z.looseObject({
  results: z.array(SerializedPersonSchema),
  ...PageLinks,
  count: z.int().optional(),
});

/** One activity-log entry (S3 asserts this exact shape). */
export const ActivityEntrySchema = z.looseObject({
  id: z.union([z.string(), z.int()]).optional(),
  user: z.looseObject({ first_name: z.string().nullish(), email: z.string().nullish() }).nullish(),
  activity: z.string(),
  scope: z.string(),
  item_id: z.string().nullish(),
  detail: z
    .looseObject({
      changes: z.array(z.record(z.string(), z.unknown())).nullish(),
      name: z.string().nullish(),
    })
    .nullish(),
  created_at: z.string(),
});

/** GET persons/activity/ and persons/:id/activity/ */
export const ActivityPageSchema = z.looseObject({
  results: z.array(ActivityEntrySchema),
  ...PageLinks,
  total_count: z.int().optional(),
});

/** `CohortMinimalSerializer`: exactly {id, name, count}. */
export const CohortMinimalSchema = z.looseObject({
  id: z.int(),
  name: z.string().nullish(),
  count: z.int().nullish(),
});

/** GET persons/cohorts/?person_id= */
export const CohortsResponseSchema = z.looseObject({ results: z.array(CohortMinimalSchema) });

/** GET persons/deletion_status/ entries. */
export const DeletionStatusEntrySchema = z.looseObject({
  person_uuid: z.string(),
  created_at: z.string().nullish(),
  status: z.enum(['pending', 'completed']),
  delete_verified_at: z.string().nullish(),
});

/** GET persons/deletion_status/ */
export const DeletionStatusPageSchema = z.looseObject({
  results: z.array(DeletionStatusEntrySchema),
  ...PageLinks,
  count: z.int().optional(),
});

/**
 * POST persons/bulk_delete/ 202. Both documented shapes: synchronous (`persons_deleted`) and queued
 * (`PERSON_BULK_DELETE_ASYNC`: `persons_deleted: 0` plus `persons_queued_for_deletion`, and
 * `deletion_errors[].step`).
 */
export const BulkDeleteResponseSchema = z.looseObject({
  persons_found: z.int().nonnegative(),
  persons_deleted: z.int().nonnegative(),
  persons_queued_for_deletion: z.int().nonnegative().optional(),
  events_queued_for_deletion: z.boolean(),
  recordings_queued_for_deletion: z.boolean(),
  deletion_errors: z
    .array(z.looseObject({ person_uuid: z.string(), step: z.string().optional() }))
    .default([]),
});

/** POST persons/batch_by_distinct_ids/ */
export const BatchByDistinctIdsResponseSchema = z.looseObject({
  results: z.record(z.string(), MinimalPersonSchema),
});

/** POST persons/:id/split/ 201: the split was queued. */
export const SplitResponseSchema = z.looseObject({ success: z.literal(true) });

/** POST persons/:id/delete_property/ 201 */
export const DeletePropertyResponseSchema = z.looseObject({
  success: z.boolean(),
  detail: z.string().optional(),
});

/** GET/POST persons/funnel/ and persons/funnel/correlation/ (legacy; removed mid-2026). */
export const FunnelActorsPageSchema = z.looseObject({
  results: z.array(
    z.looseObject({ people: z.array(SerializedPersonSchema), count: z.int().nonnegative() }),
  ),
  next: z.string().nullish(),
  initial: z.string().nullish(),
  missing_persons: z.int().nullish(),
  is_cached: z.boolean().nullish(),
  last_refresh: z.string().nullish(),
});

/**
 * Capture 200 as documented. The docs say `{"status": 1}`; the Rust enum `CaptureResponseCode::Ok = 1`
 * may serialise as `"Ok"`. Informational only: the client treats ANY capture 200 as accepted (§11),
 * because the wire form is unconfirmed and a 200 never means "ingested" anyway.
 */
export const CaptureResponseSchema = z.looseObject({
  status: z.union([z.literal(1), z.string().regex(/^ok$/i)]),
  quota_limited: z.array(z.string()).nullish(),
});
