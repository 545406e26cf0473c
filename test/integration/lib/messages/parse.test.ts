import { describe, expect, it } from 'vitest';
import { type MessageRejectionCode, parseMessage } from '../../../../lib/messages/index.ts';
import {
  cloudEvent,
  deleteCommand,
  eventBridge,
  type Json,
  mergeCommand,
  sns,
  splitCommand,
  TIME,
  UUID_A,
  updateCommand,
} from './factories.ts';

const body = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

describe('parseMessage: valid commands in every envelope', () => {
  const commands = [
    ['persons.delete', deleteCommand({ distinctIds: ['user-1'], personUuids: [UUID_A] })],
    ['person.split', splitCommand()],
    [
      'person.split by uuid with mainDistinctId',
      splitCommand({ uuid: UUID_A, mainDistinctId: 'crm-1' }),
    ],
    [
      'person.properties.update',
      updateCommand({ distinctId: 'crm-1', set: { plan: 'pro', seats: 3, tags: ['a'], x: null } }),
    ],
    [
      'person.properties.update unset by uuid',
      updateCommand({ uuid: UUID_A, unset: ['legacy_plan'] }),
    ],
    [
      'person.merge',
      mergeCommand({ survivorDistinctId: 'crm-1', mergedDistinctIds: ['crm-2', 'crm-3'] }),
    ],
  ] as const;
  const envelopes = [
    ['bare', (c: Json) => c],
    ['eventbridge', eventBridge],
    ['sns', (c: Json) => sns(c)],
    ['cloudevents', cloudEvent],
  ] as const;

  for (const [name, command] of commands) {
    for (const [envelope, wrap] of envelopes) {
      it(`accepts ${name} as ${envelope}`, () => {
        // Act
        const result = parseMessage(body(wrap(command)));

        // Assess
        expect(result).toMatchObject({ ok: true, envelope });
        if (!result.ok) return;
        expect(result.command.type).toBe(command.type);
        expect(result.command.id).toBe(command.id);
        expect(result.command.time).toBe(TIME);
        expect(result.command.data).toMatchObject(command.data as object);
      });
    }
  }

  it('applies the delete flag defaults and lower-cases uuids', () => {
    const result = parseMessage(body(deleteCommand({ personUuids: [UUID_A.toUpperCase()] })));
    expect(result).toEqual({
      ok: true,
      envelope: 'bare',
      command: {
        type: 'persons.delete',
        id: 'cmd-delete-1',
        time: TIME,
        data: {
          personUuids: [UUID_A],
          deleteEvents: false,
          deleteRecordings: false,
          keepPerson: false,
        },
      },
    });
  });

  it('takes id, time and source from the EventBridge event', () => {
    const result = parseMessage(
      body(eventBridge(mergeCommand(), { id: 'eb-1', source: 'crm.sync' })),
    );
    expect(result.ok && result.command).toMatchObject({
      id: 'eb-1',
      source: 'crm.sync',
      time: TIME,
    });
  });

  it('accepts SNS carrying an EventBridge event and SNS inside SNS', () => {
    expect(parseMessage(body(sns(eventBridge(updateCommand()))))).toMatchObject({
      ok: true,
      envelope: 'sns',
    });
    expect(parseMessage(body(sns(sns(updateCommand()))))).toMatchObject({
      ok: true,
      envelope: 'sns',
    });
  });

  it('accepts version 1 and the offset form of time on bare commands', () => {
    const result = parseMessage(
      body(updateCommand(undefined, { version: 1, time: '2026-11-28T22:00:00.123+01:00' })),
    );
    expect(result.ok).toBe(true);
  });

  it('accepts a CloudEvent whose JSON data comes as data_base64', () => {
    // Prepare
    const command = updateCommand({ distinctId: 'crm-1', set: { plan: 'pro', note: 'naïve ✓' } });
    const event = cloudEvent(command, {
      data: undefined,
      data_base64: Buffer.from(JSON.stringify(command.data)).toString('base64'),
    });

    // Act
    const result = parseMessage(body(event));

    // Assess
    expect(result).toMatchObject({
      ok: true,
      envelope: 'cloudevents',
      command: { data: command.data },
    });
  });

  it('accepts a CloudEvent without datacontenttype and with a +json type', () => {
    const plain = cloudEvent(mergeCommand());
    delete plain.datacontenttype;
    expect(parseMessage(body(plain)).ok).toBe(true);
    expect(
      parseMessage(
        body(cloudEvent(mergeCommand(), { datacontenttype: 'application/cloudevents+json' })),
      ).ok,
    ).toBe(true);
  });
});

