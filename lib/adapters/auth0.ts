import * as z from 'zod';
import { COMMAND_TYPES, type CommandInput } from '../messages/index.ts';
import { commandId, distinctIdOf, malformed } from './fields.ts';
import type { AdapterResult, DistinctIdRule, IgnoredEvent } from './types.ts';

/** An Auth0 log event names the user in `data.user_id` (`auth0|...`); paths are read from `data`. */
export const AUTH0_DEFAULT_DISTINCT_ID: DistinctIdRule = { paths: ['user_id'], prefix: '' };

/** Auth0's log event type code for "Successful User Deletion" (auth0.com/docs/deploy-monitor/logs/log-event-type-codes). */
export const AUTH0_USER_DELETED = 'sdu';

// One log event as a custom webhook log stream sends it (auth0.com/docs/customize/log-streams/custom-log-streams).
const Auth0LogEventSchema = z.looseObject({
  log_id: z.string().min(1),
  data: z.looseObject({
    type: z.string().min(1),
    date: z.iso.datetime({ offset: true }),
  }),
});

const Auth0BatchSchema = z.array(Auth0LogEventSchema).min(1).max(1000);

/**
 * Splits an Auth0 log stream body: the stream's content format is a JSON array, JSON lines, or one JSON object
 * per request, all three accepted. `undefined` when the text is none of them.
 */
export function parseAuth0Body(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // JSON lines: one object per line.
  }
  try {
    return trimmed
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as unknown);
  } catch {
    return undefined;
  }
}

/**
 * Maps verified Auth0 log events: each `sdu` (user deleted) becomes a `persons.delete` with id
 * `auth0-<log_id>` (Auth0 resends the same `log_id` when it retries a batch). Other log types are ignored, so a
 * stream filtered to the "User/Behavioral - Success" category (which holds `sdu`) is fine.
 */
export function mapAuth0Events(payload: unknown, rule: DistinctIdRule): AdapterResult {
  const events = Array.isArray(payload) ? payload : [payload];
  const parsed = Auth0BatchSchema.safeParse(events);
  if (!parsed.success) return malformed(parsed.error);
  const commands: CommandInput[] = [];
  const ignored: IgnoredEvent[] = [];
  for (const event of parsed.data) {
    if (event.data.type !== AUTH0_USER_DELETED) {
      ignored.push({ eventId: event.log_id, eventType: event.data.type, reason: 'not mapped' });
      continue;
    }
    const distinctId = distinctIdOf(event.data, rule);
    if (distinctId === undefined) {
      ignored.push({
        eventId: event.log_id,
        eventType: event.data.type,
        reason: `data has none of ${rule.paths.join(', ')}`,
      });
      continue;
    }
    commands.push({
      type: COMMAND_TYPES.delete,
      id: commandId('auth0', event.log_id),
      time: new Date(event.data.date).toISOString(),
      source: 'auth0',
      data: { distinctIds: [distinctId], reason: 'auth0_user_deleted' },
    });
  }
  return { ok: true, commands, ignored };
}
