import { COMMAND_TYPES } from '../messages/index.ts';
import { chunk } from '../posthog/index.ts';
import type { DeleteTarget } from './model.ts';
import {
  type BulkDeleteCall,
  type DeleteFlags,
  type InboundCommand,
  SERVER_LIMITS,
} from './types.ts';

/** The bulk_delete calls of a batch, and the targets (by `u:`/`d:` key) later steps check against. */
export interface PlannedDeletes {
  readonly calls: BulkDeleteCall[];
  readonly targets: Map<string, DeleteTarget>;
}

/**
 * Planner step 1, deletes: every id a batch names is deleted once, with the flags combined over the messages that
 * name it (`deleteEvents`/`deleteRecordings` OR-ed, `keepPerson` AND-ed: the union of what was asked). Ids are
 * grouped by flags, uuids and distinct ids in separate calls, and chunked to 1000. All in stage 0.
 */
export function planDeletes(messages: readonly InboundCommand[]): PlannedDeletes {
  const targets = deleteTargets(messages);
  const calls: BulkDeleteCall[] = [];
  for (const group of groupByFlags(targets).values()) {
    for (const [kind, items] of [
      ['ids', group.uuids],
      ['distinctIds', group.distinctIds],
    ] as const) {
      for (const ids of chunk(items, SERVER_LIMITS.bulkDeleteMaxIds)) {
        calls.push(bulkDeleteCall(kind, ids, group.flags, targets));
      }
    }
  }
  return { calls: inMessageOrder(calls, messages), targets };
}

/**
 * The delete chunks message by message (by the earliest message each serves; the sort is stable), not uuid chunks
 * of every message before any distinct-id chunk: when a batch needs more calls than one invocation's budget allows,
 * the chunks that do run then complete whole messages, which are acknowledged and not redone.
 */
function inMessageOrder(
  calls: BulkDeleteCall[],
  messages: readonly InboundCommand[],
): BulkDeleteCall[] {
  const orderOf = new Map(messages.map((m, index) => [m.messageId, index]));
  const firstServed = (call: BulkDeleteCall) =>
    call.serves.reduce((first, id) => Math.min(first, orderOf.get(id) ?? first), Infinity);
  const deleteOrder = new Map(calls.map((call) => [call, firstServed(call)]));
  return calls.sort((a, b) => (deleteOrder.get(a) ?? 0) - (deleteOrder.get(b) ?? 0));
}

/** The message ids that delete the person named by `key` (a person kept by `keepPerson` is not gone). */
export function deletedBy(targets: ReadonlyMap<string, DeleteTarget>, key: string): string[] {
  const target = targets.get(key);
  return target !== undefined && !target.flags.keepPerson ? target.owners : [];
}

function deleteTargets(messages: readonly InboundCommand[]): Map<string, DeleteTarget> {
  const targets = new Map<string, DeleteTarget>();
  for (const { messageId, command } of messages) {
    if (command.type !== COMMAND_TYPES.delete) continue;
    const { deleteEvents, deleteRecordings, keepPerson } = command.data;
    const keys = [
      ...(command.data.personUuids ?? []).map((uuid) => `u:${uuid}`),
      ...(command.data.distinctIds ?? []).map((id) => `d:${id}`),
    ];
    for (const key of new Set(keys)) {
      const existing = targets.get(key);
      if (existing === undefined) {
        targets.set(key, {
          flags: { deleteEvents, deleteRecordings, keepPerson },
          owners: [messageId],
        });
        continue;
      }
      existing.flags = {
        deleteEvents: existing.flags.deleteEvents || deleteEvents,
        deleteRecordings: existing.flags.deleteRecordings || deleteRecordings,
        keepPerson: existing.flags.keepPerson && keepPerson,
      };
      // Ids are de-duplicated per message above, so a message is never added twice.
      existing.owners.push(messageId);
    }
  }
  return targets;
}

const flagsKey = (f: DeleteFlags) =>
  `${+f.deleteEvents}${+f.deleteRecordings}${+f.keepPerson}` as const;

function groupByFlags(
  targets: ReadonlyMap<string, DeleteTarget>,
): Map<string, { flags: DeleteFlags; uuids: string[]; distinctIds: string[] }> {
  const groups = new Map<string, { flags: DeleteFlags; uuids: string[]; distinctIds: string[] }>();
  for (const [key, target] of targets) {
    const groupKey = flagsKey(target.flags);
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { flags: target.flags, uuids: [], distinctIds: [] };
      groups.set(groupKey, group);
    }
    (key.startsWith('u:') ? group.uuids : group.distinctIds).push(key.slice(2));
  }
  return groups;
}

function bulkDeleteCall(
  kind: 'ids' | 'distinctIds',
  ids: string[],
  flags: DeleteFlags,
  targets: ReadonlyMap<string, DeleteTarget>,
): BulkDeleteCall {
  const owners: Record<string, string[]> = Object.create(null);
  const serves = new Set<string>();
  for (const id of ids) {
    const ownerIds = targets.get(`${kind === 'ids' ? 'u' : 'd'}:${id}`)?.owners ?? [];
    owners[id] = ownerIds;
    for (const owner of ownerIds) serves.add(owner);
  }
  const target = kind === 'ids' ? { ids } : { distinctIds: ids };
  return { endpoint: 'bulk_delete', stage: 0, serves: [...serves], target, flags, owners };
}
