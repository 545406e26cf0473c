import type { JsonValue } from '../messages/index.ts';
import { APPLIED, OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type { BulkDeleteCall, PlannedCall, PlannedCaptureEvent } from '../planner/index.ts';
import type { ClientCaptureEvent } from './client-port.ts';
import type { PlanRun } from './plan-run.ts';

/** How long to wait before retrying persons PostHog reported in `deletion_errors` (its own retries start at 60 s). */
export const DELETION_ERROR_RETRY_MS = 60_000;

/** Sends one planned call and records what it means for the messages it serves. Throws PostHog's failures. */
export async function performCall(run: PlanRun, call: PlannedCall): Promise<void> {
  switch (call.endpoint) {
    case 'batch_by_distinct_ids':
      return resolvePersons(run, call.distinctIds, call.serves);
    case 'bulk_delete':
      return bulkDelete(run, call);
    case 'split':
    case 'update_property':
    case 'delete_property':
      return personCall(run, call);
    case 'capture_batch':
      await run.client.captureBatch(call.events.map(toCaptureEvent), run.requestOptions);
      run.record(call.serves, APPLIED);
      return;
  }
}

async function resolvePersons(
  run: PlanRun,
  distinctIds: string[],
  serves: string[],
): Promise<void> {
  const persons = await run.client.batchByDistinctIds(distinctIds, run.requestOptions);
  for (const id of distinctIds) {
    const person = persons[id];
    if (person !== undefined) run.resolve(id, person.uuid);
  }
  run.record(serves, APPLIED);
}

/** A call on one person: split, update_property or delete_property. */
async function personCall(
  run: PlanRun,
  call: Extract<PlannedCall, { endpoint: 'split' | 'update_property' | 'delete_property' }>,
): Promise<void> {
  const id = run.personId(call.person);
  if (typeof id !== 'string') {
    run.record(call.serves, id);
    return;
  }
  const { client, requestOptions } = run;
  if (call.endpoint === 'split') {
    await client.split(id, call.body, requestOptions);
  } else if (call.endpoint === 'update_property') {
    await client.updateProperty(id, call.key, call.value, requestOptions);
  } else if (!(await client.deleteProperty(id, call.key, requestOptions)).success) {
    run.record(call.serves, {
      status: 'retry',
      code: OUTCOME_CODES.propertyNotDeleted,
      delayMs: 1000,
      reason: `PostHog could not delete property ${JSON.stringify(call.key)}`,
    });
    return;
  }
  run.record(call.serves, APPLIED);
}

/**
 * A bulk_delete. With `deletion_errors`, only the messages that asked for a failed person are retried. For a
 * distinct-id delete the chunk's distinct ids are resolved again to find which of them belong to failed persons.
 */
async function bulkDelete(run: PlanRun, call: BulkDeleteCall): Promise<void> {
  const result = await run.client.bulkDelete(call.target, call.flags, run.requestOptions);
  run.deletions.calls += 1;
  run.deletions.persons += result.personsDeleted + result.personsQueuedForDeletion;
  if (result.deletionErrors.length === 0) {
    run.record(call.serves, APPLIED);
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
      run.record(call.owners[id] ?? [], failed.has(id) ? retry : APPLIED);
    return;
  }
  // deletion_errors names persons, the call named distinct ids: look them up again to see whose persons failed.
  let persons: Record<string, { uuid: string }>;
  try {
    persons = await run.client.batchByDistinctIds(call.target.distinctIds, run.requestOptions);
  } catch {
    run.record(call.serves, retry);
    return;
  }
  for (const id of call.target.distinctIds) {
    const uuid = persons[id]?.uuid.toLowerCase();
    run.record(call.owners[id] ?? [], uuid !== undefined && failed.has(uuid) ? retry : APPLIED);
  }
}

/** A planned capture event as the client sends it. */
export function toCaptureEvent(event: PlannedCaptureEvent): ClientCaptureEvent {
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
