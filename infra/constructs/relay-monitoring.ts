/**
 * `RelayMonitoring`: alarms to an SNS topic and a CloudWatch dashboard for persons-relay's lanes.
 *
 * It refers to queues and functions by physical name only (plain strings), so it can live in its own stack
 * without cross-stack exports that would pin the core stack's resources.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/**
 * The dimension names of each EMF metric the functions write (lib/runtime/metrics.ts): Powertools adds
 * `service` (POWERTOOLS_SERVICE_NAME) to every metric; the batch loop adds `reason` to MessagesRejected and
 * the client hook `endpoint` and `status` to PostHogCalls. CloudWatch identifies a metric by its full
 * dimension set, so alarms and dashboard queries must use exactly these (checked against real EMF output by
 * test/integration/infra/stacks.test.ts).
 */
export const EMF_DIMENSIONS = {
  MessagesReceived: ['service'],
  MessagesApplied: ['service'],
  MessagesRetried: ['service'],
  MessagesRejected: ['reason', 'service'],
  PostHogCalls: ['endpoint', 'service', 'status'],
  PostHogThrottled: ['service'],
  PersonsDeleted: ['service'],
  PostHogResponses: ['service'],
  PostHogAuthRejected: ['service'],
  PostHogServerErrors: ['service'],
  RateBudgetFallbacks: ['service'],
  RateBudgetStoreFailures: ['service'],
  TombstonesRecorded: ['service'],
  TombstoneWriteFailures: ['service'],
} as const satisfies Record<string, readonly string[]>;

/** A metric the functions write as EMF. */
export type EmfMetricName = keyof typeof EMF_DIMENSIONS;

/** Physical names of one lane's queue, DLQ and function. */
export interface MonitoredLane {
  /** Short lane name, used in alarm and widget titles. */
  readonly lane: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  readonly functionName: string;
  /** The function's Powertools service name (the `service` dimension of its EMF metrics). */
  readonly serviceName: string;
}

/** Properties of {@link RelayMonitoring}. */
export interface RelayMonitoringProps {
  /** The lanes to watch. */
  readonly lanes: readonly MonitoredLane[];
  /** More dead-letter queues to alarm on (e.g. the EventBridge routing DLQ). @default [] */
  readonly extraDeadLetterQueueNames?: readonly string[];
  /** Subscribed to the alarm topic by email. @default - no subscription */
  readonly alarmEmail?: string;
  /** Alarm when a source queue's oldest message is older than this. @default Duration.hours(1) */
  readonly oldestMessageAgeThreshold?: Duration;
  /**
   * Alarm when PostHog answered a lane 429 at least this many times in 5 minutes, in 2 of 3 periods. The client-side
   * limiter should keep this near 0; sustained 429s mean another user of the key or a lower server limit.
   * @default 10
   */
  readonly postHogThrottledThreshold?: number;
  /**
   * Alarm when the oldest message in a dead-letter queue is older than this, so that a dead-lettered erasure is
   * acted on long before SQS deletes it. Must leave time before retention ends: see
   * {@link MAX_DEAD_LETTER_AGE_ALARM}. @default Duration.days(2)
   */
  readonly deadLetterAgeThreshold?: Duration;
  /**
   * Alarm when more than this percentage of a lane's received messages were retried (not applied, not rejected),
   * for 3 consecutive 5-minute periods with at least {@link RATE_ALARM_MIN_SAMPLES} messages each. @default 50
   */
  readonly retryRatePercent?: number;
  /**
   * Alarm when more than this percentage of a lane's PostHog responses were 5xx, in 2 of 3 5-minute periods
   * with at least {@link RATE_ALARM_MIN_SAMPLES} responses each. @default 10
   */
  readonly serverErrorRatePercent?: number;
  /** EMF namespace of the functions (`POWERTOOLS_METRICS_NAMESPACE`). @default 'PersonsRelay' */
  readonly metricsNamespace?: string;
  /** @default - `<stack name>-persons-relay` */
  readonly dashboardName?: string;
}

/** Rate alarms stay quiet below this many samples per period (one failure of two messages is not a trend). */
export const RATE_ALARM_MIN_SAMPLES = 20;

/**
 * The latest a DLQ age alarm may fire. A standard queue's DLQ keeps each message's *original* enqueue time for
 * expiry, while `ApproximateAgeOfOldestMessage` on the DLQ counts from when the message was *moved* there
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html).
 * The lanes keep messages 7 days in the source and 14 in the DLQ, so a message moved at the end of its source
 * retention has 14 − 7 = 7 days left in the DLQ, counted on the DLQ's age metric. The alarm must fire well
 * before that: at most 5 days, leaving at least 2 days to act. (FIFO DLQs reset the enqueue time, so they
 * have the full 14 days.)
 */
