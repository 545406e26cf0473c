import { OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import { type InboundCommand, type PropertyWrites, planBatch } from '../planner/index.ts';
import type { TombstoneStore } from './tombstones.ts';

/** Rejection code of a capture write aimed at an erased distinct id. */
export const PERSON_ERASED = OUTCOME_CODES.personErased;
/** Retry code when the tombstones could not be read: a capture write is never sent unchecked. */
export const TOMBSTONE_CHECK_FAILED = OUTCOME_CODES.tombstoneCheckFailed;

/**
 * Checks a batch before it is planned: the messages whose capture events would target an erased distinct id. Returns
 * their outcomes (the batch loop leaves them out of the plan); an empty map lets the whole batch through.
 */
export type ErasureGuard = (
  inbound: readonly InboundCommand[],
  propertyWrites: PropertyWrites,
) => Promise<Map<string, Outcome>>;

/** Options of {@link createErasureGuard}. */
export interface ErasureGuardOptions {
  readonly tombstones: TombstoneStore;
  readonly now?: () => number;
  /** Suggested delay of the retry when the store fails. @default 5 000 */
  readonly retryDelayMs?: number;
}

/**
 * Capture (`$set`/`$unset` and `$merge_dangerously` events) creates a person for an unknown distinct id, so a capture
 * write to a person that `persons.delete` erased would bring it back. This guard asks the tombstones (one
 * BatchGetItem for the batch, see `DynamoTombstoneStore`) about every distinct id a capture event of the batch
 * names, and rejects each message that would write to an erased one with {@link PERSON_ERASED} (it goes to the DLQ
 * with that reason). Writes through the Persons API are not checked: they need an existing person and fail with a
 * 404 once it is gone.
 *
 * Which messages write through capture is the planner's decision (property mode, persons named by distinct id,
 * merges), so the guard asks it: each message is planned alone (pure, no I/O) and its capture events are read.
 *
 * When the store cannot be read, every message with a capture write is retried ({@link TOMBSTONE_CHECK_FAILED}):
 * an erased person must not come back because the store was down.
 */
export function createErasureGuard(options: ErasureGuardOptions): ErasureGuard {
  const now = options.now ?? Date.now;
  return async (inbound, propertyWrites) => {
    const targets = new Map<string, string[]>(); // message id → distinct ids its capture events name
    for (const message of inbound) {
      const ids = new Set<string>();
      for (const call of planBatch([message], { propertyWrites }).calls) {
        if (call.endpoint !== 'capture_batch') continue;
        for (const event of call.events) {
          // An `$unset` sent only to a person the batch found (update_property mode) can never create one.
          if (event.event === '$set' && event.existingPerson !== undefined) continue;
          if (event.distinctId !== '') ids.add(event.distinctId);
          if (event.event === '$merge_dangerously') ids.add(event.alias);
        }
      }
      if (ids.size > 0) targets.set(message.messageId, [...ids]);
    }
    const outcomes = new Map<string, Outcome>();
    if (targets.size === 0) return outcomes;
    let erased: Set<string>;
    try {
      erased = await options.tombstones.erased([...new Set([...targets.values()].flat())], now());
    } catch (error) {
      const reason = `the erasure tombstones could not be read, so no capture write is sent: ${
        error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      }`;
      for (const id of targets.keys()) {
        outcomes.set(id, {
          status: 'retry',
          code: TOMBSTONE_CHECK_FAILED,
          reason,
          delayMs: options.retryDelayMs ?? 5_000,
        });
      }
      return outcomes;
    }
    for (const [messageId, ids] of targets) {
      const hit = ids.filter((id) => erased.has(id));
      if (hit.length === 0) continue;
      outcomes.set(messageId, {
        status: 'rejected',
        code: PERSON_ERASED,
        reason: `distinct id ${hit.map((id) => JSON.stringify(id)).join(', ')} was erased by persons.delete; a capture write would re-create the person`,
      });
    }
    return outcomes;
  };
}
