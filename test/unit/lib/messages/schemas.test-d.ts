import { describe, expectTypeOf, it } from 'vitest';
import {
  type Command,
  type CommandInput,
  type CommandType,
  type MessageRejectionCode,
  type ParseResult,
  type PersonMergeCommand,
  type PersonsDeleteCommand,
  parseMessage,
} from '../../../../lib/messages/index.ts';

// The message types are inferred from the zod schemas (never written by hand): these tests fail in `npm test` when a
// schema change alters what producers may send or what the planner receives.

describe('message types inferred from the schemas', () => {
  it('discriminates commands on exactly the four command types', () => {
    expectTypeOf<Command['type']>().toEqualTypeOf<
      'persons.delete' | 'person.split' | 'person.properties.update' | 'person.merge'
    >();
    expectTypeOf<CommandType>().toEqualTypeOf<Command['type']>();
    expectTypeOf<Extract<Command, { type: 'person.merge' }>>().toEqualTypeOf<PersonMergeCommand>();
  });

  it('makes the delete flags optional for producers and always present after parsing', () => {
    type DeleteInput = Extract<CommandInput, { type: 'persons.delete' }>['data'];
    expectTypeOf<DeleteInput['deleteEvents']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<PersonsDeleteCommand['data']['deleteEvents']>().toEqualTypeOf<boolean>();
    expectTypeOf<PersonsDeleteCommand['data']['distinctIds']>().toEqualTypeOf<
      string[] | undefined
    >();
  });

  it('returns a parse result that carries a command or a rejection with one of four codes', () => {
    expectTypeOf(parseMessage).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(parseMessage).returns.toEqualTypeOf<ParseResult>();
    expectTypeOf<Extract<ParseResult, { ok: true }>['command']>().toEqualTypeOf<Command>();
    expectTypeOf<MessageRejectionCode>().toEqualTypeOf<
      'not_json' | 'unknown_envelope' | 'unknown_command_type' | 'invalid_field'
    >();
  });
});
