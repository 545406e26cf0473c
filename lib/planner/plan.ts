import { COMMAND_TYPES, type Command } from '../messages/index.ts';
import { CAPTURE_BATCH_SERVER_MAX_BYTES, chunk } from '../posthog/index.ts';
import { collectChanges } from './changes.ts';
import { planDeletes } from './deletes.ts';
import { schedule } from './schedule.ts';
import { buildSteps } from './steps.ts';
import {
  type InboundCommand,
  type Plan,
  type PlannedCall,
  type PlanOptions,
  type PropertyWrites,
  type ResolveCall,
  type RetrieveCall,
  SERVER_LIMITS,
} from './types.ts';

export { CAPTURE_EVENT_UUID_NAMESPACE } from './model.ts';

/**
 * Turns the valid commands of one SQS batch into the fewest PostHog calls. Pure: no I/O, clock, randomness or env,
 * so the same input always gives the same plan.
 *
 * Named steps, each in its own file: deletes (deletes.ts) → changes (changes.ts) → steps (steps.ts) → schedule
 * (schedule.ts). Rules (docs/messages.md, "Planner"):
 * - **Deletes**: every id a batch names is deleted once, with the flags combined over the messages that name it
 *   (`deleteEvents`/`deleteRecordings` OR-ed, `keepPerson` AND-ed: the union of what was asked). Ids are grouped by
 *   flags, uuids and distinct ids in separate calls, and chunked to 1000.
 * - **Changes keep per-person message order**: for each person (as named: `d:<distinctId>` or `u:<uuid>`), splits
 *   and merges are barriers (a merge for the survivor and for each merged id); property writes between barriers form
 *   a round. Each person's rounds and barriers become an ordered list of steps, and the lists are scheduled together
 *   after stage 0 by alternating API phases and capture phases (see the scheduling comment below): the plan uses as
 *   many capture stages, hence capture calls (overflow past 1000 events or the byte cap aside), as the longest
 *   chain of capture segments forces, which is the lower bound.
 * - **Last write wins** per (person, key) over the whole batch, by `time`, ties broken by message order (later
 *   message wins). The losing messages are served by the winning call.
 * - **Persons deleted in the batch** (not `keepPerson`) get no split, update or merge: those messages are skipped
 *   with a reason and depend on the delete's outcome.
 * - **Resolution**: distinct ids that need a person id (splits, and updates in `update_property` mode) are
 *   resolved once, 200 per `batch_by_distinct_ids` call, in stage 0.
 * - Commands repeated under the same `id` for the same person share their calls.
 *
 * @example
 * const plan = planBatch(valid.map((m) => ({ messageId: m.messageId, command: m.command })));
 * console.log(`${plan.callCount} calls (naive ${plan.naiveCallCount}, lower bound ${plan.lowerBound})`);
 */
export function planBatch(messages: InboundCommand[], options: PlanOptions = {}): Plan {
  const mode: PropertyWrites = options.propertyWrites ?? 'update_property';
  const captureUnsets = mode === 'update_property' && options.captureUnsets === true;
  const deletes = planDeletes(messages);
  const changes = collectChanges(messages, deletes.targets, mode);
  const resolutions = planResolutions(changes.resolveOwners);
  const commandIdOf = new Map(messages.map((m) => [m.messageId, m.command.id]));
  const steps = buildSteps(changes, mode, commandIdOf, captureUnsets);
  const retrieves = [...steps.retrieveOwners].map(
    ([uuid, owners]): RetrieveCall => ({
      endpoint: 'retrieve',
      stage: 0,
      serves: [...owners],
      uuid,
    }),
  );
  const scheduled = schedule(steps.steps);
  const calls = [
    ...deletes.calls,
    ...resolutions,
    ...retrieves,
    ...scheduled.apiCalls,
    ...scheduled.captureCalls,
  ];
  shareDuplicateCalls(calls, changes.aliases);
  calls.sort((a, b) => a.stage - b.stage);
  const captureBound =
    scheduled.captureStages > 0
      ? Math.max(
          Math.ceil(scheduled.captureBytes / CAPTURE_BATCH_SERVER_MAX_BYTES),
          scheduled.captureStages,
        )
      : 0;
  return {
    calls,
    skipped: changes.skipped,
    lowerBound:
      deletes.calls.length +
      resolutions.length +
      retrieves.length +
      steps.personsApiCalls +
      captureBound,
    callCount: calls.length,
    naiveCallCount: messages.reduce(
      (sum, m) => sum + singleMessageCallCount(m.command, mode, captureUnsets),
      0,
    ),
  };
}

/** Stage 0: the distinct ids that need a person id, resolved 200 per `batch_by_distinct_ids` call. */
function planResolutions(resolveOwners: ReadonlyMap<string, ReadonlySet<string>>): ResolveCall[] {
  return chunk([...resolveOwners.keys()], SERVER_LIMITS.batchByDistinctIdsMax).map(
    (distinctIds) => {
      const serves = new Set<string>();
      for (const id of distinctIds)
        for (const owner of resolveOwners.get(id) ?? []) serves.add(owner);
      return { endpoint: 'batch_by_distinct_ids', stage: 0, serves: [...serves], distinctIds };
    },
  );
}

/** Duplicates (same command id, same person) share the calls of the first message. */
function shareDuplicateCalls(calls: PlannedCall[], aliases: ReadonlyMap<string, string>): void {
  if (aliases.size === 0) return;
  const byCanonical = new Map<string, string[]>();
  for (const [alias, canonical] of aliases) {
    const list = byCanonical.get(canonical) ?? [];
    list.push(alias);
    byCanonical.set(canonical, list);
  }
  for (const call of calls) {
    const extra = call.serves.flatMap((id) => byCanonical.get(id) ?? []);
    if (extra.length > 0) call.serves = [...call.serves, ...extra];
  }
}

/**
 * The calls one command needs when planned alone: the naive, message-at-a-time cost (`planBatch([m]).callCount`,
 * computed directly). A test checks the two agree.
 */
export function singleMessageCallCount(
  command: Command,
  mode: PropertyWrites = 'update_property',
  captureUnsets = false,
): number {
  switch (command.type) {
    case COMMAND_TYPES.delete: {
      const uuids = new Set(command.data.personUuids ?? []).size;
      const distinctIds = new Set(command.data.distinctIds ?? []).size;
      return (
        Math.ceil(uuids / SERVER_LIMITS.bulkDeleteMaxIds) +
        Math.ceil(distinctIds / SERVER_LIMITS.bulkDeleteMaxIds)
      );
    }
    case COMMAND_TYPES.split:
      return command.data.distinctId !== undefined ? 2 : 1;
    case COMMAND_TYPES.update: {
      const setKeys = Object.keys(command.data.set ?? {}).length;
      const unsetKeys = command.data.unset?.length ?? 0;
      const byUuid = command.data.distinctId === undefined;
      if (mode === 'capture' && !byUuid) return 1;
      // One call for all set keys; unset keys: one capture event (plus a retrieve when named by uuid) or one each.
      const unsetCalls =
        unsetKeys > 1 && captureUnsets && mode === 'update_property' ? (byUuid ? 2 : 1) : unsetKeys;
      return Math.min(setKeys, 1) + unsetCalls + (byUuid ? 0 : 1);
    }
    case COMMAND_TYPES.merge:
      return 1;
  }
}
