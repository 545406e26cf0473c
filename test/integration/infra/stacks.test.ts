import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { EMF_DIMENSIONS } from '../../../infra/constructs/relay-monitoring.ts';
import { RETRY_DESIGN, serviceNameOf } from '../../../infra/stacks/persons-relay-stack.ts';
import { FIFO_QUEUE_ATTRIBUTES } from '../../../lib/batch/index.ts';
import { loadConfig } from '../../../lib/config.ts';
import { METRIC_NAMES, PowertoolsRelayMetrics } from '../../../lib/runtime/metrics.ts';
import {
  buildRelay,
  type CfnResourceJson,
  FULL_CONTEXT,
  type RelayFixture,
  refId,
  removeDir,
  resourcesOf,
} from './fixtures.ts';

const IMPORTED_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:persons-relay/posthog-AbC123';

// One app per configuration, shared by every test below (synth is the slow part).
const full: RelayFixture = buildRelay({ ...FULL_CONTEXT, posthogSecretArn: IMPORTED_SECRET_ARN });
const bare: RelayFixture = buildRelay({});
afterAll(() => {
  removeDir(full.outdir);
  removeDir(bare.outdir);
});

const fixtures = { full, bare } as const;

interface QueueProps {
  QueueName?: string;
  SqsManagedSseEnabled?: boolean;
  KmsMasterKeyId?: unknown;
  VisibilityTimeout?: number;
  MessageRetentionPeriod?: number;
  RedrivePolicy?: { deadLetterTargetArn: unknown; maxReceiveCount: number };
  RedriveAllowPolicy?: { redrivePermission: string; sourceQueueArns: unknown[] };
  FifoQueue?: boolean;
}
const props = <T>(resource: CfnResourceJson): T => (resource.Properties ?? {}) as T;

