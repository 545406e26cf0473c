import * as z from 'zod';
import { COMMAND_TYPES, type CommandInput } from '../messages/index.ts';
import { commandId, distinctIdOf, malformed } from './fields.ts';
import type { AdapterResult, DistinctIdRule } from './types.ts';

/**
 * Where a deleted Stripe customer names its PostHog person, by default: the `posthog_distinct_id` metadata key a
 * checkout flow usually sets, else the customer id itself. Paths are read from the customer object.
 */
export const STRIPE_DEFAULT_DISTINCT_ID: DistinctIdRule = {
  paths: ['metadata.posthog_distinct_id', 'id'],
  prefix: '',
};

// The parts of a Stripe Event persons-relay reads (docs.stripe.com/api/events/object); anything else passes.
const StripeEventSchema = z.looseObject({
  id: z.string().min(1),
  object: z.literal('event'),
  type: z.string().min(1),
  created: z.number().int().positive(),
  data: z.looseObject({ object: z.looseObject({}) }),
});

/**
 * Maps a verified Stripe event. `customer.deleted` becomes one `persons.delete` whose id is the Stripe event id
 * (`stripe-evt_...`), so a redelivery of the same event is the same command. Other types are ignored.
 */
export function mapStripeEvent(payload: unknown, rule: DistinctIdRule): AdapterResult {
  const parsed = StripeEventSchema.safeParse(payload);
  if (!parsed.success) return malformed(parsed.error);
  const event = parsed.data;
  if (event.type !== 'customer.deleted') {
    return {
      ok: true,
      commands: [],
      ignored: [{ eventId: event.id, eventType: event.type, reason: 'not mapped' }],
    };
  }
  const distinctId = distinctIdOf(event.data.object, rule);
  if (distinctId === undefined) {
    return {
      ok: true,
      commands: [],
      ignored: [
        {
          eventId: event.id,
          eventType: event.type,
          reason: `the customer has none of ${rule.paths.join(', ')}`,
        },
      ],
    };
  }
  const command: CommandInput = {
    type: COMMAND_TYPES.delete,
    id: commandId('stripe', event.id),
    time: new Date(event.created * 1000).toISOString(),
    source: 'stripe',
    data: { distinctIds: [distinctId], reason: 'stripe_customer_deleted' },
  };
  return { ok: true, commands: [command], ignored: [] };
}
