import { createHash } from 'node:crypto';

/**
 * The shared state table: one DynamoDB table for the fleet-wide rate budget and the erasure tombstones.
 *
 * - Partition key `pk` (string), no sort key: every access is by key (GetItem, UpdateItem, BatchGetItem).
 * - `expiresAt` (number, epoch seconds) is the table's TTL attribute. "DynamoDB typically deletes expired items within
 *   two days of expiration", and "items that have expired and not been deleted will still show up in reads"
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html), so every reader checks
 *   `expiresAt` itself: an expired tombstone counts as absent. A budget item is given an expiry only once it has been
 *   idle for longer than its longest window, when a fresh (full) bucket is as safe as the old one.
 * - Items never hold a secret or a raw identifier: the budget is keyed by a hash of the personal API key, tombstones
 *   by a hash of the project id and distinct id.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
} as const;

/** Environment variable that carries the table name to the functions (set by CDK and the local runner). */
export const STATE_TABLE_ENV = 'RELAY_STATE_TABLE_NAME';

/**
 * A stable, non-reversible id of a personal API key: both lanes (two functions) holding the same key land on the
 * same budget items, and nothing in the table or its keys reveals the key.
 */
export function keyHash(personalApiKey: string): string {
  return createHash('sha256')
    .update(`persons-relay/rate-budget\u0000${personalApiKey}`)
    .digest('hex')
    .slice(0, 32);
}

/** Partition key of the tombstone of one distinct id of one project (hashed: no raw ids in the table). */
export function tombstoneItemKey(projectId: string | number, distinctId: string): string {
  const digest = createHash('sha256')
    .update(`${String(projectId)}\u0000${distinctId}`)
    .digest('hex');
  return `tomb#${String(projectId)}#${digest}`;
}
