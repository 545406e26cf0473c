/**
 * Issue 15, point 3: EventBridge → FIFO with a real per-person MessageGroupId.
 *
 * A rule target's SqsParameters.MessageGroupId is a literal string (API_SqsParameters), so the template routes
 * changes through a standard queue and an EventBridge Pipe whose target MessageGroupId is a dynamic JSON path
 * (eb-pipes-event-target.html, "Dynamic path parameters"). This test reads the synthesized template and plays
 * each documented step on sample events: rule pattern match, input transformer, SQS body, pipe dynamic paths
 * and input template; then hands the resulting message body to the real parser.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CHANGES_ROUTING } from '../../../infra/stacks/persons-relay-stack.ts';
import { parseMessage } from '../../../lib/messages/index.ts';
import { buildRelay, FULL_CONTEXT, refId, removeDir, resourcesOf } from './fixtures.ts';

const full = buildRelay({ ...FULL_CONTEXT });
const bare = buildRelay({});
afterAll(() => {
  removeDir(full.outdir);
  removeDir(bare.outdir);
});

type Json = unknown;
interface RulePattern {
  'detail-type': string[];
  detail?: Record<string, { exists: boolean }[]>;
}
interface RuleTarget {
  Arn: unknown;
  SqsParameters?: { MessageGroupId: string };
  Input?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  DeadLetterConfig?: { Arn: unknown };
}
const rules = Object.values(resourcesOf(full.core, 'AWS::Events::Rule')).map(
  (rule) =>
    rule.Properties as { EventBusName: string; EventPattern: RulePattern; Targets: RuleTarget[] },
);
const queues = resourcesOf(full.core, 'AWS::SQS::Queue');
const queueIdNamed = (name: string) =>
  Object.entries(queues).find(([, q]) => q.Properties?.['QueueName'] === name)?.[0];
const [pipe] = Object.values(resourcesOf(full.core, 'AWS::Pipes::Pipe')).map(
  (p) =>
    p.Properties as {
      RoleArn: unknown;
      Source: unknown;
      Target: unknown;
      SourceParameters: { SqsQueueParameters: { BatchSize: number } };
      TargetParameters: {
        InputTemplate: string;
        SqsQueueParameters: { MessageGroupId: string; MessageDeduplicationId: string };
      };
    },
);

/** EventBridge's `exists` matching on top-level detail fields (all the patterns here use). */
const matches = (pattern: RulePattern, event: { 'detail-type': string; detail: object }) =>
  pattern['detail-type'].includes(event['detail-type']) &&
  Object.entries(pattern.detail ?? {}).every(
    ([field, [condition]]) => field in event.detail === condition?.exists,
  );

/** A JSON path of the supported dot form (`$.a.b`) applied to a value. */
const at = (value: Json, path: string): Json =>
  path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter((part) => part !== '')
    .reduce<Json>(
      (current, key) =>
        typeof current === 'object' && current !== null
          ? (current as Record<string, Json>)[key]
          : undefined,
      value,
    );

/** The rule's input transformer: variables as JSON values, `<aws.events.event.json>` as the full event. */
function transform(target: RuleTarget, event: Json): string {
  const transformer = target.InputTransformer;
  if (!transformer) throw new Error('a changes rule target must have an input transformer');
  let text = transformer.InputTemplate.replaceAll('<aws.events.event.json>', JSON.stringify(event));
  for (const [name, path] of Object.entries(transformer.InputPathsMap ?? {})) {
    text = text.replaceAll(`<${name}>`, JSON.stringify(at(event, path)));
  }
  return text;
}

/** The pipe: an SQS record whose JSON body Pipes parses, dynamic paths into it, and `<path>` as the template. */
function throughPipe(body: string): { groupId: Json; deduplicationId: Json; message: string } {
  const record = { messageId: 'm', body: JSON.parse(body) as Json };
  const target = pipe?.TargetParameters;
  const template = /^<(\$[^>]*)>$/.exec(target?.InputTemplate ?? '')?.[1];
  if (!target || !template) throw new Error('the pipe must have a JSON-path input template');
  return {
    groupId: at(record, target.SqsQueueParameters.MessageGroupId),
    deduplicationId: at(record, target.SqsQueueParameters.MessageDeduplicationId),
    message: JSON.stringify(at(record, template)),
  };
}

const event = (id: string, detailType: string, detail: object) => ({
  version: '0',
  id,
  'detail-type': detailType,
  source: 'crm',
  account: '123456789012',
  time: '2026-12-01T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail,
});

