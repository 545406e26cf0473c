import * as z from 'zod';
import { COMMAND_SCHEMAS, CONTRACT_VERSION, type CommandType } from './schemas.ts';

/** File name of the published JSON Schema of a command type, e.g. `persons.delete.v1.json`. */
export const jsonSchemaFileName = (type: CommandType): string =>
  `${type}.v${CONTRACT_VERSION}.json`;

/**
 * The published JSON Schema (draft 2020-12) of every command, generated from the zod schemas (`npm run schemas`).
 * It describes what a producer writes (`io: 'input'`: defaulted fields are optional). Rules JSON Schema cannot
 * state — one of distinctId/uuid, one of mainDistinctId/distinctIdsToSplit, no key both set and unset, no repeats,
 * PostHog's illegal merge ids — are enforced by the zod schemas and listed in each schema's `description`.
 */
export function commandJsonSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [type, schema] of Object.entries(COMMAND_SCHEMAS) as [CommandType, z.ZodType][]) {
    out[jsonSchemaFileName(type)] = z.toJSONSchema(schema, {
      io: 'input',
      target: 'draft-2020-12',
    }) as Record<string, unknown>;
  }
  return out;
}

/** The exact text written to `schemas/<file>`: 2-space JSON with a final newline. */
export const renderJsonSchema = (schema: unknown): string => `${JSON.stringify(schema, null, 2)}\n`;
