/** Builders for valid commands and envelopes, shared by the message, planner and producer tests. */

export const TIME = '2026-11-28T21:00:00Z';
export const UUID_A = '0190a3c2-5b7e-7cde-8f01-23456789abcd';
export const UUID_B = '0190a3c2-5b7e-7cde-8f01-23456789abce';

/** A loosely typed JSON object whose usual fields read with dot access. */
export type Json = Record<string, unknown> &
  Partial<Record<'type' | 'id' | 'time' | 'data' | 'datacontenttype', unknown>>;

export const deleteCommand = (
  data: Json = { distinctIds: ['user-1'] },
  extra: Json = {},
): Json => ({
  type: 'persons.delete',
  id: 'cmd-delete-1',
  time: TIME,
  data,
  ...extra,
});

export const splitCommand = (
  data: Json = { distinctId: 'crm-1', distinctIdsToSplit: ['device-9'] },
  extra: Json = {},
): Json => ({ type: 'person.split', id: 'cmd-split-1', time: TIME, data, ...extra });

export const updateCommand = (
  data: Json = { distinctId: 'crm-1', set: { plan: 'pro' } },
  extra: Json = {},
): Json => ({ type: 'person.properties.update', id: 'cmd-update-1', time: TIME, data, ...extra });

export const mergeCommand = (
  data: Json = { survivorDistinctId: 'crm-1', mergedDistinctIds: ['crm-2'] },
  extra: Json = {},
): Json => ({ type: 'person.merge', id: 'cmd-merge-1', time: TIME, data, ...extra });

/** The same command as an EventBridge event delivered to SQS by a rule. */
export const eventBridge = (command: Json, extra: Json = {}): Json => ({
  version: '0',
  id: command.id,
  'detail-type': command.type,
  source: 'com.example.crm',
  account: '123456789012',
  time: command.time,
  region: 'eu-west-1',
  resources: [],
  detail: command.data,
  ...extra,
});

/** An SNS notification (raw delivery off) carrying `inner` as its Message. */
export const sns = (inner: unknown, extra: Json = {}): Json => ({
  Type: 'Notification',
  MessageId: '5a1f8f5e-0000-4000-8000-000000000001',
  TopicArn: 'arn:aws:sns:eu-west-1:123456789012:persons-relay',
  Message: typeof inner === 'string' ? inner : JSON.stringify(inner),
  Timestamp: TIME,
  SignatureVersion: '1',
  ...extra,
});

/** The same command as a structured CloudEvents 1.0 event. */
export const cloudEvent = (command: Json, extra: Json = {}): Json => ({
  specversion: '1.0',
  type: command.type,
  source: 'https://crm.example.com',
  id: command.id,
  time: command.time,
  datacontenttype: 'application/json',
  data: command.data,
  ...extra,
});
