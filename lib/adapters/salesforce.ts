/**
 * Salesforce Change Data Capture events arrive through an EventBridge partner event source, not a webhook, so the
 * consumers' message parser maps them: the mapping is part of the message contract (lib/messages/salesforce-cdc.ts).
 */
export {
  isSalesforceChangeEvent,
  mapSalesforceChangeEvent,
  SALESFORCE_PARTNER_SOURCE_PREFIX,
  type SalesforceMapping,
} from '../messages/salesforce-cdc.ts';