describe('EventBridge → routing queue → Pipe → FIFO (per-person MessageGroupId)', () => {
  it('targets no FIFO queue from a rule (a rule target group id would be one literal for every person)', () => {
    const fifoId = queueIdNamed('PersonsRelay-changes.fifo');
    for (const rule of rules) {
      for (const target of rule.Targets) {
        expect(refId(target.Arn)).not.toBe(fifoId);
        expect(target.SqsParameters).toBeUndefined();
      }
    }
  });

  it('pipes the routing queue into the FIFO lane with dynamic-path group and deduplication ids', () => {
    expect(pipe).toBeDefined();
    expect(refId(pipe?.Source)).toBe(queueIdNamed('PersonsRelay-changes-routing'));
    expect(refId(pipe?.Target)).toBe(queueIdNamed('PersonsRelay-changes.fifo'));
    expect(pipe?.TargetParameters).toEqual({
      InputTemplate: '<$.body.event>',
      SqsQueueParameters: {
        MessageGroupId: '$.body.groupId',
        MessageDeduplicationId: '$.body.event.id',
      },
    });
    // The whole value is a JSON path, as dynamic path parameters require.
    expect(pipe?.TargetParameters.SqsQueueParameters.MessageGroupId).toMatch(/^\$\.[\w.]+$/);
  });

  it('gives the pipe a role that only pipes.amazonaws.com of this account assumes: consume the routing queue, send to the FIFO queue', () => {
    const roles = resourcesOf(full.core, 'AWS::IAM::Role');
    const roleId = refId(pipe?.RoleArn) ?? '';
    const trust = JSON.stringify(roles[roleId]?.Properties?.['AssumeRolePolicyDocument']);
    expect(trust).toContain('pipes.amazonaws.com');
    expect(trust).toContain('aws:SourceAccount');
    const policy = Object.values(resourcesOf(full.core, 'AWS::IAM::Policy')).find((p) =>
      ((p.Properties?.['Roles'] ?? []) as unknown[]).some((r) => refId(r) === roleId),
    );
    const document = (policy?.Properties?.['PolicyDocument'] ?? { Statement: [] }) as {
      Statement: { Action: string[]; Resource: unknown }[];
    };
    const statements = document.Statement;
    const byResource = new Map(statements.map((s) => [refId(s.Resource), [s.Action].flat()]));
    expect(byResource.get(queueIdNamed('PersonsRelay-changes-routing'))).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
    );
    expect(byResource.get(queueIdNamed('PersonsRelay-changes.fifo'))).toEqual(
      expect.arrayContaining(['sqs:SendMessage']),
    );
    expect(byResource.size).toBe(2);
  });

  it('dead-letters what EventBridge or the pipe cannot deliver into the routing DLQ', () => {
    const dlqId = queueIdNamed('PersonsRelay-routing-dlq');
    const routing = queues[queueIdNamed('PersonsRelay-changes-routing') ?? ''];
    expect(routing?.Properties?.['RedrivePolicy']).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: CHANGES_ROUTING.maxReceiveCount,
    });
    for (const rule of rules) {
      for (const target of rule.Targets) expect(refId(target.DeadLetterConfig?.Arn)).toBe(dlqId);
    }
  });

  it('puts each person in its own FIFO group and delivers the original event, which the function parses', () => {
    const routingId = queueIdNamed('PersonsRelay-changes-routing');
    const deletionsId = queueIdNamed('PersonsRelay-deletions');
    const cases = [
      {
        event: event('e1', 'person.split', { distinctId: 'alice', mainDistinctId: 'alice' }),
        group: 'alice',
      },
      {
        event: event('e2', 'person.properties.update', {
          distinctId: 'bob',
          set: { plan: 'pro' },
        }),
        group: 'bob',
      },
      {
        event: event('e3', 'person.properties.update', {
          uuid: '0190a4b6-8c3f-7a4e-9b1d-2f5e6a7b8c9d',
          set: { plan: 'pro' },
        }),
        group: '0190a4b6-8c3f-7a4e-9b1d-2f5e6a7b8c9d',
      },
      {
        event: event('e4', 'person.merge', {
          survivorDistinctId: 'carol',
          mergedDistinctIds: ['carol-old'],
        }),
        group: 'carol',
      },
      { event: event('e5', 'person.split', {}), group: 'unkeyed' },
    ];
    const groups = new Set<Json>();
    for (const { event: sample, group } of cases) {
      const matching = rules.filter((r) => matches(r.EventPattern, sample));
      // Exactly one rule per event: never dropped, never delivered twice.
      expect(matching, sample.id).toHaveLength(1);
      const target = matching[0]?.Targets[0] as RuleTarget;
      expect(refId(target.Arn)).toBe(routingId);
      const delivered = throughPipe(transform(target, sample));
      expect(delivered.groupId, sample.id).toBe(group);
      expect(delivered.deduplicationId).toBe(sample.id);
      expect(JSON.parse(delivered.message)).toEqual(sample);
      groups.add(delivered.groupId);
      // The function sees exactly what it saw from a rule target before: the EventBridge event.
      if (group !== 'unkeyed') {
        const parsed = parseMessage(delivered.message);
        expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
      }
    }
    // Different persons, different groups: one retrying person no longer blocks the others.
    expect(groups.size).toBe(cases.length);
    // Deletions still go straight to the standard deletions queue.
    const deletes = rules.filter((r) =>
      matches(r.EventPattern, event('d', 'persons.delete', { distinctIds: ['a'] })),
    );
    expect(deletes.map((r) => refId(r.Targets[0]?.Arn))).toEqual([deletionsId]);
  });

  it('creates no routing queue, pipe or rules without an event bus', () => {
    bare.core.resourceCountIs('AWS::Pipes::Pipe', 0);
    bare.core.resourceCountIs('AWS::Events::Rule', 0);
  });
});
