import { OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type { PlannedCall } from '../planner/index.ts';
import type { ClientRequestOptions, PostHogClientLike } from './client-port.ts';

const RANK = { applied: 0, retry: 1, rejected: 2 } as const;

/** The worse of two outcomes: rejected > retry > applied; two retries keep the longer delay. */
function worse(a: Outcome | undefined, b: Outcome): Outcome {
  if (a === undefined || RANK[b.status] > RANK[a.status]) return b;
  if (a.status === 'retry' && b.status === 'retry' && b.delayMs > a.delayMs) return b;
  return a;
}

/** Persons deleted (or queued for deletion) by the plan's bulk_delete calls, and how many such calls answered. */
export interface DeletionCounts {
  calls: number;
  persons: number;
}

/**
 * The state of one plan's execution, shared by its calls: each message's outcome so far (the worst of its calls'),
 * the person uuids stage 0 resolved, and the delete counts.
 */
export class PlanRun {
  readonly results = new Map<string, Outcome>();
  readonly deletions: DeletionCounts = { calls: 0, persons: 0 };
  /** distinct id → person uuid */
  readonly #resolved = new Map<string, string>();
  /** distinct id → why it has no uuid (a failed lookup) */
  readonly #unresolved = new Map<string, Outcome>();
  /** person uuid → a distinct id of the person, or why there is none (for `$unset` events to a person by uuid) */
  readonly #retrieved = new Map<string, string | Outcome>();

  constructor(
    readonly client: PostHogClientLike,
    readonly requestOptions: ClientRequestOptions,
    /** Epoch ms; calls not started by then end as `retry` (code `deadline`). */
    readonly deadline: number | undefined,
    readonly now: () => number,
  ) {}

  /** Records `outcome` for every message in `messageIds`, keeping each message's worst. */
  record(messageIds: readonly string[], outcome: Outcome): void {
    for (const id of messageIds) this.results.set(id, worse(this.results.get(id), outcome));
  }

  /** Records a failed call; a failed lookup also explains why its distinct ids have no uuid later. */
  fail(call: PlannedCall, outcome: Outcome): void {
    this.record(call.serves, outcome);
    // Later calls that needed these persons end the same way instead of as "person not found".
    if (call.endpoint === 'batch_by_distinct_ids') {
      for (const id of call.distinctIds) this.#unresolved.set(id, outcome);
    }
    if (call.endpoint === 'retrieve') this.#retrieved.set(call.uuid, outcome);
  }

  /** Records the distinct id a retrieved person's events go to (or why there is none). */
  retrieved(uuid: string, distinctId: string | Outcome): void {
    this.#retrieved.set(uuid, distinctId);
  }

  /** The distinct id an `existingPerson` event goes to, or why it cannot be sent (no such person, failed lookup). */
  existingDistinctId(person: { uuid: string } | { distinctId: string }): string | Outcome {
    if ('distinctId' in person) {
      const id = this.personId(person);
      return typeof id === 'string' ? person.distinctId : id;
    }
    return (
      this.#retrieved.get(person.uuid) ?? {
        status: 'rejected',
        code: OUTCOME_CODES.personNotFound,
        reason: `person ${person.uuid} was not looked up`,
      }
    );
  }

  resolve(distinctId: string, uuid: string): void {
    this.#resolved.set(distinctId, uuid);
  }

  /** The uuid to call a person by, or the outcome of a person that could not be resolved. */
  personId(person: { uuid: string } | { distinctId: string }): string | Outcome {
    if ('uuid' in person) return person.uuid;
    const uuid = this.#resolved.get(person.distinctId);
    if (uuid !== undefined) return uuid;
    return (
      this.#unresolved.get(person.distinctId) ?? {
        status: 'rejected',
        code: OUTCOME_CODES.personNotFound,
        reason: `no PostHog person has distinct id ${JSON.stringify(person.distinctId)}`,
      }
    );
  }
}
