import * as z from 'zod';
import { isIllegalDistinctId } from './illegal-ids.ts';

/**
 * The command types of contract version 1. The string is what producers put in `type` (bare and CloudEvents) or
 * `detail-type` (EventBridge).
 */
export const COMMAND_TYPES = {
  delete: 'persons.delete',
  split: 'person.split',
  update: 'person.properties.update',
  merge: 'person.merge',
} as const;

/** One of the command type strings. */
export type CommandType = (typeof COMMAND_TYPES)[keyof typeof COMMAND_TYPES];

/** The only contract version so far. A bare command may say `"version": 1`; any other value is rejected. */
export const CONTRACT_VERSION = 1;

/**
 * Size bounds. Each keeps one message's work bounded and inside what SQS carries (256 KiB by default): a message that
 * grows past these is almost certainly a producer bug, and rejecting it names the problem instead of timing out.
 */
export const LIMITS = {
  /** SQS `MessageDeduplicationId` allows 128 characters; `id` is used as that key on the FIFO lane. */
  commandIdMaxLength: 128,
  sourceMaxLength: 256,
  /** PostHog stores distinct ids in a `VARCHAR(400)` column. */
  distinctIdMaxLength: 400,
  reasonMaxLength: 200,
  /**
   * distinctIds + personUuids of one delete: 10 bulk_delete calls at most per list. The message must also fit SQS's
   * 256 KiB (about 6,000 uuids); the producer checks the size and says so.
   */
  deleteMaxIds: 10_000,
  /** split takes the list in one request body; 1000 matches the largest list PostHog accepts elsewhere. */
  splitMaxIds: 1000,
  /** set + unset keys of one update: in update_property mode each key is its own rate-limited call (240/min). */
  propertyKeysMax: 100,
  propertyKeyMaxLength: 200,
  /** one capture event per merged id; a CRM merge folds a handful of records, not thousands. */
  mergeMaxIds: 100,
  /**
   * One property value, as JSON. PostHog keeps all of a person's properties in one row that every event's person
   * lookup loads; a single value past 64 KiB is a producer bug (a whole document sent as a property).
   */
  propertyValueMaxBytes: 65_536,
  /**
   * Nesting of the whole message, envelope included. Deeper JSON is refused before validation, whose recursion would
   * otherwise overflow the stack (a 100,000-deep array does).
   */
  jsonMaxDepth: 32,
} as const;

// SQS MessageDeduplicationId / MessageGroupId alphabet: printable ASCII without space.
const SQS_TOKEN = /^[\x21-\x7e]+$/;

// A pattern rather than a refinement, so the published JSON Schema refuses blank strings too (no zod/ajv drift).
const NOT_BLANK = /\S/;

/**
 * Text PostHog can store and people can read: no C0/C1 control characters (NUL included: PostgreSQL's text and jsonb
 * refuse it, so PostHog would fail the request every time it is retried), no bidirectional overrides or isolates (they
 * make one id display as another) and no lone UTF-16 surrogates (not Unicode, not encodable as UTF-8). Any other
 * Unicode, right-to-left scripts included, is fine.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const SAFE_TEXT = /^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]*$/u;
const SAFE_TEXT_ERROR =
  'must not contain control characters (NUL included), bidirectional overrides or lone surrogates';

const nonEmptyString = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(NOT_BLANK, { error: 'must be a non-empty string, not only whitespace' });

/** A PostHog distinct id: non-empty, at most 400 characters. */
export const DistinctIdSchema = nonEmptyString(LIMITS.distinctIdMaxLength)
  .regex(SAFE_TEXT, { error: SAFE_TEXT_ERROR })
  .describe(
    'A PostHog distinct id (1 to 400 characters, not only whitespace, no control or bidirectional-override characters).',
  );

/** A PostHog person UUID (any RFC 9562 version), normalised to lower case. */
export const PersonUuidSchema = z
  .uuid()
  .toLowerCase()
  .describe('A PostHog person UUID; compared and sent in lower case.');

const MergeableDistinctIdSchema = DistinctIdSchema.refine((value) => !isIllegalDistinctId(value), {
  error: (issue) =>
    `is ${JSON.stringify(issue.input)}, which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing`,
});

