import * as z from 'zod';
import { COMMAND_TYPES } from '../messages/index.ts';
import { commandId, distinctIdOf, isoFromMillis, malformed } from './fields.ts';
import type { AdapterResult, DistinctIdRule } from './types.ts';

/** A deleted Clerk user carries only its id (`data.id`, `user_...`); paths are read from `data`. */
export const CLERK_DEFAULT_DISTINCT_ID: DistinctIdRule = { paths: ['id'], prefix: '' };

// A Clerk webhook event (clerk.com/docs/webhooks/overview, "Payload structure").
const ClerkEventSchema = z.looseObject({
  type: z.string().min(1),
  object: z.literal('event'),
  timestamp: z.number().int().positive(),
  data: z.looseObject({}),
});

/**
 * Maps a verified Clerk (Svix) event. `user.deleted` becomes one `persons.delete`. Clerk's body has no event id,
 * so the command id comes from the `svix-id` header (`msg_...`), which Svix keeps across retries of a message.
 */
export function mapClerkEvent(
  payload: unknown,
  messageId: string,
  rule: DistinctIdRule,
): AdapterResult {
  const parsed = ClerkEventSchema.safeParse(payload);
  if (!parsed.success) return malformed(parsed.error);
  const event = parsed.data;
  if (event.type !== 'user.deleted') {
    return {
      ok: true,
      commands: [],
      ignored: [{ eventId: messageId, eventType: event.type, reason: 'not mapped' }],
    };
  }
  const distinctId = distinctIdOf(event.data, rule);
  if (distinctId === undefined) {
    return {
      ok: true,
      commands: [],
      ignored: [
        {
          eventId: messageId,
          eventType: event.type,
          reason: `data has none of ${rule.paths.join(', ')}`,
        },
      ],
    };
  }
  return {
    ok: true,
    commands: [
      {
        type: COMMAND_TYPES.delete,
        id: commandId('clerk', messageId),
        time: isoFromMillis(event.timestamp),
        source: 'clerk',
        data: { distinctIds: [distinctId], reason: 'clerk_user_deleted' },
      },
    ],
    ignored: [],
  };
}