describe.each(Object.entries(fixtures))('queues (%s config)', (_name, fixture) => {
  const queues = resourcesOf(fixture.core, 'AWS::SQS::Queue');
  const policies = Object.values(resourcesOf(fixture.core, 'AWS::SQS::QueuePolicy'));

  it('encrypts every queue with SSE-SQS', () => {
    expect(Object.keys(queues).length).toBeGreaterThanOrEqual(4);
    for (const queue of Object.values(queues)) {
      expect(props<QueueProps>(queue).SqsManagedSseEnabled).toBe(true);
      expect(props<QueueProps>(queue).KmsMasterKeyId).toBeUndefined();
    }
  });

  it('denies non-TLS access on every queue (enforceSSL)', () => {
    for (const id of Object.keys(queues)) {
      const policy = policies.find((p) =>
        (props<{ Queues: unknown[] }>(p).Queues ?? []).some((q) => refId(q) === id),
      );
      expect(policy, `queue policy of ${id}`).toBeDefined();
      const statements = props<{ PolicyDocument: { Statement: Record<string, unknown>[] } }>(
        policy as CfnResourceJson,
      ).PolicyDocument.Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Principal: { AWS: '*' },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('gives every source queue a DLQ with maxReceiveCount from the retry design, longer DLQ retention and a redrive-allow policy back to the source', () => {
    // The lanes' queues (the EventBridge Pipes routing queue has its own test in routing.test.ts).
    const routing = Object.entries(queues).filter(([, q]) =>
      props<QueueProps>(q).QueueName?.endsWith('-changes-routing'),
    );
    const sources = Object.entries(queues).filter(
      ([id, q]) => props<QueueProps>(q).RedrivePolicy && !routing.some(([r]) => r === id),
    );
    expect(sources).toHaveLength(2);
    for (const [, source] of sources) {
      const s = props<QueueProps>(source);
      expect(s.RedrivePolicy?.maxReceiveCount).toBe(RETRY_DESIGN.maxReceiveCount);
      const dlqId = refId(s.RedrivePolicy?.deadLetterTargetArn);
      const dlq = props<QueueProps>(queues[dlqId ?? ''] as CfnResourceJson);
      expect(dlq.QueueName).toBe(
        s.QueueName?.replace(/(\.fifo)?$/, (fifo) => `-dlq${fifo}`) ?? 'missing',
      );
      expect(dlq.FifoQueue).toBe(s.FifoQueue);
      expect(dlq.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      expect(dlq.MessageRetentionPeriod ?? 0).toBeGreaterThan(s.MessageRetentionPeriod ?? 345_600);
      expect(dlq.RedriveAllowPolicy?.redrivePermission).toBe('byQueue');
      expect(JSON.stringify(dlq.RedriveAllowPolicy?.sourceQueueArns)).toContain(`:${s.QueueName}"`);
    }
    // Every queue is a source with a DLQ, a DLQ of a source, or (with routing) the EventBridge targets' DLQ.
    const dlqIds = new Set(
      sources.map(([, q]) => refId(props<QueueProps>(q).RedrivePolicy?.deadLetterTargetArn)),
    );
    const targetDlqIds = new Set(
      Object.values(resourcesOf(fixture.core, 'AWS::Events::Rule')).flatMap((rule) =>
        props<{ Targets: { DeadLetterConfig?: { Arn: unknown } }[] }>(rule).Targets.map((t) =>
          refId(t.DeadLetterConfig?.Arn),
        ),
      ),
    );
    for (const id of Object.keys(queues)) {
      const isSource = sources.some(([sourceId]) => sourceId === id);
      const isRouting = routing.some(([routingId]) => routingId === id);
      expect(isSource || isRouting || dlqIds.has(id) || targetDlqIds.has(id), id).toBe(true);
    }
  });

  it('sets each visibility timeout to at least 6× its function timeout', () => {
    const functions = resourcesOf(fixture.core, 'AWS::Lambda::Function');
    const mappings = Object.values(resourcesOf(fixture.core, 'AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) {
      const m = props<{ EventSourceArn: unknown; FunctionName: unknown }>(mapping);
      const queue = props<QueueProps>(queues[refId(m.EventSourceArn) ?? ''] as CfnResourceJson);
      const fn = props<{ Timeout: number }>(
        functions[refId(m.FunctionName) ?? ''] as CfnResourceJson,
      );
      expect(fn.Timeout).toBeGreaterThan(0);
      expect(queue.VisibilityTimeout ?? 30).toBeGreaterThanOrEqual(6 * fn.Timeout);
    }
  });
});

describe('lanes', () => {
  const { core } = full;

  it('makes the changes lane a high-throughput FIFO queue with content-based deduplication', () => {
    core.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'PersonsRelay-changes.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: true,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
    // The local stack creates its FIFO queue from the same definition (test/integration/local/runner/fifo-as-aws.test.ts).
    expect(FIFO_QUEUE_ATTRIBUTES).toEqual({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
    core.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'PersonsRelay-deletions',
      FifoQueue: Match.absent(),
    });
  });

  it('reports batch item failures with a maximum concurrency equal to POSTHOG_RATE_INSTANCES', () => {
    const functions = resourcesOf(core, 'AWS::Lambda::Function');
    for (const mapping of Object.values(resourcesOf(core, 'AWS::Lambda::EventSourceMapping'))) {
      const m = props<{
        FunctionName: unknown;
        FunctionResponseTypes: string[];
        ScalingConfig: { MaximumConcurrency: number };
        Enabled: boolean;
      }>(mapping);
      expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(m.Enabled).toBe(true);
      const env = props<{ Environment: { Variables: Record<string, unknown> } }>(
        functions[refId(m.FunctionName) ?? ''] as CfnResourceJson,
      ).Environment.Variables;
      expect(m.ScalingConfig.MaximumConcurrency).toBe(Number(env['POSTHOG_RATE_INSTANCES']));
    }
  });

  it('coalesces deletions (batch 1000, 30 s window, concurrency 3) and keeps changes at FIFO limits (batch 10, no window, concurrency 8)', () => {
    core.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 30,
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    core.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: { MaximumConcurrency: 8 },
    });
  });

  it('runs both functions on nodejs22.x, arm64, with active tracing and explicit memory', () => {
    const functions = Object.values(resourcesOf(core, 'AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('passes the contract-E configuration as environment, never the key', () => {
    for (const [lane, name] of [
      ['deletions', 'PersonsRelay-apply-deletions'],
      ['changes', 'PersonsRelay-apply-changes'],
    ] as const) {
      core.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: name,
        Environment: {
          Variables: Match.objectLike({
            LANE: lane,
            POSTHOG_HOST: 'https://eu.posthog.com',
            POSTHOG_PROJECT_ID: '4242',
            POSTHOG_SECRET_ID: IMPORTED_SECRET_ARN,
            POSTHOG_RATE_DELETE_PER_MINUTE: '480',
            POSTHOG_RATE_DELETE_PER_HOUR: '4800',
            POSTHOG_RATE_OTHER_PER_MINUTE: '240',
            POSTHOG_RATE_INSTANCES: lane === 'deletions' ? '3' : '8',
            QUEUE_URL: Match.anyValue(),
            DLQ_URL: Match.anyValue(),
            SECRET_MAX_AGE_SECONDS: '300',
            RETRY_BASE_DELAY_SECONDS: String(RETRY_DESIGN.baseDelaySeconds),
            RETRY_MAX_DELAY_SECONDS: String(RETRY_DESIGN.maxDelaySeconds),
            REDRIVE_MAX_RECEIVE_COUNT: String(RETRY_DESIGN.maxReceiveCount),
            POWERTOOLS_SERVICE_NAME: `persons-relay-${lane}`,
            POWERTOOLS_METRICS_NAMESPACE: 'PersonsRelay',
            POWERTOOLS_LOG_LEVEL: 'INFO',
            NODE_OPTIONS: '--enable-source-maps',
          }),
        },
      });
    }
  });

  it("sets an environment that lib/config.ts (the functions' parser) accepts for each lane", () => {
    const functions = Object.values(resourcesOf(core, 'AWS::Lambda::Function'));
    const lanes = new Set<string>();
    for (const fn of functions) {
      const vars = props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment
        .Variables;
      // Deploy-time values (queue URLs) are tokens in the template; give them the shape they resolve to.
      const env = Object.fromEntries(
        Object.entries(vars).map(([name, value]) => [
          name,
          typeof value === 'string'
            ? value
            : `https://sqs.eu-west-1.amazonaws.com/123456789012/${name.toLowerCase()}`,
        ]),
      );
      const lane = env['LANE'] === 'changes' ? 'changes' : 'deletions';
      const config = loadConfig(env, { lane });
      lanes.add(config.lane);
      expect(config.powertools.serviceName).toBe(serviceNameOf(lane));
      expect(config.posthog.rateLimits.instances).toBeGreaterThanOrEqual(2);
    }
    expect([...lanes].sort()).toEqual(['changes', 'deletions']);
  });

  it('passes the propertyWrites context to the functions (default update_property)', () => {
    const writesOf = (template: typeof core) =>
      Object.values(resourcesOf(template, 'AWS::Lambda::Function')).map(
        (fn) =>
          props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment.Variables[
            'POSTHOG_PROPERTY_WRITES'
          ],
      );
    expect(writesOf(core)).toEqual(['capture', 'capture']);
    expect(writesOf(bare.core)).toEqual(['update_property', 'update_property']);
  });

  it('deploys the event sources disabled, with a warning, when no project id is configured', () => {
    for (const mapping of Object.values(
      resourcesOf(bare.core, 'AWS::Lambda::EventSourceMapping'),
    )) {
      expect(mapping.Properties?.['Enabled']).toBe(false);
    }
    Annotations.fromStack(bare.stacks.core).hasWarning(
      '/PersonsRelay',
      Match.stringLikeRegexp('posthogProjectId is not set'),
    );
  });
});

describe('IAM', () => {
  interface Statement {
    Effect: string;
    Action: string | string[];
    Resource: unknown;
  }
  // The functions' policies (the EventBridge Pipes role has its own test in routing.test.ts).
  const statementsOf = (fixture: RelayFixture) =>
    Object.entries(resourcesOf(fixture.core, 'AWS::IAM::Policy'))
      .filter(([id]) => !id.startsWith('ChangesPipeRole'))
      .map(([id, policy]) => ({
        id,
        roles: props<{ Roles: unknown[] }>(policy).Roles.map(refId),
        statements: props<{ PolicyDocument: { Statement: Statement[] } }>(policy).PolicyDocument
          .Statement,
      }));
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  it('grants each function exactly: logs on its log group, X-Ray, consume on its queue, send on its DLQ, read on the secret', () => {
    for (const fixture of [full, bare]) {
      const queues = resourcesOf(fixture.core, 'AWS::SQS::Queue');
      const policies = statementsOf(fixture);
      expect(policies).toHaveLength(2);
      for (const { statements } of policies) {
        const byActions = Object.fromEntries(
          statements.map((s) => [actions(s).sort().join(','), s.Resource]),
        );
        // The shared state table (test/infra/shared-state.test.ts): the budget, and tombstones by lane.
        const tombstones =
          'dynamodb:BatchWriteItem' in byActions
            ? 'dynamodb:BatchWriteItem'
            : 'dynamodb:BatchGetItem';
        expect(Object.keys(byActions).sort()).toEqual(
          [
            'dynamodb:GetItem,dynamodb:UpdateItem',
            tombstones,
            'logs:CreateLogStream,logs:PutLogEvents',
            'xray:PutTelemetryRecords,xray:PutTraceSegments',
            'sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage',
            'sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage',
            'secretsmanager:DescribeSecret,secretsmanager:GetSecretValue',
          ].sort(),
        );
        const consumed =
          queues[
            refId(
              byActions[
                'sqs:ChangeMessageVisibility,sqs:DeleteMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:ReceiveMessage'
              ],
            ) ?? ''
          ];
        const sentTo =
          queues[refId(byActions['sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage']) ?? ''];
        // The queue it sends to is the DLQ of the queue it consumes.
        expect(
          refId(props<QueueProps>(consumed as CfnResourceJson).RedrivePolicy?.deadLetterTargetArn),
        ).toBe(refId(byActions['sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage']));
        expect(sentTo).toBeDefined();
      }
    }
  });

  it('uses "*" only for the X-Ray actions, which have no resource-level permissions', () => {
    for (const fixture of [full, bare]) {
      for (const { statements } of statementsOf(fixture)) {
        for (const statement of statements) {
          for (const action of actions(statement)) expect(action).not.toContain('*');
          if (statement.Resource === '*') {
            expect(actions(statement).every((a) => a.startsWith('xray:'))).toBe(true);
          }
        }
      }
    }
  });

  it('attaches no managed policies to the execution roles', () => {
    for (const role of Object.values(resourcesOf(full.core, 'AWS::IAM::Role'))) {
      expect(role.Properties?.['ManagedPolicyArns']).toBeUndefined();
    }
  });

  it('scopes secret reads to the imported secret ARN, or to the created secret', () => {
    const secretStatements = (fixture: RelayFixture) =>
      statementsOf(fixture).flatMap(({ statements }) =>
        statements.filter((s) => actions(s).includes('secretsmanager:GetSecretValue')),
      );
    for (const s of secretStatements(full)) expect(s.Resource).toBe(IMPORTED_SECRET_ARN);
    const created = Object.keys(resourcesOf(bare.core, 'AWS::SecretsManager::Secret'));
    expect(created).toHaveLength(1);
    for (const s of secretStatements(bare)) expect(refId(s.Resource)).toBe(created[0]);
    full.core.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('accepts a partial secret ARN with the Secrets Manager suffix wildcard', () => {
    const partial = buildRelay({
      posthogSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:persons-relay',
    });
    try {
      partial.core.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:persons-relay-??????',
            }),
          ]),
        },
      });
    } finally {
      removeDir(partial.outdir);
    }
  });
});

