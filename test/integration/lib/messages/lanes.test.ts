import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Command,
  CommandSchema,
  type CommandType,
  isIllegalDistinctId,
  laneOf,
  messageGroupIdOf,
  type PersonMergeCommand,
  type PersonSplitCommand,
  type PersonsDeleteCommand,
} from '../../../../lib/messages/index.ts';
import { deleteCommand, mergeCommand, splitCommand, UUID_A, updateCommand } from './factories.ts';

const parse = (value: unknown): Command => CommandSchema.parse(value);

describe('laneOf and messageGroupIdOf', () => {
  it.each([
    ['persons.delete', deleteCommand(), 'deletions', 'cmd-delete-1'],
    ['person.split by distinct id', splitCommand(), 'changes', 'crm-1'],
    [
      'person.split by uuid',
      splitCommand({ uuid: UUID_A, mainDistinctId: 'a' }),
      'changes',
      UUID_A,
    ],
    ['person.properties.update', updateCommand(), 'changes', 'crm-1'],
    ['person.merge (the survivor)', mergeCommand(), 'changes', 'crm-1'],
  ])('routes %s', (_name, input, lane, group) => {
    const command = parse(input);
    expect(laneOf(command)).toBe(lane);
    expect(messageGroupIdOf(command)).toBe(group);
  });

  it('hashes person keys SQS would refuse as a group id, stably', () => {
    const spaced = parse(updateCommand({ distinctId: 'user with spaces', set: { a: 1 } }));
    const long = parse(updateCommand({ distinctId: 'x'.repeat(300), set: { a: 1 } }));
    const unicode = parse(updateCommand({ distinctId: 'jürgen', set: { a: 1 } }));
    for (const command of [spaced, long, unicode]) {
      expect(messageGroupIdOf(command)).toMatch(/^h:[0-9a-f]{64}$/);
      expect(messageGroupIdOf(command)).toBe(messageGroupIdOf(structuredClone(command)));
    }
    expect(messageGroupIdOf(spaced)).not.toBe(messageGroupIdOf(unicode));
  });

  it('puts a split and an update of the same person in the same group', () => {
    expect(messageGroupIdOf(parse(splitCommand()))).toBe(messageGroupIdOf(parse(updateCommand())));
  });
});

describe('isIllegalDistinctId', () => {
  it.each([
    ['anonymous', true],
    ['ANONYMOUS', true],
    ['"guest"', true],
    ["'email'", true],
    ['None', true],
    ['NONE', false],
    ['Null', false],
    ['null', true],
    ['0', true],
    ['00', false],
    ['', true],
    ['  ', true],
    ['user-1', false],
  ])('%j → %s', (value, illegal) => {
    expect(isIllegalDistinctId(value)).toBe(illegal);
  });
});

describe('inferred types', () => {
  it('derives the command types from the schemas', () => {
    expectTypeOf<Command['type']>().toEqualTypeOf<CommandType>();
    expectTypeOf<PersonsDeleteCommand['data']['deleteEvents']>().toEqualTypeOf<boolean>();
    expectTypeOf<PersonsDeleteCommand['data']['distinctIds']>().toEqualTypeOf<
      string[] | undefined
    >();
    expectTypeOf<PersonSplitCommand['data']['distinctIdsToSplit']>().toEqualTypeOf<
      string[] | undefined
    >();
    expectTypeOf<PersonMergeCommand['data']['mergedDistinctIds']>().toEqualTypeOf<string[]>();
    expectTypeOf<Command['time']>().toEqualTypeOf<string>();
    expectTypeOf<Command['source']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<
      Extract<Command, { type: 'person.properties.update' }>['data']['unset']
    >().toEqualTypeOf<string[] | undefined>();
  });
});