/**
 * Keys that would reach an object's prototype when a consumer copies properties with `obj[key] = value` (zod's own
 * record parsing silently drops `__proto__`): refused, so a property is never lost or turned into a pollution.
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const PropertyKeySchema = nonEmptyString(LIMITS.propertyKeyMaxLength)
  .regex(SAFE_TEXT, { error: SAFE_TEXT_ERROR })
  .refine((key) => !PROTOTYPE_KEYS.has(key), {
    error: (issue) =>
      `is ${JSON.stringify(issue.input)}, a prototype key that is refused (it would be dropped or pollute objects)`,
  });

/** Whether a NUL character appears in any string or object key of a JSON value (iterative: no recursion). */
function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (item.includes('\0')) return true;
    } else if (Array.isArray(item)) {
      stack.push(...item);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, inner] of Object.entries(item)) {
        if (key.includes('\0')) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}

/** A property value: any JSON up to {@link LIMITS.propertyValueMaxBytes}, with no NUL in any string. */
const PropertyValueSchema = z.json().superRefine((value, ctx) => {
  const text = JSON.stringify(value);
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > LIMITS.propertyValueMaxBytes) {
    ctx.addIssue({
      code: 'custom',
      message: `is ${bytes} bytes of JSON; a property value may be at most ${LIMITS.propertyValueMaxBytes}`,
    });
  } else if (containsNul(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'contains a NUL character (\\u0000), which PostgreSQL cannot store',
    });
  }
});

/** Metadata every command carries. */
const commandFields = {
  /** Present only in bare commands; implied by the envelope otherwise. */
  version: z.literal(CONTRACT_VERSION).optional().describe('Contract version; 1 when absent.'),
  id: z
    .string()
    .min(1)
    .max(LIMITS.commandIdMaxLength)
    .regex(SQS_TOKEN, { error: 'must use printable ASCII characters without spaces' })
    .describe(
      'Producer-assigned idempotency key (1-128 printable ASCII characters, no spaces); the FIFO MessageDeduplicationId.',
    ),
  time: z.iso
    .datetime({ offset: true })
    .describe(
      'When the change happened upstream (ISO-8601 with a time zone). Later wins per person and key.',
    ),
  source: nonEmptyString(LIMITS.sourceMaxLength)
    .optional()
    .describe('Which system sent the command, kept for logs.'),
};

/** `persons.delete` data: who to delete and what to delete with them. */
export const PersonsDeleteDataSchema = z
  .strictObject({
    distinctIds: z
      .array(DistinctIdSchema)
      .max(LIMITS.deleteMaxIds)
      .optional()
      .describe('Persons named by distinct id.'),
    personUuids: z
      .array(PersonUuidSchema)
      .max(LIMITS.deleteMaxIds)
      .optional()
      .describe('Persons named by UUID.'),
    deleteEvents: z
      .boolean()
      .default(false)
      .describe("Also queue deletion of the persons' events."),
    deleteRecordings: z.boolean().default(false).describe("Also delete the persons' recordings."),
    keepPerson: z
      .boolean()
      .default(false)
      .describe('Keep the person itself (only delete events/recordings).'),
    reason: nonEmptyString(LIMITS.reasonMaxLength)
      .optional()
      .describe('Why, for audit: e.g. account_closed, gdpr_erasure.'),
  })
  .superRefine((data, ctx) => {
    const count = (data.distinctIds?.length ?? 0) + (data.personUuids?.length ?? 0);
    if (count === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'must name at least one person in distinctIds or personUuids',
        path: [],
      });
    } else if (count > LIMITS.deleteMaxIds) {
      ctx.addIssue({
        code: 'custom',
        message: `must name at most ${LIMITS.deleteMaxIds} persons in distinctIds and personUuids together (got ${count}); split the message`,
        path: [],
      });
    }
  });

/** Naming a person: by exactly one of `distinctId` or `uuid`. */
const personRefFields = {
  distinctId: DistinctIdSchema.optional().describe('The person, by one of its distinct ids.'),
  uuid: PersonUuidSchema.optional().describe('The person, by UUID.'),
};

