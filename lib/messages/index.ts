/**
 * The persons-relay message contract, version 1: zod schemas (the single source of truth), the envelope parser and
 * the lane/group helpers producers and consumers share.
 */
// PostHog's own rule, kept once here: the contract enforces it for merges, and the client checks it too.
export { ILLEGAL_DISTINCT_IDS, isIllegalDistinctId } from './illegal-ids.ts';
export { describeIssue, formatPath, type JsonPath } from './issues.ts';
export { commandJsonSchemas, jsonSchemaFileName, renderJsonSchema } from './json-schema.ts';
export {
  type CommandLane,
  LANES,
  type Lane,
  laneOf,
  laneOfType,
  messageGroupIdOf,
  type PersonRef,
  personKeyOf,
  personRefOf,
} from './lanes.ts';
export {
  type Envelope,
  type MessageRejection,
  type MessageRejectionCode,
  type ParseResult,
  parseMessage,
} from './parse.ts';
export {
  COMMAND_SCHEMAS,
  COMMAND_TYPES,
  CONTRACT_VERSION,
  type Command,
  type CommandInput,
  CommandSchema,
  type CommandType,
  DistinctIdSchema,
  isCommandType,
  type JsonValue,
  LIMITS,
  type PersonMergeCommand,
  PersonMergeCommandSchema,
  PersonMergeDataSchema,
  type PersonPropertiesUpdateCommand,
  PersonPropertiesUpdateCommandSchema,
  PersonPropertiesUpdateDataSchema,
  type PersonSplitCommand,
  PersonSplitCommandSchema,
  PersonSplitDataSchema,
  type PersonsDeleteCommand,
  PersonsDeleteCommandSchema,
  PersonsDeleteDataSchema,
  PersonUuidSchema,
} from './schemas.ts';