describe('secret handling', () => {
  // Key-like values: PostHog personal keys (phx_), project tokens (phc_), and any literal secret string.
  const KEY_LIKE = /phx_[A-Za-z0-9]{8}|phc_[A-Za-z0-9]{8}|"SecretString"|"SecretStringTemplate"/;

  it('puts no key-like value in any template', () => {
    // The pattern does catch a key or a literal secret value (so this test can fail).
    expect(JSON.stringify({ SecretString: 'x' })).toMatch(KEY_LIKE);
    expect('phx_0123456789abcdefghij').toMatch(KEY_LIKE);
    for (const fixture of [full, bare]) {
      for (const template of [fixture.core, fixture.monitoring]) {
        expect(JSON.stringify(template.toJSON())).not.toMatch(KEY_LIKE);
      }
    }
  });

  it('creates the secret with a value generated at deploy time, not in the template', () => {
    bare.core.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {},
      SecretString: Match.absent(),
    });
  });

  it('passes only the secret id to the functions, under no key-like variable name', () => {
    for (const fixture of [full, bare]) {
      for (const fn of Object.values(resourcesOf(fixture.core, 'AWS::Lambda::Function'))) {
        const vars = Object.keys(
          props<{ Environment: { Variables: Record<string, unknown> } }>(fn).Environment.Variables,
        );
        expect(vars.filter((v) => /KEY|TOKEN|PASSWORD/.test(v))).toEqual([]);
        expect(vars).toContain('POSTHOG_SECRET_ID');
      }
    }
  });
});