const requireOnePersonRef = (
  data: { distinctId?: string | undefined; uuid?: string | undefined },
  ctx: z.RefinementCtx,
) => {
  if (data.distinctId === undefined && data.uuid === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'must name the person by distinctId or uuid',
      path: [],
    });
  } else if (data.distinctId !== undefined && data.uuid !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'must name the person by distinctId or uuid, not both',
      path: [],
    });
  }
};

/** `person.split` data: undo a wrong merge, keeping one id or moving some off. */
export const PersonSplitDataSchema = z
  .strictObject({
    ...personRefFields,
    mainDistinctId: DistinctIdSchema.optional().describe(
      'Keep this id on the person and move every other id to its own new person.',
    ),
    distinctIdsToSplit: z
      .array(DistinctIdSchema)
      .min(1)
      .max(LIMITS.splitMaxIds)
      .optional()
      .describe('Move only these ids off, each to its own new person.'),
  })
  .superRefine((data, ctx) => {
    requireOnePersonRef(data, ctx);
    if (data.mainDistinctId === undefined && data.distinctIdsToSplit === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'must give mainDistinctId or distinctIdsToSplit',
        path: [],
      });
    } else if (data.mainDistinctId !== undefined && data.distinctIdsToSplit !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must give mainDistinctId or distinctIdsToSplit, not both (PostHog refuses the combination)',
        path: [],
      });
    }
    const seen = new Set<string>();
    data.distinctIdsToSplit?.forEach((id, index) => {
      if (seen.has(id)) {
        ctx.addIssue({
          code: 'custom',
          message: `repeats ${JSON.stringify(id)}`,
          path: ['distinctIdsToSplit', index],
        });
      }
      seen.add(id);
    });
  });

/** `person.properties.update` data: set and/or unset person properties. */
export const PersonPropertiesUpdateDataSchema = z
  .strictObject({
    ...personRefFields,
    set: z
      .record(PropertyKeySchema, PropertyValueSchema)
      .optional()
      .describe('Properties to set: key to any JSON value (null included).'),
    unset: z.array(PropertyKeySchema).optional().describe('Property keys to remove.'),
  })
  .superRefine((data, ctx) => {
    requireOnePersonRef(data, ctx);
    const setKeys = Object.keys(data.set ?? {});
    const unsetKeys = data.unset ?? [];
    if (setKeys.length + unsetKeys.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'must set or unset at least one property',
        path: [],
      });
      return;
    }
    if (setKeys.length + unsetKeys.length > LIMITS.propertyKeysMax) {
      ctx.addIssue({
        code: 'custom',
        message: `must change at most ${LIMITS.propertyKeysMax} properties in set and unset together (got ${setKeys.length + unsetKeys.length})`,
        path: [],
      });
      return;
    }
    const setKeySet = new Set(setKeys);
    const seen = new Set<string>();
    unsetKeys.forEach((key, index) => {
      if (setKeySet.has(key)) {
        ctx.addIssue({
          code: 'custom',
          message: `names ${JSON.stringify(key)}, which set also names; a key is either set or unset`,
          path: ['unset', index],
        });
      } else if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          message: `repeats ${JSON.stringify(key)}`,
          path: ['unset', index],
        });
      }
      seen.add(key);
    });
  });

/** `person.merge` data: fold the persons of `mergedDistinctIds` into the survivor's person. */
export const PersonMergeDataSchema = z
  .strictObject({
    survivorDistinctId: MergeableDistinctIdSchema.describe(
      'The distinct id whose person survives (wins property conflicts).',
    ),
    mergedDistinctIds: z
      .array(MergeableDistinctIdSchema)
      .min(1)
      .max(LIMITS.mergeMaxIds)
      .describe('Distinct ids whose persons are merged into the survivor and then deleted.'),
  })
  .superRefine((data, ctx) => {
    const seen = new Set<string>();
    data.mergedDistinctIds.forEach((id, index) => {
      if (id === data.survivorDistinctId) {
        ctx.addIssue({
          code: 'custom',
          message: 'is the survivorDistinctId; a person cannot be merged into itself',
          path: ['mergedDistinctIds', index],
        });
      } else if (seen.has(id)) {
        ctx.addIssue({
          code: 'custom',
          message: `repeats ${JSON.stringify(id)}`,
          path: ['mergedDistinctIds', index],
        });
      }
      seen.add(id);
    });
  });

