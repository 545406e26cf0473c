import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AUTH0_DEFAULT_DISTINCT_ID,
  CLERK_DEFAULT_DISTINCT_ID,
  commandId,
  HUBSPOT_DEFAULT_DISTINCT_ID,
  mapAuth0Events,
  mapClerkEvent,
  mapHubSpotEvents,
  mapOktaEvents,
  mapSalesforceChangeEvent,
  mapStripeEvent,
  OKTA_DEFAULT_DISTINCT_ID,
  parseAuth0Body,
  STRIPE_DEFAULT_DISTINCT_ID,
} from '../../../../lib/adapters/index.ts';
import { parseMessage } from '../../../../lib/messages/index.ts';

const SAMPLES = path.resolve(import.meta.dirname, '../../../../examples/webhooks');
const sample = (file: string): unknown =>
  JSON.parse(readFileSync(path.join(SAMPLES, file), 'utf8'));
const sampleText = (file: string): string => readFileSync(path.join(SAMPLES, file), 'utf8');

describe('Stripe adapter', () => {
  it('maps customer.deleted to one persons.delete with the metadata distinct id and the event id', () => {
    // Act
    const result = mapStripeEvent(
      sample('stripe-customer-deleted.json'),
      STRIPE_DEFAULT_DISTINCT_ID,
    );
    // Assess
    expect(result).toEqual({
      ok: true,
      ignored: [],
      commands: [
        {
          type: 'persons.delete',
          id: 'stripe-evt_1NG8Du2eZvKYlo2CUI79vXWy',
          time: '2025-11-28T10:20:00.000Z',
          source: 'stripe',
          data: { distinctIds: ['jenny-rosen-42'], reason: 'stripe_customer_deleted' },
        },
      ],
    });
  });

  it('falls back to the customer id, and reads a configured field instead', () => {
    // Prepare
    const event = sample('stripe-customer-deleted.json') as {
      data: { object: { metadata: object } };
    };
    event.data.object.metadata = {};
    // Act
    const fallback = mapStripeEvent(event, STRIPE_DEFAULT_DISTINCT_ID);
    const configured = mapStripeEvent(sample('stripe-customer-deleted.json'), {
      paths: ['email'],
      prefix: 'mail:',
    });
    // Assess
    expect(fallback.ok && fallback.commands[0]?.data).toMatchObject({
      distinctIds: ['cus_NffrFeUfNV2Hib'],
    });
    expect(configured.ok && configured.commands[0]?.data).toMatchObject({
      distinctIds: ['mail:jennyrosen@example.com'],
    });
  });

  it('ignores other event types and refuses a payload that is not a Stripe event', () => {
    // Prepare
    const other = {
      ...(sample('stripe-customer-deleted.json') as object),
      type: 'customer.updated',
    };
    // Act / Assess
    expect(mapStripeEvent(other, STRIPE_DEFAULT_DISTINCT_ID)).toEqual({
      ok: true,
      commands: [],
      ignored: [
        {
          eventId: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
          eventType: 'customer.updated',
          reason: 'not mapped',
        },
      ],
    });
    expect(
      mapStripeEvent({ id: 'evt_1', type: 'customer.deleted' }, STRIPE_DEFAULT_DISTINCT_ID),
    ).toEqual({
      ok: false,
      path: 'object',
      reason: 'object: must be "event"',
    });
  });
});

