/** The shared state table (DynamoDB): the fleet-wide rate budget's store and the erasure tombstones. */
export { DynamoBudgetStore } from './budget-store.ts';
export {
  createErasureGuard,
  type ErasureGuard,
  type ErasureGuardOptions,
  PERSON_ERASED,
  TOMBSTONE_CHECK_FAILED,
} from './erasure-guard.ts';
export {
  keyHash,
  STATE_TABLE_ENV,
  TABLE_KEYS,
  tombstoneItemKey,
} from './table.ts';
export {
  DEFAULT_TOMBSTONE_TTL_DAYS,
  DynamoTombstoneStore,
  type DynamoTombstoneStoreOptions,
  type TombstoneStore,
} from './tombstones.ts';
