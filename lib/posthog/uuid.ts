import { v5 as uuidv5 } from 'uuid';

/** PostHog's namespace for person uuids derived from distinct ids (`PERSON_UUIDV5_NAMESPACE`). */
export const PERSON_UUIDV5_NAMESPACE = '932979b4-65c3-4424-8467-0b66ec27bc22';

/**
 * The uuid PostHog gives a person created for `distinctId` (`uuidFromDistinctId`):
 * uuid5(namespace, `${teamId}:${distinctId}`).
 */
export function personUuidFromDistinctId(teamId: number | string, distinctId: string): string {
  return uuidv5(`${teamId}:${distinctId}`, PERSON_UUIDV5_NAMESPACE);
}

/**
 * The uuid of the person a split moves `distinctId` onto (PostHog `splitTargetUuid`). Normally
 * uuid5(namespace, `${teamId}:${distinctId}`); when that equals the source person's uuid (the
 * distinct id seeded the person it is split off), PostHog appends `:split` to the name so the id
 * really moves. Pass `sourceUuid` to apply that rule.
 *
 * Useful because a split is only queued: until it runs, the moved id still resolves to the original
 * person, but the new person's uuid is known in advance.
 *
 * @example
 * splitPersonUuid(1, 'user@example.com', originalPerson.uuid)
 */
export function splitPersonUuid(
  teamId: number | string,
  distinctId: string,
  sourceUuid?: string,
): string {
  const plain = personUuidFromDistinctId(teamId, distinctId);
  if (sourceUuid !== undefined && plain === sourceUuid.trim().toLowerCase()) {
    return uuidv5(`${teamId}:${distinctId}:split`, PERSON_UUIDV5_NAMESPACE);
  }
  return plain;
}
