/**
 * Pure adapters from upstream events (Stripe, HubSpot, Clerk, Auth0, Okta, Salesforce CDC) to persons-relay
 * commands. No I/O, clock or env: signatures are checked before (lib/ingress), queues are written after.
 */
export {
  AUTH0_DEFAULT_DISTINCT_ID,
  AUTH0_USER_DELETED,
  mapAuth0Events,
  parseAuth0Body,
} from './auth0.ts';
export { CLERK_DEFAULT_DISTINCT_ID, mapClerkEvent } from './clerk.ts';
export { commandId, distinctIdOf, readPath } from './fields.ts';
export { HUBSPOT_DEFAULT_DISTINCT_ID, mapHubSpotEvents } from './hubspot.ts';
export { mapOktaEvents, OKTA_DEFAULT_DISTINCT_ID, OKTA_USER_DELETE_INITIATED } from './okta.ts';
export {
  isSalesforceChangeEvent,
  mapSalesforceChangeEvent,
  SALESFORCE_PARTNER_SOURCE_PREFIX,
  type SalesforceMapping,
} from './salesforce.ts';
export { mapStripeEvent, STRIPE_DEFAULT_DISTINCT_ID } from './stripe.ts';
export {
  type AdapterResult,
  type DistinctIdRule,
  type IgnoredEvent,
  isWebhookProvider,
  PROVIDERS,
  type Provider,
  WEBHOOK_PROVIDERS,
  type WebhookProvider,
} from './types.ts';
