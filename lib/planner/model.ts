import type { Command, JsonValue, PersonRef } from '../messages/index.ts';
import type { DeleteFlags, PlannedCall, PlannedCaptureEvent, SkippedMessage } from './types.ts';

/*
 * The planner's working model, between its steps: deletes → changes → steps → schedule (plan.ts).
 */

/** One id a batch deletes (`u:<uuid>` or `d:<distinctId>`), with the flags combined over the messages naming it. */
export interface DeleteTarget {
  flags: DeleteFlags;
  owners: string[];
}

/** The winning write of one (person, key) over the batch. */
export interface Write {
  person: PersonRef;
  personKey: string;
  key: string;
  /** `true` means delete the key (`value` is then null). */
  unset: boolean;
  value: JsonValue;
  time: number;
  isoTime: string;
  /** Position of the message in the batch: the tie-break when two writes have the same time (later wins). */
  order: number;
  /** The person's round (barriers of the person before the message): the write runs in that round's step. */
  round: number;
  messageId: string;
}

/** A split or merge: it ends the current round of each person it names. */
export interface Barrier {
  messageId: string;
  command: Command;
  person: PersonRef;
}

/** The batch's changes, gathered per person in message order. */
export interface ChangeSet {
  /** `${personKey}\0${key}` → winning write */
  readonly writes: Map<string, Write>;
  /** same key → all messages that wrote it (the winner serves them all) */
  readonly writers: Map<string, string[]>;
  /** personKey → the barrier ending each of its rounds */
  readonly barriersOf: Map<string, Barrier[]>;
  /** personKey → current round */
  readonly roundOf: Map<string, number>;
  /** duplicate messageId → first messageId with the same command id */
  readonly aliases: Map<string, string>;
  /** distinctId → messages that need its person id */
  readonly resolveOwners: Map<string, Set<string>>;
  readonly skipped: SkippedMessage[];
}

/** A capture event with the messages it serves. */
export interface CaptureEntry {
  event: PlannedCaptureEvent;
  serves: string[];
}

/**
 * One step of a person's operations, in the order they must take effect. An API step's calls may run concurrently
 * (one round's property writes, or a split alone); a capture step's events run in order. A merge's step is one
 * object shared by the lists of all persons it names.
 */
export type Step =
  | { kind: 'api'; calls: PlannedCall[] }
  | { kind: 'capture'; events: CaptureEntry[] };

/**
 * Namespace of the capture event uuids the planner derives. PostHog de-duplicates events by uuid, so deriving them
 * from the commands (not at random) makes a redelivered batch resend the same events instead of new ones.
 */
export const CAPTURE_EVENT_UUID_NAMESPACE = '6f1c1b5e-3d2a-4f57-9a51-2b9f0c6e8d41';

/** The list stored under `key`, created empty the first time. */
export function listAt<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  return list;
}
