import * as z from 'zod';
import { commandId, isoFromMillis } from './command-ids.ts';
import { COMMAND_TYPES, type CommandInput } from './schemas.ts';

/** The `source` prefix of every event a Salesforce event relay puts on an EventBridge partner event bus. */
export const SALESFORCE_PARTNER_SOURCE_PREFIX = 'aws.partner/salesforce.com';

// The Change Data Capture header (developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/
// change_data_capture/cdc_event_fields_header.htm): recordIds may hold several ids when Salesforce folds the
// same change of several records into one event.
const ChangeEventHeaderSchema = z.looseObject({
  entityName: z.string().min(1),
  recordIds: z
    .array(z.string().regex(/^[A-Za-z0-9]{15,18}$/, 'must be Salesforce record ids'))
    .min(1),
  changeType: z.string().min(1),
  transactionKey: z.string().min(1),
  sequenceNumber: z.number().int().nonnegative(),
  commitTimestamp: z.number().int().positive(),
});

const ChangeEventDetailSchema = z.looseObject({
  payload: z.looseObject({
    ChangeEventHeader: ChangeEventHeaderSchema,
    MasterRecordId: z.string().min(1).nullable().optional(),
  }),
});

/** Whether an EventBridge event is a Salesforce change event relayed from a partner event source. */
export function isSalesforceChangeEvent(event: Readonly<Record<string, unknown>>): boolean {
  const source = event['source'];
  const detail = event['detail'];
  return (
    typeof source === 'string' &&
    source.startsWith(SALESFORCE_PARTNER_SOURCE_PREFIX) &&
    typeof detail === 'object' &&
    detail !== null &&
    typeof (detail as { payload?: unknown }).payload === 'object'
  );
}

/** The result of {@link mapSalesforceChangeEvent}: a command, or the path (under `detail`) and reason it fails. */
export type SalesforceMapping =
  | { readonly ok: true; readonly command: CommandInput }
  | { readonly ok: false; readonly path: readonly (string | number)[]; readonly reason: string };

/**
 * Maps the `detail` of a Salesforce Change Data Capture event. A merge arrives as an UPDATE of the winning record
 * and a DELETE of the losing records whose `MasterRecordId` names the winner (the field Salesforce sets on records
 * deleted by a merge): that DELETE becomes one `person.merge` (winner survives, losers merged), and the UPDATE
 * carries nothing to do (the stack's rule does not route it). A DELETE without `MasterRecordId` becomes a
 * `persons.delete` of its record ids. The distinct id is the record id: a DELETE change event carries no other
 * field of the record. The command id is `salesforce-<transactionKey>-<sequenceNumber>`, which stays the same
 * when EventBridge or the relay delivers the event again.
 */
export function mapSalesforceChangeEvent(detail: unknown): SalesforceMapping {
  const parsed = ChangeEventDetailSchema.safeParse(detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? []).filter(
      (segment): segment is string | number => typeof segment !== 'symbol',
    );
    return {
      ok: false,
      path,
      reason:
        issue?.input === undefined
          ? 'is required in a Salesforce change event'
          : (issue?.message ?? 'is invalid'),
    };
  }
  const { ChangeEventHeader: header, MasterRecordId: master } = parsed.data.payload;
  const changeTypePath = ['payload', 'ChangeEventHeader', 'changeType'];
  if (header.changeType !== 'DELETE') {
    return {
      ok: false,
      path: changeTypePath,
      reason: `is ${JSON.stringify(header.changeType)}; only DELETE change events map to commands (route only DELETE events here)`,
    };
  }
  const base = {
    id: commandId('salesforce', header.transactionKey, header.sequenceNumber),
    time: isoFromMillis(header.commitTimestamp),
    source: `salesforce:${header.entityName}`,
  };
  if (master !== undefined && master !== null) {
    return {
      ok: true,
      command: {
        ...base,
        type: COMMAND_TYPES.merge,
        data: {
          survivorDistinctId: master,
          mergedDistinctIds: header.recordIds.filter((id) => id !== master),
        },
      },
    };
  }
  return {
    ok: true,
    command: {
      ...base,
      type: COMMAND_TYPES.delete,
      data: { distinctIds: header.recordIds, reason: 'salesforce_record_deleted' },
    },
  };
}
