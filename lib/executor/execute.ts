import type { JsonValue } from '../messages/index.ts';
import { APPLIED, classify, OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type { Plan, PlannedCall, PlannedCaptureEvent, SplitCall } from '../planner/index.ts';
import { idsStillOnPerson } from '../posthog/index.ts';

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

/**
 * The part of `PostHogClient` (contract B) the executor uses. Tests and the runtime pass the real client; the
 * narrow shape keeps the executor independent of everything else the client does.
 */
export interface PostHogClientLike {
  batchByDistinctIds(
    distinctIds: string[],
    o?: ClientRequestOptions,
  ): Promise<Record<string, { uuid: string }>>;
  bulkDelete(
    target: { ids: string[] } | { distinctIds: string[] },
    flags?: { deleteEvents?: boolean; deleteRecordings?: boolean; keepPerson?: boolean },
    o?: ClientRequestOptions,
  ): Promise<{ deletionErrors: { personUuid: string }[] }>;
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
  deleteProperty(
    person: string,
    key: string,
    o?: ClientRequestOptions,
  ): Promise<{ success: boolean }>;
  captureBatch(events: ClientCaptureEvent[], o?: ClientRequestOptions): Promise<void>;
}

/** Options of {@link executePlan}. */
export interface ExecuteOptions {
  /** Epoch ms. Calls not started by then end as `retry` (code `deadline`); the client never waits past it. */
  deadline?: number;
  /** Clock (epoch ms), the same one as the client's. @default Date.now */
  now?: () => number;
  /** Calls of one stage run this many at a time; the client's rate limiter paces them. @default 4 */
  concurrency?: number;
}

/** How long to wait before retrying persons PostHog reported in `deletion_errors` (its own retries start at 60 s). */
export const DELETION_ERROR_RETRY_MS = 60_000;

const RANK = { applied: 0, retry: 1, rejected: 2 } as const;

/** The worse of two outcomes: rejected > retry > applied; two retries keep the longer delay. */
function worse(a: Outcome | undefined, b: Outcome): Outcome {
  if (a === undefined || RANK[b.status] > RANK[a.status]) return b;
  if (a.status === 'retry' && b.status === 'retry' && b.delayMs > a.delayMs) return b;
  return a;
}

/**
 * Runs a plan through the client, stage by stage, and reports one {@link Outcome} per message id of the plan
 * (served or skipped). Never throws for PostHog failures: each becomes an outcome.
 *
 * - A message is `applied` when every call serving it succeeded (a repeated split's 400 "not on this person"
 *   counts as success; a bulk_delete 404 does not: PostHog answers 202 for persons already gone), `rejected`
 *   when any of them failed permanently, `retry` otherwise, with the `Retry-After` of a 429 or a backoff as the
 *   suggested delay.
 * - A bulk_delete with `deletion_errors` retries only the messages that asked for a failed person. For a
 *   distinct-id delete the chunk's distinct ids are resolved again to find which of them belong to failed persons.
 * - Calls not started before `deadline` end as `retry` with code `deadline` and no delay.
 * - A skipped message (person deleted in the batch) is `applied` when every delete it depends on is applied.
 *
 * @example
 * const outcomes = await executePlan(planBatch(inbound), client, { deadline: Date.now() + remaining - margin });
 */
export async function executePlan(
  plan: Plan,
  client: PostHogClientLike,
  options: ExecuteOptions = {},
): Promise<Map<string, Outcome>> {
  const now = options.now ?? Date.now;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const requestOptions: ClientRequestOptions =
    options.deadline === undefined ? {} : { deadline: options.deadline };
  const results = new Map<string, Outcome>();
  const record = (messageIds: readonly string[], outcome: Outcome) => {
    for (const id of messageIds) results.set(id, worse(results.get(id), outcome));
  };
  const resolved = new Map<string, string>(); // distinct id → person uuid
  const unresolved = new Map<string, Outcome>(); // distinct id → why it has no uuid (failed lookup)

  const personId = (person: { uuid: string } | { distinctId: string }): string | Outcome => {
    if ('uuid' in person) return person.uuid;
    const uuid = resolved.get(person.distinctId);
    if (uuid !== undefined) return uuid;
    return (
      unresolved.get(person.distinctId) ?? {
        status: 'rejected',
        code: OUTCOME_CODES.personNotFound,
        reason: `no PostHog person has distinct id ${JSON.stringify(person.distinctId)}`,
      }
    );
  };

  const fail = (call: PlannedCall, outcome: Outcome) => {
    record(call.serves, outcome);
    // Later calls that needed these persons end the same way instead of as "person not found".
    if (call.endpoint === 'batch_by_distinct_ids') {
      for (const id of call.distinctIds) unresolved.set(id, outcome);
    }
  };

  const run = async (call: PlannedCall): Promise<void> => {
    if (options.deadline !== undefined && now() >= options.deadline) {
      fail(call, {
        status: 'retry',
        code: OUTCOME_CODES.deadline,
        delayMs: 0,
        reason: `${call.endpoint} was not started before the invocation deadline`,
      });
      return;
    }
    try {
      await perform(call);
    } catch (error) {
      fail(call, outcomeOfError(error, call));
    }
  };

  const perform = async (call: PlannedCall): Promise<void> => {
    switch (call.endpoint) {
      case 'batch_by_distinct_ids': {
        const persons = await client.batchByDistinctIds(call.distinctIds, requestOptions);
        for (const id of call.distinctIds) {
          const person = persons[id];
          if (person !== undefined) resolved.set(id, person.uuid);
        }
        record(call.serves, APPLIED);
        return;
      }
      case 'bulk_delete':
        await bulkDelete(call);
        return;
      case 'split':
      case 'update_property':
      case 'delete_property': {
        const id = personId(call.person);
        if (typeof id !== 'string') {
          record(call.serves, id);
          return;
        }
        if (call.endpoint === 'split') {
          await client.split(id, call.body, requestOptions);
        } else if (call.endpoint === 'update_property') {
          await client.updateProperty(id, call.key, call.value, requestOptions);
        } else {
          const { success } = await client.deleteProperty(id, call.key, requestOptions);
          if (!success) {
            record(call.serves, {
              status: 'retry',
              code: OUTCOME_CODES.propertyNotDeleted,
              delayMs: 1000,
              reason: `PostHog could not delete property ${JSON.stringify(call.key)}`,
            });
            return;
          }
        }
        record(call.serves, APPLIED);
        return;
      }
      case 'capture_batch':
        await client.captureBatch(call.events.map(toCaptureEvent), requestOptions);
        record(call.serves, APPLIED);
        return;
    }
  };

  const bulkDelete = async (call: PlannedCall & { endpoint: 'bulk_delete' }): Promise<void> => {
    const result = await client.bulkDelete(call.target, call.flags, requestOptions);
    if (result.deletionErrors.length === 0) {
      record(call.serves, APPLIED);
      return;
    }
    const failed = new Set(result.deletionErrors.map((e) => e.personUuid.toLowerCase()));
    const retry: Outcome = {
      status: 'retry',
      code: OUTCOME_CODES.deletionErrors,
      delayMs: DELETION_ERROR_RETRY_MS,
      reason: `PostHog reported ${failed.size} person(s) not deleted (deletion_errors)`,
    };
    if ('ids' in call.target) {
      for (const id of call.target.ids)
        record(call.owners[id] ?? [], failed.has(id) ? retry : APPLIED);
      return;
    }
    // deletion_errors names persons, the call named distinct ids: look them up again to see whose persons failed.
    let persons: Record<string, { uuid: string }>;
    try {
      persons = await client.batchByDistinctIds(call.target.distinctIds, requestOptions);
    } catch {
      record(call.serves, retry);
      return;
    }
    for (const id of call.target.distinctIds) {
      const uuid = persons[id]?.uuid.toLowerCase();
      record(call.owners[id] ?? [], uuid !== undefined && failed.has(uuid) ? retry : APPLIED);
    }
  };

  const stages = [...new Set(plan.calls.map((c) => c.stage))].sort((a, b) => a - b);
  for (const stage of stages) {
    const queue = plan.calls.filter((c) => c.stage === stage && c.endpoint !== 'capture_batch');
    // Capture calls of one stage go one after another, in plan order: the planner folds a person's events of
    // several rounds into one batch, and when that batch overflows into the next call, order must hold across them.
    const captures = plan.calls.filter((c) => c.stage === stage && c.endpoint === 'capture_batch');
    const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let call = queue.shift(); call !== undefined; call = queue.shift()) await run(call);
    });
    const captureWorker = async () => {
      for (const call of captures) await run(call);
    };
    await Promise.all([...workers, captureWorker()]);
  }

  for (const skip of plan.skipped) {
    const failedDependency = skip.dependsOn
      .map((id) => results.get(id))
      .find((outcome) => outcome === undefined || outcome.status !== 'applied');
    results.set(
      skip.messageId,
      failedDependency === undefined && skip.dependsOn.length > 0
        ? APPLIED
        : {
            status: 'retry',
            code: OUTCOME_CODES.dependsOnDelete,
            delayMs: failedDependency?.status === 'retry' ? failedDependency.delayMs : 0,
            reason: `${skip.reason}, and that delete did not complete`,
          },
    );
  }
  return results;
}

