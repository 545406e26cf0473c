import * as z from 'zod';
import { COMMAND_TYPES, type CommandInput } from '../messages/index.ts';
import { commandId, distinctIdOf, malformed } from './fields.ts';
import type { AdapterResult, DistinctIdRule, IgnoredEvent } from './types.ts';

/** The Okta user id (`00u...`) of the event's `User` target; `alternateId` (the login) is the usual alternative. */
export const OKTA_DEFAULT_DISTINCT_ID: DistinctIdRule = { paths: ['id'], prefix: '' };

/** The System Log event type Okta emits when a user's deletion starts. */
export const OKTA_USER_DELETE_INITIATED = 'user.lifecycle.delete.initiated';

const OktaTargetSchema = z.looseObject({ id: z.string().min(1), type: z.string().min(1) });

// An event hook request (developer.okta.com/docs/concepts/event-hooks/, "Sample event delivery payload").
const OktaHookSchema = z.looseObject({
  eventType: z.literal('com.okta.event_hook'),
  data: z.looseObject({
    events: z
      .array(
        z.looseObject({
          uuid: z.string().min(1),
          published: z.iso.datetime({ offset: true }),
          eventType: z.string().min(1),
          target: z.array(OktaTargetSchema).nullable().optional(),
        }),
      )
      .min(1),
  }),
});

/**
 * Maps a verified Okta event hook request: each `user.lifecycle.delete.initiated` becomes a `persons.delete` of
 * its `User` targets, with id `okta-<uuid>` (the System Log event's uuid, the same on redelivery). Other
 * event types are ignored.
 */
export function mapOktaEvents(payload: unknown, rule: DistinctIdRule): AdapterResult {
  const parsed = OktaHookSchema.safeParse(payload);
  if (!parsed.success) return malformed(parsed.error);
  const commands: CommandInput[] = [];
  const ignored: IgnoredEvent[] = [];
  for (const event of parsed.data.data.events) {
    if (event.eventType !== OKTA_USER_DELETE_INITIATED) {
      ignored.push({ eventId: event.uuid, eventType: event.eventType, reason: 'not mapped' });
      continue;
    }
    const distinctIds = (event.target ?? [])
      .filter((target) => target.type === 'User')
      .map((target) => distinctIdOf(target, rule))
      .filter((id): id is string => id !== undefined);
    if (distinctIds.length === 0) {
      ignored.push({
        eventId: event.uuid,
        eventType: event.eventType,
        reason: `no User target has ${rule.paths.join(', ')}`,
      });
      continue;
    }
    commands.push({
      type: COMMAND_TYPES.delete,
      id: commandId('okta', event.uuid),
      time: new Date(event.published).toISOString(),
      source: 'okta',
      data: { distinctIds, reason: 'okta_user_deleted' },
    });
  }
  return { ok: true, commands, ignored };
}
