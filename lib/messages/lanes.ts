import { createHash } from 'node:crypto';
import { COMMAND_TYPES, type Command } from './schemas.ts';

/** The two queue lanes: a standard queue for deletions and a FIFO queue for per-person changes. */
export const LANES = ['deletions', 'changes'] as const;
/** A queue lane: deletions (standard, big batches) or changes (FIFO, ordered per person). */
export type Lane = (typeof LANES)[number];
/** The queue a command travels on (the same as {@link Lane}). */
export type CommandLane = Lane;

/** How a changes-lane command names its person. */
export type PersonRef = { distinctId: string } | { uuid: string };

/** Which lane carries a command type: deletes on the deletions queue, everything else on the FIFO changes queue. */
export function laneOfType(type: Command['type']): CommandLane {
  return type === COMMAND_TYPES.delete ? 'deletions' : 'changes';
}

/** Which lane carries `command` (see {@link laneOfType}). */
export function laneOf(command: Command): CommandLane {
  return laneOfType(command.type);
}

/**
 * The person a changes-lane command is about: the named person for split and update, the survivor for merge.
 * `undefined` for deletes, which name many persons.
 */
export function personRefOf(command: Command): PersonRef | undefined {
  switch (command.type) {
    case COMMAND_TYPES.delete:
      return undefined;
    case COMMAND_TYPES.merge:
      return { distinctId: command.data.survivorDistinctId };
    default:
      return command.data.uuid !== undefined
        ? { uuid: command.data.uuid }
        : { distinctId: command.data.distinctId ?? '' };
  }
}

/**
 * A stable key for a person reference: `d:<distinctId>` or `u:<uuid>`. Two references are the same key only when
 * they name the person the same way; the planner cannot know that a uuid and a distinct id are one person.
 */
export function personKeyOf(ref: PersonRef): string {
  return 'uuid' in ref ? `u:${ref.uuid}` : `d:${ref.distinctId}`;
}

// SQS MessageGroupId: 1-128 characters of printable ASCII without space.
const GROUP_ID_SAFE = /^[\x21-\x7e]{1,128}$/;

/**
 * The FIFO `MessageGroupId` for a command: one group per person, so SQS delivers each person's commands in order
 * and different persons in parallel. It is the person's id exactly as the command names it (`distinctId`, `uuid`,
 * or a merge's `survivorDistinctId`), because that is also what the stack's EventBridge rules can put in the
 * group id (an input path, no string functions): producers and EventBridge then share one group per person.
 * An id SQS refuses as a group id (over 128 characters, spaces, non-ASCII) becomes `h:<sha256 hex>` of it.
 * Deletes (standard queue, no groups) get their own id.
 */
export function messageGroupIdOf(command: Command): string {
  const ref = personRefOf(command);
  if (ref === undefined) return command.id;
  const id = 'uuid' in ref ? ref.uuid : ref.distinctId;
  return GROUP_ID_SAFE.test(id) ? id : `h:${createHash('sha256').update(id).digest('hex')}`;
}