export const MAX_DEAD_LETTER_AGE_ALARM = Duration.days(5);

/** Alarm topic, alarms and dashboard. */
export class RelayMonitoring extends Construct {
  /** Every alarm notifies this topic. */
  public readonly topic: sns.Topic;
  /** All alarms, by id. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm's name starts with this (`<stack name>-`); the topic policy allows only those alarms. */
  public readonly alarmNamePrefix: string;

  public constructor(scope: Construct, id: string, props: RelayMonitoringProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? 'PersonsRelay';
    const ageThreshold = props.oldestMessageAgeThreshold ?? Duration.hours(1);
    const throttledThreshold = props.postHogThrottledThreshold ?? 10;
    const dlqAgeThreshold = props.deadLetterAgeThreshold ?? Duration.days(2);
    if (dlqAgeThreshold.toSeconds() > MAX_DEAD_LETTER_AGE_ALARM.toSeconds()) {
      throw new Error(
        `deadLetterAgeThreshold ${dlqAgeThreshold.toHumanString()} is too late: at most ${MAX_DEAD_LETTER_AGE_ALARM.toHumanString()} (a standard DLQ message may have only 7 days left when it arrives)`,
      );
    }
    const retryRatePercent = props.retryRatePercent ?? 50;
    const serverErrorRatePercent = props.serverErrorRatePercent ?? 10;
    const stack = Stack.of(this);

    // Not KMS-encrypted on purpose: notifications carry only alarm names and metric values (no personal
    // data), and CloudWatch cannot publish to a topic under the AWS-managed SNS key.
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'persons-relay alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    // CloudWatch publishes alarm notifications as the service principal cloudwatch.amazonaws.com, which the
    // topic policy must allow; without it the alarm history shows "is not authorized to perform: SNS:Publish"
    // (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger). The global condition keys
    // aws:SourceAccount and aws:SourceArn limit it to this account's alarms whose names start with this stack's
    // name, so no other account's alarm can use CloudWatch as a confused deputy
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html, "aws:SourceAccount versus
    // aws:SourceOwner" and "Allow CloudWatch alarms … to publish to a topic").
    this.alarmNamePrefix = `${stack.stackName}-`;
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        effect: iam.Effect.ALLOW,
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${this.alarmNamePrefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    const action = new cwActions.SnsAction(this.topic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      // An explicit name under the prefix the topic policy allows (and a stable name for the runbook).
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `${this.alarmNamePrefix}${alarmId}`,
        ...alarmProps,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      alarms[alarmId] = created;
      return created;
    };

    const sqsMetric = (
      queueName: string,
      metricName: string,
      statistic: string,
      period: Duration,
    ) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SQS',
        metricName,
        dimensionsMap: { QueueName: queueName },
        statistic,
        period,
      });
    const lambdaMetric = (functionName: string, metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: { FunctionName: functionName },
        statistic,
        period: Duration.minutes(5),
      });

    const dlqAlarm = (alarmId: string, queueName: string, what: string) =>
      alarm(alarmId, {
        alarmDescription: `${what}: a message is in the dead-letter queue ${queueName}. Read it (its attributes give error_code and error_reason), fix the cause, then redrive it (docs/operations.md, "DeadLetterQueueNotEmpty").`,
        // "Any message": ApproximateNumberOfMessagesVisible ≥ 1. NotVisible is left out: it can hover at 1.
        metric: sqsMetric(
          queueName,
          'ApproximateNumberOfMessagesVisible',
          'Maximum',
          Duration.minutes(1),
        ),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // An idle queue reports no data; that is not a problem.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    const dlqAgeAlarm = (alarmId: string, queueName: string, what: string) =>
      alarm(alarmId, {
        alarmDescription: `${what}: a message has been in the dead-letter queue ${queueName} for more than ${dlqAgeThreshold.toHumanString()}. SQS deletes it when retention ends (an unseen erasure request would be lost). See docs/operations.md, "DeadLetterQueueAge".`,
        metric: sqsMetric(
          queueName,
          'ApproximateAgeOfOldestMessage',
          'Maximum',
          Duration.minutes(5),
        ),
        threshold: dlqAgeThreshold.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    for (const lane of props.lanes) {
      const title = capitalise(lane.lane);
      dlqAlarm(`${title}DeadLetterQueueNotEmpty`, lane.deadLetterQueueName, `${title} lane`);
      alarm(`${title}OldestMessageAge`, {
        alarmDescription: `${title} lane is behind: the oldest message in ${lane.queueName} is older than ${ageThreshold.toHumanString()}. Check the function's errors and the PostHog throttling/outage metrics; messages keep retrying until maxReceiveCount.`,
        metric: sqsMetric(
          lane.queueName,
          'ApproximateAgeOfOldestMessage',
          'Maximum',
          Duration.minutes(5),
        ),
        threshold: ageThreshold.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${title}FunctionErrors`, {
        alarmDescription: `${lane.functionName} failed whole invocations (crash, timeout or bad configuration; per-message failures are not errors). Read its logs.`,
        metric: lambdaMetric(lane.functionName, 'Errors', 'Sum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      // EMF from the function: Powertools adds the `service` dimension to every metric, and PostHogThrottled
      // carries no other (runtime-notes: metrics).
      alarm(`${title}PostHogThrottled`, {
        alarmDescription: `PostHog answered the ${lane.lane} lane 429 (throttled) at least ${throttledThreshold} times per 5 minutes. Messages wait out Retry-After, but the rate budget is too high for the key: lower rateDeletePerMinute/rateDeletePerHour/rateOtherPerMinute or stop other users of the key.`,
        metric: new cloudwatch.Metric({
          namespace,
          metricName: 'PostHogThrottled',
          dimensionsMap: { service: lane.serviceName },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: throttledThreshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      const emf = (metricName: EmfMetricName) =>
        new cloudwatch.Metric({
          namespace,
          metricName,
          dimensionsMap: { service: lane.serviceName },
          statistic: 'Sum',
          period: Duration.minutes(5),
        });
      // Messages that keep failing are retried with backoff for ~11 h before SQS dead-letters them; this sees
      // them while they retry. Blocked FIFO successors count as retried too (they wait for their group).
      alarm(`${title}RetryRate`, {
        alarmDescription: `More than ${retryRatePercent}% of the ${lane.lane} lane's messages were retried for 15 minutes (MessagesRetried / MessagesReceived, at least ${RATE_ALARM_MIN_SAMPLES} messages per 5 minutes). See docs/operations.md, "RetryRate".`,
        metric: new cloudwatch.MathExpression({
          expression: `IF(received >= ${RATE_ALARM_MIN_SAMPLES}, 100 * retried / received, 0)`,
          usingMetrics: { received: emf('MessagesReceived'), retried: emf('MessagesRetried') },
          period: Duration.minutes(5),
          label: 'retried %',
        }),
        threshold: retryRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      // A revoked or under-scoped key: the batch loop retries such messages (it is not their fault), so
      // without this alarm they would only show up ~11 h later in the DLQ.
      alarm(`${title}PostHogAuthRejected`, {
        alarmDescription: `PostHog answered the ${lane.lane} lane 401/403: the personal API key in the secret is wrong, revoked or lacks a scope. See docs/operations.md, "PostHogAuthRejected".`,
        metric: emf('PostHogAuthRejected'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${title}PostHogServerErrorRate`, {
        alarmDescription: `More than ${serverErrorRatePercent}% of PostHog's responses to the ${lane.lane} lane were 5xx in 2 of 3 5-minute periods (at least ${RATE_ALARM_MIN_SAMPLES} responses each). See docs/operations.md, "PostHogServerErrorRate".`,
        metric: new cloudwatch.MathExpression({
          expression: `IF(responses >= ${RATE_ALARM_MIN_SAMPLES}, 100 * errors / responses, 0)`,
          usingMetrics: {
            responses: emf('PostHogResponses'),
            errors: emf('PostHogServerErrors'),
          },
          period: Duration.minutes(5),
          label: '5xx %',
        }),
        threshold: serverErrorRatePercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      // The fleet-wide budget keeps working when its table is slow or failing (each instance falls back to its
      // share, so nothing is throttled), but the lane then runs at about 1/instances of the budget per instance:
      // a sustained fallback is a slowdown someone should look at, a single one is not.
      alarm(`${title}RateBudgetFallbacks`, {
        alarmDescription: `The ${lane.lane} lane has fallen back from the shared rate budget to its per-instance share in 3 consecutive 5-minute periods: the shared state table is slow or failing, and the lane runs slower until it recovers. See docs/operations.md, "RateBudgetFallbacks".`,
        metric: emf('RateBudgetFallbacks'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (lane.lane === 'deletions') {
        // A delete that went ahead without its tombstones leaves those persons open to re-creation by capture
        // writes (docs/scale.md); nothing replays tombstones, so someone must look.
        alarm(`${title}TombstoneWriteFailures`, {
          alarmDescription: `The ${lane.lane} lane deleted persons without recording their erasure tombstones in the shared state table: capture writes to those distinct ids are not refused. See docs/operations.md, "TombstoneWriteFailures".`,
          metric: emf('TombstoneWriteFailures'),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      }
      dlqAgeAlarm(`${title}DeadLetterQueueAge`, lane.deadLetterQueueName, `${title} lane`);
      alarm(`${title}FunctionThrottles`, {
        alarmDescription: `${lane.functionName} was throttled by Lambda: the account or reserved concurrency is exhausted (the event source's maxConcurrency alone never throttles).`,
        metric: lambdaMetric(lane.functionName, 'Throttles', 'Sum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [index, queueName] of (props.extraDeadLetterQueueNames ?? []).entries()) {
      const suffix = index === 0 ? '' : String(index + 1);
      dlqAlarm(`RoutingDeadLetterQueueNotEmpty${suffix}`, queueName, 'EventBridge routing');
      dlqAgeAlarm(`RoutingDeadLetterQueueAge${suffix}`, queueName, 'EventBridge routing');
    }

    this.alarms = alarms;

    this.dashboard = this.buildDashboard(props, namespace);
  }

  private buildDashboard(props: RelayMonitoringProps, namespace: string): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-persons-relay`,
      defaultInterval: Duration.hours(6),
    });
    const period = Duration.minutes(5);
    // SEARCH returns one line per dimension combination (lane, reason, endpoint, status …). Its schema
    // `{namespace,dim,…}` matches only metrics with exactly those dimension names, so it must name the full
    // set the functions emit: a bare `{namespace}` would match only dimensionless metrics, i.e. none of ours.
    const search = (metricName: EmfMetricName, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${[namespace, ...EMF_DIMENSIONS[metricName]].join(',')}} MetricName="${metricName}"', 'Sum', ${period.toSeconds()})`,
        usingMetrics: {},
        period,
        label,
      });
    // An AWS service metric of one resource, named by the service's dimension (QueueName, FunctionName).
    const serviceMetric =
      (namespace: string, dimension: string) =>
      (resourceName: string, metricName: string, statistic: string, label: string) =>
        new cloudwatch.Metric({
          namespace,
          metricName,
          dimensionsMap: { [dimension]: resourceName },
          statistic,
          period,
          label,
        });
    const sqs = serviceMetric('AWS/SQS', 'QueueName');
    const fn = serviceMetric('AWS/Lambda', 'FunctionName');

    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms),
        width: 24,
        height: 4,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Messages applied / retried / rejected',
        left: [
          search('MessagesReceived', 'received'),
          search('MessagesApplied', 'applied'),
          search('MessagesRetried', 'retried'),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Messages rejected, by reason',
        left: [search('MessagesRejected', 'rejected')],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'PostHog calls, by endpoint and status',
        left: [search('PostHogCalls', 'calls')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'PostHog throttling (429) and persons deleted',
        left: [search('PostHogThrottled', '429')],
        right: [search('PersonsDeleted', 'persons deleted')],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'PostHog responses, 401/403 (key) and 5xx',
        left: [search('PostHogResponses', 'responses')],
        right: [search('PostHogAuthRejected', '401/403'), search('PostHogServerErrors', '5xx')],
        width: 24,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Shared rate budget: fallbacks to the per-instance share, store failures',
        left: [search('RateBudgetFallbacks', 'fallback acquisitions')],
        right: [search('RateBudgetStoreFailures', 'store failures')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Erasure tombstones: recorded, write failures',
        left: [search('TombstonesRecorded', 'recorded')],
        right: [search('TombstoneWriteFailures', 'write failures')],
        width: 12,
      }),
    );
    for (const lane of props.lanes) {
      const title = capitalise(lane.lane);
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${title}: queue depth`,
          left: [
            sqs(lane.queueName, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'visible'),
            sqs(
              lane.queueName,
              'ApproximateNumberOfMessagesNotVisible',
              'Maximum',
              'in flight / delayed',
            ),
            sqs(lane.deadLetterQueueName, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'DLQ'),
          ],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: `${title}: age of oldest message (s)`,
          left: [sqs(lane.queueName, 'ApproximateAgeOfOldestMessage', 'Maximum', 'oldest')],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: `${title}: function`,
          left: [
            fn(lane.functionName, 'Invocations', 'Sum', 'invocations'),
            fn(lane.functionName, 'Errors', 'Sum', 'errors'),
            fn(lane.functionName, 'Throttles', 'Sum', 'throttles'),
          ],
          right: [
            fn(lane.functionName, 'Duration', 'p90', 'duration p90 (ms)'),
            fn(lane.functionName, 'ConcurrentExecutions', 'Maximum', 'concurrency'),
          ],
          width: 8,
        }),
      );
    }
    return dashboard;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