/** `persons.delete`: delete persons (and optionally their events and recordings). Deletions lane. */
export const PersonsDeleteCommandSchema = z
  .strictObject({
    type: z.literal(COMMAND_TYPES.delete),
    ...commandFields,
    data: PersonsDeleteDataSchema,
  })
  .meta({
    title: 'persons.delete',
    description:
      'Delete persons. Version 1. At least one id in data.distinctIds or data.personUuids, at most 10000 together.',
  });

/** `person.split`: split distinct ids off a person. Changes lane. */
export const PersonSplitCommandSchema = z
  .strictObject({
    type: z.literal(COMMAND_TYPES.split),
    ...commandFields,
    data: PersonSplitDataSchema,
  })
  .meta({
    title: 'person.split',
    description:
      'Split a person. Version 1. Exactly one of data.distinctId / data.uuid, and exactly one of data.mainDistinctId / data.distinctIdsToSplit.',
  });

/** `person.properties.update`: set/unset person properties. Changes lane. */
export const PersonPropertiesUpdateCommandSchema = z
  .strictObject({
    type: z.literal(COMMAND_TYPES.update),
    ...commandFields,
    data: PersonPropertiesUpdateDataSchema,
  })
  .meta({
    title: 'person.properties.update',
    description:
      'Set and/or unset person properties. Version 1. Exactly one of data.distinctId / data.uuid; at least one key; a key is not both set and unset.',
  });

/** `person.merge`: merge persons via capture `$merge_dangerously`. Changes lane. */
export const PersonMergeCommandSchema = z
  .strictObject({
    type: z.literal(COMMAND_TYPES.merge),
    ...commandFields,
    data: PersonMergeDataSchema,
  })
  .meta({
    title: 'person.merge',
    description:
      'Merge persons into the survivor. Version 1. Distinct ids PostHog refuses to merge (anonymous, null, 0, ...) are rejected.',
  });

/** Every version-1 command, discriminated on `type`. */
export const CommandSchema = z.discriminatedUnion('type', [
  PersonsDeleteCommandSchema,
  PersonSplitCommandSchema,
  PersonPropertiesUpdateCommandSchema,
  PersonMergeCommandSchema,
]);

/** The schema of each command type. */
export const COMMAND_SCHEMAS = {
  [COMMAND_TYPES.delete]: PersonsDeleteCommandSchema,
  [COMMAND_TYPES.split]: PersonSplitCommandSchema,
  [COMMAND_TYPES.update]: PersonPropertiesUpdateCommandSchema,
  [COMMAND_TYPES.merge]: PersonMergeCommandSchema,
} as const;

/** A validated command (defaults applied, UUIDs lower-cased). */
export type Command = z.output<typeof CommandSchema>;
/** A command as a producer writes it (defaults optional). */
export type CommandInput = z.input<typeof CommandSchema>;
/** A validated `persons.delete`. */
export type PersonsDeleteCommand = z.output<typeof PersonsDeleteCommandSchema>;
/** A validated `person.split`. */
export type PersonSplitCommand = z.output<typeof PersonSplitCommandSchema>;
/** A validated `person.properties.update`. */
export type PersonPropertiesUpdateCommand = z.output<typeof PersonPropertiesUpdateCommandSchema>;
/** A validated `person.merge`. */
export type PersonMergeCommand = z.output<typeof PersonMergeCommandSchema>;
/** Any JSON value, as a property value (the client's type: what the contract accepts is what it sends). */
export type { JsonValue } from './json.ts';

/** Whether `value` is one of the version-1 command types. */
export function isCommandType(value: unknown): value is CommandType {
  return typeof value === 'string' && Object.values(COMMAND_TYPES).some((type) => type === value);
}