function toCaptureEvent(event: PlannedCaptureEvent): ClientCaptureEvent {
  if (event.event === '$merge_dangerously') {
    return {
      event: event.event,
      distinctId: event.distinctId,
      properties: { alias: event.alias },
      timestamp: event.timestamp,
      uuid: event.uuid,
    };
  }
  const properties: Record<string, JsonValue> = {
    ...(Object.keys(event.set).length > 0 ? { $set: { ...event.set } } : {}),
    ...(event.unset.length > 0 ? { $unset: [...event.unset] } : {}),
  };
  return {
    event: '$set',
    distinctId: event.distinctId,
    properties,
    timestamp: event.timestamp,
    uuid: event.uuid,
  };
}

/** Turns a failed call into the outcome of the messages it serves (the rules are `classify`'s). */
export function outcomeOfError(
  error: unknown,
  call: Pick<PlannedCall, 'endpoint'> & Partial<Pick<SplitCall, 'body'>>,
): Outcome {
  if (call.endpoint === 'split') {
    // Done before only if *every* id to split is off the person; if PostHog names just some of them, the others
    // are still on it and the split never ran (a wrong id in the command): that must not pass as applied.
    const ids =
      call.body !== undefined && 'distinctIdsToSplit' in call.body
        ? call.body.distinctIdsToSplit
        : [];
    const stillOn = idsStillOnPerson(error, ids);
    if (stillOn !== undefined && stillOn.length === 0) return APPLIED;
    if (stillOn !== undefined) {
      const { code, reason } = classify(error, call.endpoint);
      const ids = stillOn.map((id) => JSON.stringify(id)).join(', ');
      return {
        status: 'rejected',
        code,
        reason: `${reason} (the split was not applied: ${ids} still on the person)`,
      };
    }
  }
  return classify(error, call.endpoint);
}
