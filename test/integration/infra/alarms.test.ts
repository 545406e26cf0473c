/**
 * Issue 15, point 4: alarms that fire. The SNS topic lets CloudWatch publish (only for this account's alarms),
 * and the new alarms read metrics the functions really write (EMF captured from the real client hook).
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  EMF_DIMENSIONS,
  MAX_DEAD_LETTER_AGE_ALARM,
  RATE_ALARM_MIN_SAMPLES,
  RelayMonitoring,
} from '../../../infra/constructs/relay-monitoring.ts';
import { serviceNameOf } from '../../../infra/stacks/persons-relay-stack.ts';
import { loadConfig } from '../../../lib/config.ts';
import { createClientSource } from '../../../lib/runtime/client-source.ts';
import { METRIC_NAMES, PowertoolsRelayMetrics } from '../../../lib/runtime/metrics.ts';
import { buildRelay, FULL_CONTEXT, removeDir, resourcesOf } from './fixtures.ts';

const full = buildRelay({ ...FULL_CONTEXT });
afterAll(() => removeDir(full.outdir));

interface AlarmProps {
  AlarmName: string;
  MetricName?: string;
  Namespace?: string;
  Dimensions?: { Name: string; Value: string }[];
  Metrics?: {
    Id: string;
    Expression?: string;
    MetricStat?: {
      Metric: {
        Namespace: string;
        MetricName: string;
        Dimensions: { Name: string; Value: string }[];
      };
      Stat: string;
      Period: number;
    };
  }[];
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData: string;
}
const alarms = Object.entries(resourcesOf(full.monitoring, 'AWS::CloudWatch::Alarm')).map(
  ([id, a]) => ({ id, ...(a.Properties as unknown as AlarmProps) }),
);
const byName = (suffix: string) => alarms.filter((a) => a.AlarmName.endsWith(suffix));

describe('alarm topic policy (CloudWatch may publish, only for this account)', () => {
  const policies = Object.values(resourcesOf(full.monitoring, 'AWS::SNS::TopicPolicy'));
  const statements = policies.flatMap(
    (p) =>
      (p.Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } }).PolicyDocument
        .Statement,
  );
  const allow = statements.find((s) => s['Sid'] === 'AllowCloudWatchAlarmsOfThisAccount');

  it('allows cloudwatch.amazonaws.com to sns:Publish to the topic, conditioned on aws:SourceAccount and aws:SourceArn', () => {
    expect(allow).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
    });
    const topicId = Object.keys(resourcesOf(full.monitoring, 'AWS::SNS::Topic'))[0];
    expect(allow?.['Resource']).toEqual({ Ref: topicId });
    const condition = allow?.['Condition'] as Record<string, Record<string, unknown>>;
    expect(condition['StringEquals']).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(condition['ArnLike']?.['aws:SourceArn'])).toBe(
      JSON.stringify({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':cloudwatch:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':alarm:PersonsRelay-Monitoring-*',
          ],
        ],
      }),
    );
    // The TLS deny is still there.
    expect(statements.some((s) => s['Effect'] === 'Deny')).toBe(true);
  });

  it('names every alarm under the prefix the topic policy allows', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.AlarmName).toMatch(/^PersonsRelay-Monitoring-/);
  });
});

describe('alarm for erasures without tombstones', () => {
  it('alarms on the deletions lane at the first TombstoneWriteFailures', () => {
    const alarm = byName('TombstoneWriteFailures');
    expect(alarm).toHaveLength(1);
    expect(alarm[0]).toMatchObject({
      Namespace: 'PersonsRelay',
      MetricName: 'TombstoneWriteFailures',
      Dimensions: [{ Name: 'service', Value: serviceNameOf('deletions') }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('alarm for a shared rate budget that keeps falling back', () => {
  it('alarms on each lane after 3 consecutive 5-minute periods with fallbacks, not on one', () => {
    const alarm = byName('RateBudgetFallbacks');
    expect(alarm.map((a) => a.Dimensions)).toEqual([
      [{ Name: 'service', Value: serviceNameOf('deletions') }],
      [{ Name: 'service', Value: serviceNameOf('changes') }],
    ]);
    for (const a of alarm) {
      expect(a).toMatchObject({
        Namespace: 'PersonsRelay',
        MetricName: 'RateBudgetFallbacks',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
      });
    }
  });
});

describe('alarms for messages that keep failing before they reach a DLQ', () => {
  const metricsOf = (alarm: AlarmProps) =>
    Object.fromEntries(
      (alarm.Metrics ?? []).filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat?.Metric]),
    );

  it('alarms per lane on the retry rate (MessagesRetried / MessagesReceived), 3 of 3 five-minute periods', () => {
    for (const lane of ['deletions', 'changes'] as const) {
      const [alarm] = byName(`${lane.charAt(0).toUpperCase()}${lane.slice(1)}RetryRate`);
      expect(alarm).toBeDefined();
      const expression = alarm?.Metrics?.find((m) => m.Expression)?.Expression;
      expect(expression).toBe(
        `IF(received >= ${RATE_ALARM_MIN_SAMPLES}, 100 * retried / received, 0)`,
      );
      const metrics = metricsOf(alarm as AlarmProps);
      expect(metrics['received']).toMatchObject({
        Namespace: 'PersonsRelay',
        MetricName: 'MessagesReceived',
        Dimensions: [{ Name: 'service', Value: serviceNameOf(lane) }],
      });
      expect(metrics['retried']?.MetricName).toBe('MessagesRetried');
      expect(alarm).toMatchObject({
        Threshold: 50,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms per lane on any PostHog 401/403 and on a 5xx rate', () => {
    expect(
      byName('PostHogAuthRejected')
        .map((a) => a.Dimensions?.[0]?.Value)
        .sort(),
    ).toEqual(['persons-relay-changes', 'persons-relay-deletions']);
    for (const alarm of byName('PostHogAuthRejected')) {
      expect(alarm).toMatchObject({
        Namespace: 'PersonsRelay',
        MetricName: 'PostHogAuthRejected',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    const serverErrors = byName('PostHogServerErrorRate');
    expect(serverErrors).toHaveLength(2);
    for (const alarm of serverErrors) {
      const metrics = metricsOf(alarm);
      expect(metrics['responses']?.MetricName).toBe('PostHogResponses');
      expect(metrics['errors']?.MetricName).toBe('PostHogServerErrors');
      expect(alarm).toMatchObject({ Threshold: 10, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    }
  });

  it('reads only metrics the functions really write, with their exact dimension set (EMF from the real client hook)', async () => {
    // Prepare: the real client source with its metrics hook, a fetch answering 401, 503 and 200
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const config = loadConfig(
        {
          LANE: 'changes',
          POSTHOG_HOST: 'https://eu.posthog.com',
          POSTHOG_PROJECT_ID: '1',
          POSTHOG_SECRET_ID: 'secret',
          QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo',
          DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q-dlq.fifo',
          POSTHOG_MAX_RETRIES: '0',
        },
        { lane: 'changes' },
      );
      const metrics = new PowertoolsRelayMetrics({
        namespace: 'PersonsRelay',
        serviceName: serviceNameOf('changes'),
      });
      const statuses = [401, 503, 200];
      const fetchStub: typeof fetch = async () => {
        const status = statuses.shift() ?? 200;
        return new Response(status === 200 ? '{}' : '{"detail":"x"}', {
          status,
          headers: { 'content-type': 'application/json' },
        });
      };
      const getClient = createClientSource({
        config,
        secrets: async () => ({ personalApiKey: 'phx_test' }),
        metrics,
        fetch: fetchStub,
      });
      const client = await getClient();
      for (let i = 0; i < 3; i += 1) {
        await client.batchByDistinctIds([`p${i}`]).catch(() => undefined);
      }
      metrics.flush();
    } finally {
      spy.mockRestore();
    }
    // Collect what was emitted: metric name → value and dimension names
    const emitted = new Map<string, { value: number; dimensions: string[]; namespace: string }>();
    for (const line of written.flatMap((c) => c.split('\n')).filter((l) => l.includes('_aws'))) {
      const doc = JSON.parse(line) as Record<string, unknown> & {
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
          if (directive.Dimensions[0]?.length !== 1) continue;
          emitted.set(metric.Name, {
            value: Number(doc[metric.Name]),
            dimensions: [...(directive.Dimensions[0] ?? [])],
            namespace: directive.Namespace,
          });
        }
      }
    }
    // Assess: three responses, one 401, one 5xx, each as a service-only metric
    expect(emitted.get(METRIC_NAMES.postHogResponses)?.value).toBe(3);
    expect(emitted.get(METRIC_NAMES.postHogAuthRejected)?.value).toBe(1);
    expect(emitted.get(METRIC_NAMES.postHogServerErrors)?.value).toBe(1);
    // ...and every metric an alarm of this construct names exists with that namespace and dimension set
    for (const alarm of alarms) {
      const named =
        alarm.Namespace === 'PersonsRelay'
          ? [{ MetricName: alarm.MetricName ?? '', Dimensions: alarm.Dimensions ?? [] }]
          : (alarm.Metrics ?? [])
              .map((m) => m.MetricStat?.Metric)
              .filter((m) => m?.Namespace === 'PersonsRelay');
      for (const metric of named) {
        const name = metric?.MetricName as keyof typeof EMF_DIMENSIONS;
        expect(EMF_DIMENSIONS[name], name).toBeDefined();
        expect((metric?.Dimensions ?? []).map((d) => d.Name)).toEqual([...EMF_DIMENSIONS[name]]);
        if (emitted.has(name)) {
          expect(emitted.get(name)?.dimensions).toEqual([...EMF_DIMENSIONS[name]]);
        }
      }
    }
  });
});

describe('DLQ age alarm (an erasure must not expire unseen)', () => {
  it('alarms on every DLQ (both lanes and routing) at 2 days by default, long before retention ends', () => {
    const age = byName('DeadLetterQueueAge');
    expect(age).toHaveLength(3);
    for (const alarm of age) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Threshold: 2 * 86_400,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm.Dimensions?.[0]?.Value).toMatch(/dlq/);
    }
    // Worst case (standard DLQ, see MAX_DEAD_LETTER_AGE_ALARM): 14 days DLQ retention − 7 days in the source.
    const queues = Object.values(resourcesOf(full.core, 'AWS::SQS::Queue')).map(
      (q) => q.Properties as { MessageRetentionPeriod?: number; RedrivePolicy?: unknown },
    );
    const sourceRetention = Math.max(
      ...queues.filter((q) => q.RedrivePolicy).map((q) => q.MessageRetentionPeriod ?? 345_600),
    );
    const dlqRetention = 14 * 86_400;
    expect(MAX_DEAD_LETTER_AGE_ALARM.toSeconds()).toBeLessThan(dlqRetention - sourceRetention);
    for (const alarm of age) {
      expect(alarm.Threshold).toBeLessThanOrEqual(MAX_DEAD_LETTER_AGE_ALARM.toSeconds());
    }
  });

  it('refuses a DLQ age threshold too close to the end of retention', () => {
    const stack = new Stack(new App(), 'S');
    expect(
      () =>
        new RelayMonitoring(stack, 'M', {
          lanes: [],
          deadLetterAgeThreshold: Duration.days(6),
        }),
    ).toThrow(/too late/);
    const ok = new Stack(new App(), 'T');
    new RelayMonitoring(ok, 'M', {
      lanes: [
        {
          lane: 'x',
          queueName: 'q',
          deadLetterQueueName: 'q-dlq',
          functionName: 'f',
          serviceName: 's',
        },
      ],
      deadLetterAgeThreshold: Duration.days(3),
    });
    Template.fromStack(ok).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'T-XDeadLetterQueueAge',
      Threshold: 3 * 86_400,
    });
  });
});