describe('HubSpot adapter', () => {
  it('maps propertyChange, merge, deletion and privacyDeletion exactly, and ignores creation', () => {
    // Act
    const result = mapHubSpotEvents(
      sample('hubspot-contact-events.json'),
      HUBSPOT_DEFAULT_DISTINCT_ID,
    );
    // Assess
    expect(result).toEqual({
      ok: true,
      commands: [
        {
          type: 'person.properties.update',
          id: 'hubspot-33-25-3816279340',
          time: '2025-11-28T10:21:00.000Z',
          source: 'hubspot',
          data: { distinctId: '1246965', set: { lifecyclestage: 'customer' } },
        },
        {
          type: 'person.merge',
          id: 'hubspot-33-27-3816279400',
          time: '2025-11-28T10:22:00.000Z',
          source: 'hubspot',
          data: { survivorDistinctId: '1246965', mergedDistinctIds: ['1246970'] },
        },
        {
          type: 'persons.delete',
          id: 'hubspot-33-22-3816279480',
          time: '2025-11-28T10:23:00.000Z',
          source: 'hubspot',
          data: {
            distinctIds: ['1246978'],
            deleteEvents: false,
            deleteRecordings: false,
            reason: 'hubspot_contact_deleted',
          },
        },
        {
          type: 'persons.delete',
          id: 'hubspot-33-29-3816279550',
          time: '2025-11-28T10:24:00.000Z',
          source: 'hubspot',
          data: {
            distinctIds: ['1246985'],
            deleteEvents: true,
            deleteRecordings: true,
            reason: 'hubspot_privacy_deletion',
          },
        },
      ],
      ignored: [{ eventId: '3816279600', eventType: 'contact.creation', reason: 'not mapped' }],
    });
  });

  it('refuses a body that is not an event array, naming the index and field', () => {
    // Act / Assess
    expect(mapHubSpotEvents({ objectId: 1 }, HUBSPOT_DEFAULT_DISTINCT_ID)).toMatchObject({
      ok: false,
      path: '',
    });
    expect(
      mapHubSpotEvents(
        [{ eventId: 1, subscriptionId: 2, portalId: 3, subscriptionType: 'contact.deletion' }],
        HUBSPOT_DEFAULT_DISTINCT_ID,
      ),
    ).toEqual({ ok: false, path: '[0].occurredAt', reason: '[0].occurredAt: is required' });
    expect(
      mapHubSpotEvents(
        [
          {
            eventId: 1,
            subscriptionId: 2,
            portalId: 3,
            occurredAt: 1,
            subscriptionType: 'contact.deletion',
          },
        ],
        HUBSPOT_DEFAULT_DISTINCT_ID,
      ),
    ).toEqual({
      ok: false,
      path: '[0].objectId',
      reason: '[0].objectId: is required for contact.deletion',
    });
  });
});

describe('Clerk adapter', () => {
  it('maps user.deleted to persons.delete with the Svix message id as the command id', () => {
    // Act
    const result = mapClerkEvent(
      sample('clerk-user-deleted.json'),
      'msg_2abc',
      CLERK_DEFAULT_DISTINCT_ID,
    );
    // Assess
    expect(result).toEqual({
      ok: true,
      ignored: [],
      commands: [
        {
          type: 'persons.delete',
          id: 'clerk-msg_2abc',
          time: '2025-11-28T10:26:00.000Z',
          source: 'clerk',
          data: { distinctIds: ['user_29wBMCtzATuFJut8jO2VNTVekS4'], reason: 'clerk_user_deleted' },
        },
      ],
    });
  });

  it('ignores user.created', () => {
    const created = { ...(sample('clerk-user-deleted.json') as object), type: 'user.created' };
    expect(mapClerkEvent(created, 'msg_1', CLERK_DEFAULT_DISTINCT_ID)).toMatchObject({
      ok: true,
      commands: [],
    });
  });
});

describe('Auth0 adapter', () => {
  it('maps the sdu log event and ignores the login, from a JSON array', () => {
    // Act
    const result = mapAuth0Events(sample('auth0-log-stream.json'), AUTH0_DEFAULT_DISTINCT_ID);
    // Assess
    expect(result).toEqual({
      ok: true,
      commands: [
        {
          type: 'persons.delete',
          id: 'auth0-90020261128102700000000000000000000000000000000000000002',
          time: '2026-11-28T10:27:00.000Z',
          source: 'auth0',
          data: { distinctIds: ['auth0|5f7c8ec7c33c6c004bbafe82'], reason: 'auth0_user_deleted' },
        },
      ],
      ignored: [
        {
          eventId: '90020261128102600000000000000000000000000000000000000001',
          eventType: 's',
          reason: 'not mapped',
        },
      ],
    });
  });

  it('reads the JSON lines and single-object content formats the same way', () => {
    // Prepare
    const events = sample('auth0-log-stream.json') as object[];
    const lines = events.map((event) => JSON.stringify(event)).join('\n');
    // Act
    const fromLines = mapAuth0Events(parseAuth0Body(lines), AUTH0_DEFAULT_DISTINCT_ID);
    const fromObject = mapAuth0Events(
      parseAuth0Body(JSON.stringify(events[1])),
      AUTH0_DEFAULT_DISTINCT_ID,
    );
    // Assess
    expect(fromLines).toEqual(mapAuth0Events(events, AUTH0_DEFAULT_DISTINCT_ID));
    expect(fromObject.ok && fromObject.commands.map((command) => command.id)).toEqual([
      'auth0-90020261128102700000000000000000000000000000000000000002',
    ]);
    expect(parseAuth0Body('not json\n{')).toBeUndefined();
  });
});