describe('producers and routing', () => {
  const { core } = full;

  it('lets the configured accounts and principals send to both lanes', () => {
    for (const queueName of ['PersonsRelay-deletions', 'PersonsRelay-changes.fifo']) {
      const queueId = Object.entries(resourcesOf(core, 'AWS::SQS::Queue')).find(
        ([, q]) => props<QueueProps>(q).QueueName === queueName,
      )?.[0];
      core.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'AllowProducers',
              Effect: 'Allow',
              Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
              Principal: {
                AWS: [
                  {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root'],
                    ],
                  },
                  {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root'],
                    ],
                  },
                  'arn:aws:iam::333333333333:role/crm-sync',
                ],
              },
              Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
            },
          ]),
        },
      });
    }
  });

  it('grants producers nothing when none are configured', () => {
    expect(JSON.stringify(bare.core.toJSON())).not.toContain('AllowProducers');
  });

  it('outputs the queue URLs and ARNs', () => {
    for (const output of [
      'DeletionsQueueUrl',
      'DeletionsQueueArn',
      'ChangesQueueUrl',
      'ChangesQueueArn',
      'DeletionsDeadLetterQueueUrl',
      'ChangesDeadLetterQueueUrl',
      'PostHogSecretArn',
    ]) {
      full.core.hasOutput(output, { Value: Match.anyValue() });
    }
  });

  it('creates no rules without an event bus', () => {
    bare.core.resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('alarms and dashboard', () => {
  interface AlarmProps {
    AlarmName?: string;
    MetricName?: string;
    Namespace?: string;
    Dimensions?: { Name: string; Value: string }[];
    Threshold: number;
    ComparisonOperator: string;
    EvaluationPeriods: number;
    DatapointsToAlarm?: number;
    TreatMissingData: string;
    AlarmActions: unknown[];
    OKActions: unknown[];
  }
  const alarms = (fixture: RelayFixture) =>
    Object.entries(resourcesOf(fixture.monitoring, 'AWS::CloudWatch::Alarm')).map(([id, a]) => ({
      id,
      ...props<AlarmProps>(a),
    }));
  const queueNames = (fixture: RelayFixture) =>
    Object.values(resourcesOf(fixture.core, 'AWS::SQS::Queue')).map(
      (q) => props<QueueProps>(q).QueueName,
    );

  it('alarms on any message in each DLQ (including the routing DLQ), by the real queue names', () => {
    const dlqAlarms = alarms(full).filter((a) => a.id.includes('DeadLetterQueueNotEmpty'));
    expect(dlqAlarms).toHaveLength(3);
    for (const alarm of dlqAlarms) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(queueNames(full)).toContain(alarm.Dimensions?.[0]?.Value);
      expect(alarm.Dimensions?.[0]?.Value).toMatch(/dlq/);
    }
  });

  it('alarms on the age of the oldest message at the configured threshold (default 1 hour)', () => {
    const age = (fixture: RelayFixture) =>
      alarms(fixture).filter(
        (a) =>
          a.MetricName === 'ApproximateAgeOfOldestMessage' &&
          !a.Dimensions?.[0]?.Value.includes('dlq'),
      );
    expect(age(full).map((a) => a.Threshold)).toEqual([1800, 1800]);
    expect(age(bare).map((a) => a.Threshold)).toEqual([3600, 3600]);
    for (const alarm of age(full)) {
      expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
      expect(['PersonsRelay-deletions', 'PersonsRelay-changes.fifo']).toContain(
        alarm.Dimensions?.[0]?.Value,
      );
    }
  });

  it('alarms on function errors and throttles of both functions', () => {
    for (const metric of ['Errors', 'Throttles']) {
      const matching = alarms(full).filter((a) => a.MetricName === metric);
      expect(matching.map((a) => a.Dimensions?.[0]?.Value).sort()).toEqual([
        'PersonsRelay-apply-changes',
        'PersonsRelay-apply-deletions',
      ]);
      for (const alarm of matching) {
        expect(alarm).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 1 });
      }
    }
  });

  it('alarms on PostHog throttling per lane from the EMF metric and its service dimension', () => {
    const throttled = alarms(full).filter((a) => a.MetricName === 'PostHogThrottled');
    expect(throttled.map((a) => a.Dimensions)).toEqual(
      expect.arrayContaining([
        [{ Name: 'service', Value: 'persons-relay-deletions' }],
        [{ Name: 'service', Value: 'persons-relay-changes' }],
      ]),
    );
    expect(throttled).toHaveLength(2);
    for (const alarm of throttled) {
      expect(alarm).toMatchObject({
        Namespace: 'PersonsRelay',
        Threshold: 10,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
      });
    }
    // The dimension is the service name the function is configured with.
    full.core.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'persons-relay-deletions' }),
      },
    });
  });

  it('sends every alarm and its recovery to the SNS topic, with the email subscription only when configured', () => {
    const topicId = Object.keys(resourcesOf(full.monitoring, 'AWS::SNS::Topic'))[0];
    const all = alarms(full);
    // Per DLQ (2 lanes + routing): not empty, age. Per lane: oldest message, errors, throttles, PostHog 429,
    // retry rate, PostHog 401/403, PostHog 5xx rate, shared rate budget fallbacks. The deletions lane: tombstone
    // write failures.
    expect(all).toHaveLength(3 * 2 + 2 * 8 + 1);
    for (const alarm of all) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
    }
    full.monitoring.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    bare.monitoring.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('shares no CloudFormation exports between the stacks', () => {
    expect(JSON.stringify(full.monitoring.toJSON())).not.toContain('Fn::ImportValue');
  });

  it('queries each EMF metric by exactly the namespace and dimension set the functions write', () => {
    // Prepare: what the functions really emit (Powertools EMF on stdout), one of every metric
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const metrics = new PowertoolsRelayMetrics({
        namespace: 'PersonsRelay',
        serviceName: serviceNameOf('deletions'),
      });
      for (const name of Object.values(METRIC_NAMES)) {
        const dims: Record<string, string> =
          name === 'MessagesRejected'
            ? { reason: 'not_json' }
            : name === 'PostHogCalls'
              ? { endpoint: 'bulk_delete', status: '200' }
              : {};
        metrics.count(name, 1, dims);
      }
      metrics.flush();
    } finally {
      spy.mockRestore();
    }
    const emitted = new Map<string, { namespace: string; dimensions: string[] }>();
    for (const line of written.flatMap((c) => c.split('\n')).filter((l) => l.includes('_aws'))) {
      const doc = JSON.parse(line) as {
        _aws: {
          CloudWatchMetrics: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string }[];
          }[];
        };
      };
      for (const directive of doc._aws.CloudWatchMetrics) {
        for (const metric of directive.Metrics) {
          emitted.set(metric.Name, {
            namespace: directive.Namespace,
            dimensions: [...(directive.Dimensions[0] ?? [])].sort(),
          });
        }
      }
    }
    expect([...emitted.keys()].sort()).toEqual(Object.values(METRIC_NAMES).sort());

    // Assess: the dashboard's SEARCH schemas name exactly those dimensions (CloudWatch matches schemas exactly)
    const dashboard = Object.values(resourcesOf(full.monitoring, 'AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties?.['DashboardBody']);
    const schemas = new Map<string, string>();
    for (const match of body.matchAll(/SEARCH\('\{([^{}]*)\} MetricName=\W*(\w+)/g)) {
      schemas.set(match[2] ?? '', match[1] ?? '');
    }
    for (const [name, { namespace, dimensions }] of emitted) {
      expect([...EMF_DIMENSIONS[name as keyof typeof EMF_DIMENSIONS]].sort()).toEqual(dimensions);
      expect(schemas.get(name), name).toBe([namespace, ...dimensions].join(','));
    }
    // ...and so does the throttling alarm: same namespace, same dimension names, the lane's service value
    const throttled = alarms(full).filter((a) => a.MetricName === 'PostHogThrottled');
    expect(throttled.length).toBeGreaterThan(0);
    for (const alarm of throttled) {
      expect(alarm.Namespace).toBe(emitted.get('PostHogThrottled')?.namespace);
      expect((alarm.Dimensions ?? []).map((d) => d.Name).sort()).toEqual(
        emitted.get('PostHogThrottled')?.dimensions,
      );
    }
  });

  it('graphs the EMF metrics (applied, retried, rejected by reason, calls by endpoint) and the queues', () => {
    const dashboards = Object.values(resourcesOf(full.monitoring, 'AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties?.['DashboardBody']);
    for (const metric of [
      'MessagesApplied',
      'MessagesRetried',
      'MessagesRejected',
      'PostHogCalls',
      'PostHogThrottled',
      'PersonsDeleted',
      'ApproximateAgeOfOldestMessage',
      'PersonsRelay-changes-dlq.fifo',
      'PersonsRelay-apply-deletions',
    ]) {
      expect(body).toContain(metric);
    }
  });
});