type Case = [
  name: string,
  input: unknown,
  code: MessageRejectionCode,
  path: string,
  reason: string,
];

const long = (n: number) => 'x'.repeat(n);
const ids = (n: number, prefix = 'id') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const invalid: Case[] = [
  // Not JSON / unknown envelope
  ['text', 'hello', 'not_json', '', 'The message body is not valid JSON'],
  ['empty body', '', 'not_json', '', 'The message body is empty, not JSON'],
  ['whitespace body', '   ', 'not_json', '', 'The message body is empty, not JSON'],
  [
    'truncated JSON',
    '{"type":"persons.delete",',
    'not_json',
    '',
    'The message body is not valid JSON',
  ],
  [
    'array',
    '[]',
    'unknown_envelope',
    '',
    'The message must be a JSON object (a command or a supported envelope), not an array',
  ],
  [
    'null',
    'null',
    'unknown_envelope',
    '',
    'The message must be a JSON object (a command or a supported envelope), not null',
  ],
  [
    'number',
    '42',
    'unknown_envelope',
    '',
    'The message must be a JSON object (a command or a supported envelope), not a number',
  ],
  [
    'string',
    '"persons.delete"',
    'unknown_envelope',
    '',
    'The message must be a JSON object (a command or a supported envelope), not a string',
  ],
  [
    'empty object',
    {},
    'unknown_envelope',
    '',
    'The message is not a command (type, id, time, data), an EventBridge event, an SNS notification or a CloudEvent',
  ],
  [
    'unrelated object',
    { hello: 'world' },
    'unknown_envelope',
    '',
    'The message is not a command (type, id, time, data), an EventBridge event, an SNS notification or a CloudEvent',
  ],
  // SNS
  [
    'SNS subscription confirmation',
    sns(updateCommand(), { Type: 'SubscriptionConfirmation' }),
    'unknown_envelope',
    'Type',
    'Type: is "SubscriptionConfirmation"; only SNS "Notification" messages carry commands (confirm subscriptions out of band)',
  ],
  [
    'SNS Message not a string',
    { ...sns(updateCommand()), Message: { type: 'x' } },
    'invalid_field',
    'Message',
    'Message: must be a string holding the JSON command (SNS without raw message delivery)',
  ],
  [
    'SNS Message not JSON',
    sns('not json'),
    'not_json',
    'Message',
    'Message: the SNS Message is not valid JSON',
  ],
  [
    'SNS Message empty',
    sns(''),
    'not_json',
    'Message',
    'Message: the SNS Message is empty, not JSON',
  ],
  [
    'SNS Message an array',
    sns('[1]'),
    'unknown_envelope',
    'Message',
    'Message: must be a JSON object (a command or a supported envelope), not an array',
  ],
  [
    'SNS nested three deep',
    sns(sns(sns(updateCommand()))),
    'unknown_envelope',
    'Message.Message.Message',
    'Message.Message.Message: nests envelopes too deeply',
  ],
  [
    'SNS carrying an invalid field',
    sns(updateCommand({ distinctId: '', set: { a: 1 } })),
    'invalid_field',
    'Message.data.distinctId',
    'Message.data.distinctId: must be a non-empty string',
  ],
  [
    'SNS carrying an unknown type',
    sns({ type: 'person.create', id: 'a', time: TIME, data: {} }),
    'unknown_command_type',
    'Message.type',
    'Message.type: "person.create" is not a known command type (expected one of persons.delete, person.split, person.properties.update, person.merge)',
  ],
  // CloudEvents
  [
    'CloudEvents 0.3',
    cloudEvent(updateCommand(), { specversion: '0.3' }),
    'unknown_envelope',
    'specversion',
    'specversion: is "0.3"; only CloudEvents "1.0" is supported',
  ],
  [
    'CloudEvents with both data and data_base64',
    cloudEvent(updateCommand(), { data_base64: 'e30=' }),
    'invalid_field',
    'data_base64',
    'data_base64: cannot be combined with data (CloudEvents allows one of them)',
  ],
  [
    'CloudEvents data_base64 not base64',
    cloudEvent(updateCommand(), { data: undefined, data_base64: 'not base64!' }),
    'invalid_field',
    'data_base64',
    'data_base64: must be a base64 string holding the JSON command data',
  ],
  [
    'CloudEvents data_base64 a number',
    cloudEvent(updateCommand(), { data: undefined, data_base64: 42 }),
    'invalid_field',
    'data_base64',
    'data_base64: must be a base64 string holding the JSON command data',
  ],
  [
    'CloudEvents data_base64 not JSON',
    cloudEvent(updateCommand(), {
      data: undefined,
      data_base64: Buffer.from('plan=pro').toString('base64'),
    }),
    'not_json',
    'data_base64',
    'data_base64: the decoded data_base64 is not valid JSON',
  ],
  [
    'CloudEvents data_base64 with an invalid field',
    cloudEvent(updateCommand(), {
      data: undefined,
      data_base64: Buffer.from(JSON.stringify({ distinctId: '', set: { a: 1 } })).toString(
        'base64',
      ),
    }),
    'invalid_field',
    'data_base64.distinctId',
    'data_base64.distinctId: must be a non-empty string',
  ],
  [
    'CloudEvents text data',
    cloudEvent(updateCommand(), { datacontenttype: 'text/plain' }),
    'invalid_field',
    'datacontenttype',
    'datacontenttype: is "text/plain"; the data must be JSON (application/json)',
  ],
  [
    'CloudEvents without type',
    cloudEvent(updateCommand(), { type: undefined }),
    'invalid_field',
    'type',
    'type: is required (the command type)',
  ],
  [
    'CloudEvents unknown type',
    cloudEvent(updateCommand(), { type: 'com.example.person.updated' }),
    'unknown_command_type',
    'type',
    'type: "com.example.person.updated" is not a known command type (expected one of persons.delete, person.split, person.properties.update, person.merge)',
  ],
  [
    'CloudEvents without source',
    cloudEvent(updateCommand(), { source: undefined }),
    'invalid_field',
    'source',
    'source: is required by CloudEvents 1.0',
  ],
  [
    'CloudEvents without time',
    cloudEvent(updateCommand(), { time: undefined }),
    'invalid_field',
    'time',
    'time: is required',
  ],
  [
    'CloudEvents without id',
    cloudEvent(updateCommand(), { id: undefined }),
    'invalid_field',
    'id',
    'id: is required',
  ],
  [
    'CloudEvents without data',
    cloudEvent(updateCommand(), { data: undefined }),
    'invalid_field',
    'data',
    'data: is required',
  ],
  [
    'CloudEvents data a string',
    cloudEvent(updateCommand(), { data: '{"distinctId":"a"}' }),
    'invalid_field',
    'data',
    'data: must be an object, not a string',
  ],
  // EventBridge
  [
    'EventBridge without detail-type',
    eventBridge(updateCommand(), { 'detail-type': undefined }),
    'invalid_field',
    'detail-type',
    'detail-type: is required (the command type)',
  ],
  [
    'EventBridge unknown detail-type',
    eventBridge(updateCommand(), { 'detail-type': 'Person Updated' }),
    'unknown_command_type',
    'detail-type',
    'detail-type: "Person Updated" is not a known command type (expected one of persons.delete, person.split, person.properties.update, person.merge)',
  ],
  [
    'EventBridge invalid detail field',
    eventBridge(deleteCommand({ distinctIds: [7] })),
    'invalid_field',
    'detail.distinctIds[0]',
    'detail.distinctIds[0]: must be a string, not a number',
  ],
  [
    'EventBridge detail not an object',
    eventBridge(updateCommand(), { detail: 'x' }),
    'invalid_field',
    'detail',
    'detail: must be an object, not a string',
  ],
  [
    'EventBridge without time',
    eventBridge(updateCommand(), { time: undefined }),
    'invalid_field',
    'time',
    'time: is required',
  ],
  [
    'EventBridge unknown detail field',
    eventBridge(mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['b'], reason: 'x' })),
    'invalid_field',
    'detail.reason',
    'detail.reason: is not a field of this command (check the spelling; unknown fields are refused)',
  ],
  // Bare: type and metadata
  [
    'unknown command type',
    { type: 'person.create', id: 'a', time: TIME, data: {} },
    'unknown_command_type',
    'type',
    'type: "person.create" is not a known command type (expected one of persons.delete, person.split, person.properties.update, person.merge)',
  ],
  [
    'type not a string',
    { type: 3, id: 'a', time: TIME, data: {} },
    'invalid_field',
    'type',
    'type: must be a string naming the command type (persons.delete, person.split, person.properties.update, person.merge)',
  ],
  [
    'type missing',
    { id: 'a', time: TIME, data: {} },
    'invalid_field',
    'type',
    'type: is required (one of persons.delete, person.split, person.properties.update, person.merge)',
  ],
  [
    'version 2',
    updateCommand(undefined, { version: 2 }),
    'invalid_field',
    'version',
    'version: must be 1',
  ],
  [
    'unknown top-level field',
    updateCommand(undefined, { correlationId: 'c' }),
    'invalid_field',
    'correlationId',
    'correlationId: is not a field of this command (check the spelling; unknown fields are refused)',
  ],
  [
    'id missing',
    updateCommand(undefined, { id: undefined }),
    'invalid_field',
    'id',
    'id: is required',
  ],
  [
    'id empty',
    updateCommand(undefined, { id: '' }),
    'invalid_field',
    'id',
    'id: must be a non-empty string',
  ],
  [
    'id with a space',
    updateCommand(undefined, { id: 'order 1' }),
    'invalid_field',
    'id',
    'id: must use printable ASCII characters without spaces',
  ],
  [
    'id non-ASCII',
    updateCommand(undefined, { id: 'größe' }),
    'invalid_field',
    'id',
    'id: must use printable ASCII characters without spaces',
  ],
  [
    'id too long',
    updateCommand(undefined, { id: long(129) }),
    'invalid_field',
    'id',
    'id: must be at most 128 characters',
  ],
  [
    'id a number',
    updateCommand(undefined, { id: 42 }),
    'invalid_field',
    'id',
    'id: must be a string, not a number',
  ],
  [
    'time not a date',
    updateCommand(undefined, { time: 'yesterday' }),
    'invalid_field',
    'time',
    'time: must be an ISO-8601 date-time with a time zone, like 2026-11-28T21:00:00Z',
  ],
  [
    'time without zone',
    updateCommand(undefined, { time: '2026-11-28T21:00:00' }),
    'invalid_field',
    'time',
    'time: must be an ISO-8601 date-time with a time zone, like 2026-11-28T21:00:00Z',
  ],
  [
    'time a date only',
    updateCommand(undefined, { time: '2026-11-28' }),
    'invalid_field',
    'time',
    'time: must be an ISO-8601 date-time with a time zone, like 2026-11-28T21:00:00Z',
  ],
  [
    'time epoch millis',
    updateCommand(undefined, { time: 1764363600000 }),
    'invalid_field',
    'time',
    'time: must be a string, not a number',
  ],
  [
    'source empty',
    updateCommand(undefined, { source: '' }),
    'invalid_field',
    'source',
    'source: must be a non-empty string',
  ],
  [
    'source only whitespace',
    updateCommand(undefined, { source: '  ' }),
    'invalid_field',
    'source',
    'source: must be a non-empty string, not only whitespace',
  ],
  [
    'data missing',
    updateCommand(undefined, { data: undefined }),
    'invalid_field',
    'data',
    'data: is required',
  ],
  [
    'data an array',
    updateCommand([] as unknown as Json),
    'invalid_field',
    'data',
    'data: must be an object, not an array',
  ],
  // persons.delete
  [
    'delete naming nobody',
    deleteCommand({}),
    'invalid_field',
    'data',
    'data: must name at least one person in distinctIds or personUuids',
  ],
  [
    'delete with empty lists',
    deleteCommand({ distinctIds: [], personUuids: [] }),
    'invalid_field',
    'data',
    'data: must name at least one person in distinctIds or personUuids',
  ],
  [
    'delete distinctIds a string',
    deleteCommand({ distinctIds: 'user-1' }),
    'invalid_field',
    'data.distinctIds',
    'data.distinctIds: must be an array, not a string',
  ],
  [
    'delete empty distinct id',
    deleteCommand({ distinctIds: ['a', 'b', ''] }),
    'invalid_field',
    'data.distinctIds[2]',
    'data.distinctIds[2]: must be a non-empty string',
  ],
  [
    'delete numeric distinct id',
    deleteCommand({ distinctIds: [12] }),
    'invalid_field',
    'data.distinctIds[0]',
    'data.distinctIds[0]: must be a string, not a number',
  ],
  [
    'delete null distinct id',
    deleteCommand({ distinctIds: [null] }),
    'invalid_field',
    'data.distinctIds[0]',
    'data.distinctIds[0]: must be a string, not null',
  ],
  [
    'delete blank distinct id',
    deleteCommand({ distinctIds: [' \t'] }),
    'invalid_field',
    'data.distinctIds[0]',
    'data.distinctIds[0]: must be a non-empty string, not only whitespace',
  ],
  [
    'delete distinct id too long',
    deleteCommand({ distinctIds: [long(401)] }),
    'invalid_field',
    'data.distinctIds[0]',
    'data.distinctIds[0]: must be at most 400 characters',
  ],
  [
    'delete bad uuid',
    deleteCommand({ personUuids: [UUID_A, 'not-a-uuid'] }),
    'invalid_field',
    'data.personUuids[1]',
    'data.personUuids[1]: must be a UUID like 0190a3c2-5b7e-7cde-8f01-23456789abcd',
  ],
  [
    'delete person id number',
    deleteCommand({ personUuids: [123] }),
    'invalid_field',
    'data.personUuids[0]',
    'data.personUuids[0]: must be a string, not a number',
  ],
  [
    'delete flag as string',
    deleteCommand({ distinctIds: ['a'], deleteEvents: 'true' }),
    'invalid_field',
    'data.deleteEvents',
    'data.deleteEvents: must be a boolean (true or false), not a string',
  ],
  [
    'delete flag as number',
    deleteCommand({ distinctIds: ['a'], keepPerson: 1 }),
    'invalid_field',
    'data.keepPerson',
    'data.keepPerson: must be a boolean (true or false), not a number',
  ],
  [
    'delete recordings null',
    deleteCommand({ distinctIds: ['a'], deleteRecordings: null }),
    'invalid_field',
    'data.deleteRecordings',
    'data.deleteRecordings: must be a boolean (true or false), not null',
  ],
  [
    'delete snake_case flag',
    deleteCommand({ distinctIds: ['a'], delete_events: true }),
    'invalid_field',
    'data.delete_events',
    'data.delete_events: is not a field of this command (check the spelling; unknown fields are refused)',
  ],
  [
    'delete empty reason',
    deleteCommand({ distinctIds: ['a'], reason: '' }),
    'invalid_field',
    'data.reason',
    'data.reason: must be a non-empty string',
  ],
  [
    'delete reason too long',
    deleteCommand({ distinctIds: ['a'], reason: long(201) }),
    'invalid_field',
    'data.reason',
    'data.reason: must be at most 200 characters',
  ],
  [
    'delete too many distinct ids',
    deleteCommand({ distinctIds: ids(10_001) }),
    'invalid_field',
    'data.distinctIds',
    'data.distinctIds: must have at most 10000 items',
  ],
  [
    'delete too many ids together',
    deleteCommand({
      distinctIds: ids(6000),
      personUuids: Array.from({ length: 4001 }, () => UUID_A),
    }),
    'invalid_field',
    'data',
    'data: must name at most 10000 persons in distinctIds and personUuids together (got 10001); split the message',
  ],
  // person.split
  [
    'split without a person',
    splitCommand({ distinctIdsToSplit: ['a'] }),
    'invalid_field',
    'data',
    'data: must name the person by distinctId or uuid',
  ],
  [
    'split naming the person twice',
    splitCommand({ distinctId: 'a', uuid: UUID_A, mainDistinctId: 'a' }),
    'invalid_field',
    'data',
    'data: must name the person by distinctId or uuid, not both',
  ],
  [
    'split without what to split',
    splitCommand({ distinctId: 'a' }),
    'invalid_field',
    'data',
    'data: must give mainDistinctId or distinctIdsToSplit',
  ],
  [
    'split with both modes',
    splitCommand({ distinctId: 'a', mainDistinctId: 'a', distinctIdsToSplit: ['b'] }),
    'invalid_field',
    'data',
    'data: must give mainDistinctId or distinctIdsToSplit, not both (PostHog refuses the combination)',
  ],
  [
    'split empty list',
    splitCommand({ distinctId: 'a', distinctIdsToSplit: [] }),
    'invalid_field',
    'data.distinctIdsToSplit',
    'data.distinctIdsToSplit: must have at least 1 item',
  ],
  [
    'split repeated id',
    splitCommand({ distinctId: 'a', distinctIdsToSplit: ['b', 'b'] }),
    'invalid_field',
    'data.distinctIdsToSplit[1]',
    'data.distinctIdsToSplit[1]: repeats "b"',
  ],
  [
    'split bad uuid',
    splitCommand({ uuid: 'person-1', mainDistinctId: 'a' }),
    'invalid_field',
    'data.uuid',
    'data.uuid: must be a UUID like 0190a3c2-5b7e-7cde-8f01-23456789abcd',
  ],
  [
    'split empty mainDistinctId',
    splitCommand({ distinctId: 'a', mainDistinctId: '' }),
    'invalid_field',
    'data.mainDistinctId',
    'data.mainDistinctId: must be a non-empty string',
  ],
  [
    'split list of numbers',
    splitCommand({ distinctId: 'a', distinctIdsToSplit: [1, 2] }),
    'invalid_field',
    'data.distinctIdsToSplit[0]',
    'data.distinctIdsToSplit[0]: must be a string, not a number',
  ],
  [
    'split too many ids',
    splitCommand({ distinctId: 'a', distinctIdsToSplit: ids(1001) }),
    'invalid_field',
    'data.distinctIdsToSplit',
    'data.distinctIdsToSplit: must have at most 1000 items',
  ],
  [
    'split snake_case field',
    splitCommand({ distinctId: 'a', main_distinct_id: 'a' }),
    'invalid_field',
    'data.main_distinct_id',
    'data.main_distinct_id: is not a field of this command (check the spelling; unknown fields are refused)',
  ],
  // person.properties.update
  [
    'update changing nothing',
    updateCommand({ distinctId: 'a' }),
    'invalid_field',
    'data',
    'data: must set or unset at least one property',
  ],
  [
    'update with empty set and unset',
    updateCommand({ distinctId: 'a', set: {}, unset: [] }),
    'invalid_field',
    'data',
    'data: must set or unset at least one property',
  ],
  [
    'update without a person',
    updateCommand({ set: { a: 1 } }),
    'invalid_field',
    'data',
    'data: must name the person by distinctId or uuid',
  ],
  [
    'update naming the person twice',
    updateCommand({ distinctId: 'a', uuid: UUID_A, set: { a: 1 } }),
    'invalid_field',
    'data',
    'data: must name the person by distinctId or uuid, not both',
  ],
  [
    'update set an array',
    updateCommand({ distinctId: 'a', set: [['plan', 'pro']] }),
    'invalid_field',
    'data.set',
    'data.set: must be an object, not an array',
  ],
  [
    'update unset a string',
    updateCommand({ distinctId: 'a', unset: 'plan' }),
    'invalid_field',
    'data.unset',
    'data.unset: must be an array, not a string',
  ],
  [
    'update empty unset key',
    updateCommand({ distinctId: 'a', unset: ['plan', ''] }),
    'invalid_field',
    'data.unset[1]',
    'data.unset[1]: must be a non-empty string',
  ],
  [
    'update key set and unset',
    updateCommand({ distinctId: 'a', set: { plan: 'pro' }, unset: ['plan'] }),
    'invalid_field',
    'data.unset[0]',
    'data.unset[0]: names "plan", which set also names; a key is either set or unset',
  ],
  [
    'update repeated unset key',
    updateCommand({ distinctId: 'a', unset: ['plan', 'plan'] }),
    'invalid_field',
    'data.unset[1]',
    'data.unset[1]: repeats "plan"',
  ],
  [
    'update empty set key',
    updateCommand({ distinctId: 'a', set: { '': 1 } }),
    'invalid_field',
    'data.set[""]',
    'data.set[""]: has an invalid property key (keys must be 1 to 200 characters)',
  ],
  [
    'update set key too long',
    updateCommand({ distinctId: 'a', set: { [long(201)]: 1 } }),
    'invalid_field',
    `data.set.${long(201)}`,
    `data.set.${long(201)}: has an invalid property key (keys must be 1 to 200 characters)`,
  ],
  [
    'update too many keys',
    updateCommand({
      distinctId: 'a',
      set: Object.fromEntries(ids(60).map((k) => [k, 1])),
      unset: ids(41, 'u'),
    }),
    'invalid_field',
    'data',
    'data: must change at most 100 properties in set and unset together (got 101)',
  ],
  [
    'update empty distinct id',
    updateCommand({ distinctId: '', set: { a: 1 } }),
    'invalid_field',
    'data.distinctId',
    'data.distinctId: must be a non-empty string',
  ],
  [
    'update uuid a number',
    updateCommand({ uuid: 5, set: { a: 1 } }),
    'invalid_field',
    'data.uuid',
    'data.uuid: must be a string, not a number',
  ],
  [
    'update legacy properties field',
    updateCommand({ distinctId: 'a', properties: { a: 1 } }),
    'invalid_field',
    'data.properties',
    'data.properties: is not a field of this command (check the spelling; unknown fields are refused)',
  ],
  // person.merge
  [
    'merge anonymous survivor',
    mergeCommand({ survivorDistinctId: 'anonymous', mergedDistinctIds: ['b'] }),
    'invalid_field',
    'data.survivorDistinctId',
    'data.survivorDistinctId: is "anonymous", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge null merged id',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['b', 'null'] }),
    'invalid_field',
    'data.mergedDistinctIds[1]',
    'data.mergedDistinctIds[1]: is "null", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge quoted guest',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ["'Guest'"] }),
    'invalid_field',
    'data.mergedDistinctIds[0]',
    'data.mergedDistinctIds[0]: is "\'Guest\'", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge double-quoted undefined',
    mergeCommand({ survivorDistinctId: '"UNDEFINED"', mergedDistinctIds: ['b'] }),
    'invalid_field',
    'data.survivorDistinctId',
    'data.survivorDistinctId: is "\\"UNDEFINED\\"", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge zero',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['0'] }),
    'invalid_field',
    'data.mergedDistinctIds[0]',
    'data.mergedDistinctIds[0]: is "0", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge [object Object]',
    mergeCommand({ survivorDistinctId: '[object Object]', mergedDistinctIds: ['b'] }),
    'invalid_field',
    'data.survivorDistinctId',
    'data.survivorDistinctId: is "[object Object]", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge distinct_id literal',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['Distinct_ID'] }),
    'invalid_field',
    'data.mergedDistinctIds[0]',
    'data.mergedDistinctIds[0]: is "Distinct_ID", which PostHog refuses to merge (an illegal distinct id), so the merge would silently do nothing',
  ],
  [
    'merge blank survivor',
    mergeCommand({ survivorDistinctId: '   ', mergedDistinctIds: ['b'] }),
    'invalid_field',
    'data.survivorDistinctId',
    'data.survivorDistinctId: must be a non-empty string, not only whitespace',
  ],
  [
    'merge into itself',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['b', 'a'] }),
    'invalid_field',
    'data.mergedDistinctIds[1]',
    'data.mergedDistinctIds[1]: is the survivorDistinctId; a person cannot be merged into itself',
  ],
  [
    'merge repeated id',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ['b', 'c', 'b'] }),
    'invalid_field',
    'data.mergedDistinctIds[2]',
    'data.mergedDistinctIds[2]: repeats "b"',
  ],
  [
    'merge nothing',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: [] }),
    'invalid_field',
    'data.mergedDistinctIds',
    'data.mergedDistinctIds: must have at least 1 item',
  ],
  [
    'merge too many',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: ids(101) }),
    'invalid_field',
    'data.mergedDistinctIds',
    'data.mergedDistinctIds: must have at most 100 items',
  ],
  [
    'merge without survivor',
    mergeCommand({ mergedDistinctIds: ['b'] }),
    'invalid_field',
    'data.survivorDistinctId',
    'data.survivorDistinctId: is required',
  ],
  [
    'merge merged ids a string',
    mergeCommand({ survivorDistinctId: 'a', mergedDistinctIds: 'b' }),
    'invalid_field',
    'data.mergedDistinctIds',
    'data.mergedDistinctIds: must be an array, not a string',
  ],
];

describe('parseMessage: invalid messages', () => {
  it('has at least 60 invalid cases', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(60);
  });

  it.each(invalid)('rejects %s', (_name, input, code, path, reason) => {
    // Act
    const result = parseMessage(body(input));

    // Assess
    expect(result).toEqual({ ok: false, rejection: { code, path, reason } });
  });
});