describe('Okta adapter', () => {
  it('maps user.lifecycle.delete.initiated to a delete of its User target, and ignores the session start', () => {
    // Act
    const result = mapOktaEvents(sample('okta-event-hook.json'), OKTA_DEFAULT_DISTINCT_ID);
    // Assess
    expect(result).toEqual({
      ok: true,
      commands: [
        {
          type: 'persons.delete',
          id: 'okta-5e2a7b7f-cc52-11f0-9c2b-1b7e3f0a2d12',
          time: '2026-11-28T10:29:00.000Z',
          source: 'okta',
          data: { distinctIds: ['00u1t7f8qzXH3j0RT0g7'], reason: 'okta_user_deleted' },
        },
      ],
      ignored: [
        {
          eventId: '4d1f6f6e-cc52-11f0-9c2b-1b7e3f0a2d11',
          eventType: 'user.session.start',
          reason: 'not mapped',
        },
      ],
    });
  });

  it('uses alternateId when configured', () => {
    const result = mapOktaEvents(sample('okta-event-hook.json'), {
      paths: ['alternateId'],
      prefix: '',
    });
    expect(result.ok && result.commands[0]?.data).toMatchObject({
      distinctIds: ['alice@example.com'],
    });
  });
});

describe('Salesforce CDC adapter (in the consumer parse step)', () => {
  it('maps the DELETE of a merge loser (MasterRecordId) to one person.merge', () => {
    // Act
    const result = parseMessage(sampleText('salesforce-cdc-merge-delete.json'));
    // Assess
    expect(result).toEqual({
      ok: true,
      envelope: 'eventbridge',
      command: {
        type: 'person.merge',
        id: 'salesforce-00065380-d1a9-a64a-9341-14f6f12f674c-1',
        time: '2025-11-28T10:30:00.000Z',
        source: 'salesforce:Contact',
        data: {
          survivorDistinctId: '0035f00000QJ8a9AAD',
          mergedDistinctIds: ['0035f00000QJ8b2AAD'],
        },
      },
    });
  });

  it('maps a plain DELETE to persons.delete of its record ids', () => {
    // Act
    const result = parseMessage(sampleText('salesforce-cdc-delete.json'));
    // Assess
    expect(result).toEqual({
      ok: true,
      envelope: 'eventbridge',
      command: {
        type: 'persons.delete',
        id: 'salesforce-0007a1b2-e3f4-b5c6-7d8e-9f0a1b2c3d4e-1',
        time: '2025-11-28T10:31:00.000Z',
        source: 'salesforce:Contact',
        data: {
          distinctIds: ['0035f00000QJ8c7AAD'],
          deleteEvents: false,
          deleteRecordings: false,
          keepPerson: false,
          reason: 'salesforce_record_deleted',
        },
      },
    });
  });

  it('refuses an UPDATE or a header without recordIds with the existing invalid_field code', () => {
    // Prepare
    const event = sample('salesforce-cdc-delete.json') as {
      detail: { payload: { ChangeEventHeader: Record<string, unknown> } };
    };
    event.detail.payload.ChangeEventHeader['changeType'] = 'UPDATE';
    const noIds = sample('salesforce-cdc-delete.json') as typeof event;
    delete noIds.detail.payload.ChangeEventHeader['recordIds'];
    // Act
    const update = parseMessage(JSON.stringify(event));
    const missing = parseMessage(JSON.stringify(noIds));
    // Assess
    expect(update).toMatchObject({
      ok: false,
      rejection: { code: 'invalid_field', path: 'detail.payload.ChangeEventHeader.changeType' },
    });
    expect(missing).toEqual({
      ok: false,
      rejection: {
        code: 'invalid_field',
        path: 'detail.payload.ChangeEventHeader.recordIds',
        reason:
          'detail.payload.ChangeEventHeader.recordIds: is required in a Salesforce change event',
      },
    });
  });

  it('leaves the plain EventBridge envelope as it was', () => {
    // Act
    const result = mapSalesforceChangeEvent({ payload: {} });
    // Assess
    expect(result.ok).toBe(false);
    expect(
      parseMessage(
        JSON.stringify({
          'detail-type': 'x',
          detail: {},
          source: 'com.example',
          id: '1',
          time: '2026-01-01T00:00:00Z',
        }),
      ),
    ).toMatchObject({
      ok: false,
      rejection: { code: 'unknown_command_type', path: 'detail-type' },
    });
  });
});

describe('command ids', () => {
  it('keeps SQS-safe upstream ids and hashes ids SQS would refuse, stably', () => {
    // Act
    const long = commandId('auth0', 'x'.repeat(200));
    // Assess
    expect(commandId('okta', 'abc')).toBe('okta-abc');
    expect(long).toMatch(/^auth0-h-[0-9a-f]{64}$/);
    expect(commandId('auth0', 'x'.repeat(200))).toBe(long);
  });
});
