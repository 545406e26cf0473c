import * as z from 'zod';
import { COMMAND_TYPES, type CommandInput } from '../messages/index.ts';
import { commandId, isoFromMillis, malformed } from './fields.ts';
import type { AdapterResult, DistinctIdRule, IgnoredEvent } from './types.ts';

/**
 * HubSpot contact events carry only the contact's record id (`objectId`, `primaryObjectId`, `mergedObjectIds`),
 * so the distinct id is that id, with an optional prefix. `paths` is unused here.
 */
export const HUBSPOT_DEFAULT_DISTINCT_ID: DistinctIdRule = { paths: [], prefix: '' };

const recordId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]);

// One event of a HubSpot webhook request (developers.hubspot.com/docs/api/webhooks, "Webhook payloads").
const HubSpotEventSchema = z.looseObject({
  eventId: recordId,
  subscriptionId: recordId,
  portalId: recordId,
  occurredAt: z.number().int().positive(),
  subscriptionType: z.string().min(1),
  objectId: recordId.optional(),
  propertyName: z.string().min(1).optional(),
  propertyValue: z.string().nullable().optional(),
  primaryObjectId: recordId.optional(),
  mergedObjectIds: z.array(recordId).optional(),
});

// HubSpot sends up to 100 events per request.
const HubSpotBatchSchema = z.array(HubSpotEventSchema).min(1).max(100);

type HubSpotEvent = z.output<typeof HubSpotEventSchema>;

/**
 * Maps a verified HubSpot webhook request (a JSON array of events):
 * - `contact.deletion` → `persons.delete`;
 * - `contact.privacyDeletion` (a GDPR delete) → `persons.delete` with the person's events and recordings;
 * - `contact.merge` → `person.merge` (the primary contact survives);
 * - `contact.propertyChange` → `person.properties.update` setting that property, `time` = `occurredAt`.
 *
 * Each command id is `hubspot-<portalId>-<subscriptionId>-<eventId>`: HubSpot documents `eventId` as not
 * guaranteed unique on its own, and resends the same triple on retries. Other subscription types are ignored.
 */
export function mapHubSpotEvents(payload: unknown, rule: DistinctIdRule): AdapterResult {
  const parsed = HubSpotBatchSchema.safeParse(payload);
  if (!parsed.success) return malformed(parsed.error);
  const commands: CommandInput[] = [];
  const ignored: IgnoredEvent[] = [];
  for (const [index, event] of parsed.data.entries()) {
    const mapped = mapOne(event, rule);
    if ('reason' in mapped && 'path' in mapped) {
      return {
        ok: false,
        path: `[${index}].${mapped.path}`,
        reason: `[${index}].${mapped.reason}`,
      };
    }
    if ('command' in mapped) commands.push(mapped.command);
    else ignored.push(mapped);
  }
  return { ok: true, commands, ignored };
}

type OneResult = { command: CommandInput } | IgnoredEvent | { path: string; reason: string };

function mapOne(event: HubSpotEvent, rule: DistinctIdRule): OneResult {
  const eventId = String(event.eventId);
  const base = {
    id: commandId('hubspot', event.portalId, event.subscriptionId, event.eventId),
    time: isoFromMillis(event.occurredAt),
    source: 'hubspot',
  };
  const person = (id: number | string) => `${rule.prefix}${id}`;
  const needObjectId = {
    path: 'objectId',
    reason: `objectId: is required for ${event.subscriptionType}`,
  };
  switch (event.subscriptionType) {
    case 'contact.deletion':
    case 'contact.privacyDeletion': {
      if (event.objectId === undefined) return needObjectId;
      const privacy = event.subscriptionType === 'contact.privacyDeletion';
      return {
        command: {
          ...base,
          type: COMMAND_TYPES.delete,
          data: {
            distinctIds: [person(event.objectId)],
            deleteEvents: privacy,
            deleteRecordings: privacy,
            reason: privacy ? 'hubspot_privacy_deletion' : 'hubspot_contact_deleted',
          },
        },
      };
    }
    case 'contact.merge': {
      if (event.primaryObjectId === undefined) {
        return {
          path: 'primaryObjectId',
          reason: 'primaryObjectId: is required for contact.merge',
        };
      }
      const merged = (event.mergedObjectIds ?? []).filter(
        (id) => String(id) !== String(event.primaryObjectId),
      );
      if (merged.length === 0) {
        return {
          path: 'mergedObjectIds',
          reason: 'mergedObjectIds: must name at least one contact',
        };
      }
      return {
        command: {
          ...base,
          type: COMMAND_TYPES.merge,
          data: {
            survivorDistinctId: person(event.primaryObjectId),
            mergedDistinctIds: merged.map(person),
          },
        },
      };
    }
    case 'contact.propertyChange': {
      if (event.objectId === undefined) return needObjectId;
      if (event.propertyName === undefined) {
        return {
          path: 'propertyName',
          reason: 'propertyName: is required for contact.propertyChange',
        };
      }
      return {
        command: {
          ...base,
          type: COMMAND_TYPES.update,
          data: {
            distinctId: person(event.objectId),
            set: { [event.propertyName]: event.propertyValue ?? null },
          },
        },
      };
    }
    default:
      return { eventId, eventType: event.subscriptionType, reason: 'not mapped' };
  }
}
