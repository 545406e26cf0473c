import type { RateBucket } from './rate-limiter.ts';

/**
 * Logical endpoint names, used in errors, logs and the metrics hook (never URLs, which carry ids).
 */
export const ENDPOINTS = {
  list: 'list',
  retrieve: 'retrieve',
  split: 'split',
  updateProperty: 'update_property',
  updateProperties: 'update_properties',
  deleteProperty: 'delete_property',
  bulkDelete: 'bulk_delete',
  batchByDistinctIds: 'batch_by_distinct_ids',
  activity: 'activity',
  cohorts: 'cohorts',
  deletionStatus: 'deletion_status',
  funnel: 'funnel',
  funnelCorrelation: 'funnel_correlation',
  capture: 'capture',
  captureBatch: 'capture_batch',
} as const;
/** One of {@link ENDPOINTS}. */
export type EndpointName = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

/**
 * How a failed attempt may be repeated.
 * - `idempotent`: a repeat cannot change the outcome (GETs; POSTs idempotent by construction:
 *   bulk_delete finds nothing the second time, batch_by_distinct_ids and funnel POST only read,
 *   update_property `$set`s the same value, capture carries an event uuid PostHog deduplicates on).
 * - `unsafe`: split and delete_property. Retried only when PostHog provably did not act: a 429
 *   (DRF throttles before the handler runs), a connection that was never made, and — once — a reset
 *   connection, which is most often a stale keep-alive socket (stripe-node's frozen-Lambda case). A
 *   repeated split is recognisable (`isAlreadyDone(err, 'split')`), which is what makes that one
 *   resend acceptable.
 */
export type RetryClass = 'idempotent' | 'unsafe';

/** How one endpoint is sent, throttled and retried. */
export interface EndpointPolicy {
  /** PostHog throttle bucket, or null for capture (not throttled by the API throttles). */
  readonly bucket: RateBucket | null;
  readonly retry: RetryClass;
  /** `personal`: `Authorization: Bearer`. `none`: capture, which carries the project token in its body. */
  readonly auth: 'personal' | 'none';
}

const read = { bucket: 'other', retry: 'idempotent', auth: 'personal' } as const;
const capture = { bucket: null, retry: 'idempotent', auth: 'none' } as const;

/**
 * The transport policy of every endpoint, as data (ky keeps its retry defaults the same way), so
 * the whole retry/throttle policy can be read in one place.
 */
export const ENDPOINT_POLICY = {
  list: read,
  retrieve: read,
  activity: read,
  cohorts: read,
  deletion_status: read,
  batch_by_distinct_ids: read, // a POST that only reads
  funnel: read, // GET or POST, both only read
  funnel_correlation: read,
  update_property: { bucket: 'other', retry: 'idempotent', auth: 'personal' }, // $set of one value
  update_properties: { bucket: 'other', retry: 'idempotent', auth: 'personal' }, // $set of the same values
  split: { bucket: 'other', retry: 'unsafe', auth: 'personal' },
  delete_property: { bucket: 'other', retry: 'unsafe', auth: 'personal' },
  bulk_delete: { bucket: 'delete', retry: 'idempotent', auth: 'personal' }, // a repeat finds nothing
  capture, // every event carries a uuid
  capture_batch: capture,
} as const satisfies Record<EndpointName, EndpointPolicy>;
