import type { JsonValue } from '../messages/index.ts';
import { APPLIED, OUTCOME_CODES, type Outcome } from '../outcome/index.ts';
import type {
  BulkDeleteCall,
  CaptureBatchCall,
  PlannedCall,
  PlannedCaptureEvent,
  UpdatePropertiesCall,
} from '../planner/index.ts';
import { PostHogValidationError } from '../posthog/index.ts';
import type { ClientCaptureEvent } from './client-port.ts';
import { outcomeOfError } from './outcome-of-error.ts';
import type { PlanRun } from './plan-run.ts';

/** How long to wait before retrying persons PostHog reported in `deletion_errors` (its own retries start at 60 s). */
export const DELETION_ERROR_RETRY_MS = 60_000;

/** One call, unless the deadline has passed; a failure becomes the outcome of the messages it serves. */
export async function runCall(run: PlanRun, call: PlannedCall): Promise<void> {
  if (run.deadline !== undefined && run.now() >= run.deadline) {
    run.fail(call, {
      status: 'retry',
      code: OUTCOME_CODES.deadline,
      delayMs: 0,
      reason: `${call.endpoint} was not started before the invocation deadline`,
    });
    return;
  }
  try {
    await performCall(run, call);
  } catch (error) {
    run.fail(call, outcomeOfError(error, call));
  }
}

/** Sends one planned call and records what it means for the messages it serves. Throws PostHog's failures. */
async function performCall(run: PlanRun, call: PlannedCall): Promise<void> {
  switch (call.endpoint) {
    case 'batch_by_distinct_ids':
      return resolvePersons(run, call.distinctIds, call.serves);
    case 'retrieve':
      return retrievePerson(run, call.uuid, call.serves);
    case 'bulk_delete':
      return bulkDelete(run, call);
    case 'update_properties':
      return updateProperties(run, call);
    case 'split':
    case 'update_property':
    case 'delete_property':
      return personCall(run, call);
    case 'capture_batch':
      return captureBatch(run, call);
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

/** The first distinct id of a person named by uuid, which its `$unset` event goes to. */
async function retrievePerson(run: PlanRun, uuid: string, serves: string[]): Promise<void> {
  const person = await run.client.retrieve(uuid, run.requestOptions);
  run.retrieved(
    uuid,
    person.distinct_ids[0] ?? {
      status: 'rejected',
      code: OUTCOME_CODES.personNotFound,
      reason: `person ${uuid} has no distinct id to send its $unset to`,
    },
  );
  run.record(serves, APPLIED);
}

/** Several set keys of one person in one PATCH. */
async function updateProperties(run: PlanRun, call: UpdatePropertiesCall): Promise<void> {
  const id = run.personId(call.person);
  if (typeof id !== 'string') {
    run.record(call.serves, id);
    return;
  }
  try {
    await run.client.updateProperties(id, call.properties, run.requestOptions);
  } catch (error) {
    // A 400 refuses the whole PATCH for one key that is not writable: fall back to one call per key, so only
    // the messages that wrote that key are rejected and the others still apply.
    if (error instanceof PostHogValidationError && call.perKey.length > 1) {
      for (const perKey of call.perKey) await runCall(run, perKey);
      return;
    }
    throw error;
  }
  run.record(call.serves, APPLIED);
}

/**
 * A capture batch. An event bound to an existing person (a `$unset` of several keys) goes only to a person stage 0
 * found: capturing to one that is not there would create it, so its messages end as that lookup did instead.
 */
async function captureBatch(run: PlanRun, call: CaptureBatchCall): Promise<void> {
  const events: ClientCaptureEvent[] = [];
  for (const event of call.events) {
    if (event.event !== '$set' || event.existingPerson === undefined) {
      events.push(toCaptureEvent(event));
      continue;
    }
    const distinctId = run.existingDistinctId(event.existingPerson.person);
    if (typeof distinctId === 'string') events.push(toCaptureEvent({ ...event, distinctId }));
    else run.record(event.existingPerson.serves, distinctId);
  }
  if (events.length > 0) await run.client.captureBatch(events, run.requestOptions);
  run.record(call.serves, APPLIED);
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
  run.deletions.persons += (result.personsDeleted ?? 0) + (result.personsQueuedForDeletion ?? 0);
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
