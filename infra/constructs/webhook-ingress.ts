/**
 * `WebhookIngress`: the webhook ingress function behind an API Gateway HTTP API with stage throttling and access
 * logs, one Secrets Manager secret per provider (its signing secret), send access to both lanes, alarms on the
 * 4xx and 5xx rates, and a dashboard.
 *
 * Why an HTTP API and not a Lambda function URL: the issue requires throttling. An HTTP API stage throttles by
 * request rate and burst (a token bucket) and answers 429 before the function runs
 * (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html); a function URL can only be
 * limited through the function's reserved concurrency, "maximum request rate per second (RPS) is equivalent to
 * 10 times the configured reserved concurrency" (docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html),
 * which also caps the function for every other caller and has no burst. The HTTP API also gives stage access logs
 * and per-API 4xx/5xx/Count metrics for the alarms. Its 30 s integration timeout is far above every provider's
 * delivery deadline (docs/webhooks.md).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { WebhookProvider } from '#lib/adapters/index.ts';
import { envSuffix } from '#lib/ingress/config.ts';
import { projectRoot } from '../bundling.ts';
import { nodejsBundlingOptions } from './queue-consumer.ts';

/** Properties of a {@link WebhookIngress}. */
export interface WebhookIngressProps {
  /** Absolute path of the ingress entry file (functions/ingress.ts). */
  readonly entry: string;
  /** Physical function name. @default - generated */
  readonly functionName?: string;
  /** The providers to accept; each gets a route target and a secret. */
  readonly providers: readonly WebhookProvider[];
  readonly deletionsQueue: sqs.IQueue;
  readonly changesQueue: sqs.IQueue;
  /** Per-provider distinct-id paths (`WEBHOOK_DISTINCT_ID_FIELDS_<P>`), comma-separated. @default - the adapters' defaults */
  readonly distinctIdFields?: Readonly<Partial<Record<WebhookProvider, string>>>;
  /** Per-provider distinct-id prefixes (`WEBHOOK_DISTINCT_ID_PREFIX_<P>`). @default - none */
  readonly distinctIdPrefixes?: Readonly<Partial<Record<WebhookProvider, string>>>;
  /** Steady-state requests per second of the stage. @default 50 */
  readonly rateLimit?: number;
  /** Burst (token bucket size) of the stage. @default 100 */
  readonly burstLimit?: number;
  /** Alarm when more than this percentage of requests get a 4xx in 2 of 3 five-minute periods. @default 20 */
  readonly clientErrorRatePercent?: number;
  /** Alarm when more than this percentage of requests get a 5xx in 2 of 3 five-minute periods. @default 5 */
  readonly serverErrorRatePercent?: number;
  /** Actions of the alarms (e.g. an SNS topic). @default - none */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Email subscribed to a topic of the ingress's own that both alarms notify (alarm and OK). Its own topic because
   * the monitoring stack's topic lives in a stack that depends on this one. @default - no topic
   */
  readonly alarmEmail?: string;
  /** Physical name of the dashboard. @default - generated */
  readonly dashboardName?: string;
  readonly removalPolicy?: RemovalPolicy;
  /** Extra environment (POWERTOOLS_* ...). @default {} */
  readonly environment?: Readonly<Record<string, string>>;
}

/** The ingress function, its HTTP API, secrets, alarms and dashboard. */
export class WebhookIngress extends Construct {
  public readonly api: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  /** One signing secret per provider (put the provider's secret string in it after deploy). */
  public readonly secrets: Readonly<Partial<Record<WebhookProvider, secretsmanager.Secret>>>;
  public readonly alarms: {
    readonly clientErrorRate: cloudwatch.Alarm;
    readonly serverErrorRate: cloudwatch.Alarm;
  };
  public readonly dashboard: cloudwatch.Dashboard;
  /** The alarm topic, when `alarmEmail` is given. */
  public readonly alarmTopic: sns.Topic | undefined;

  public constructor(scope: Construct, id: string, props: WebhookIngressProps) {
    super(scope, id);
    if (props.providers.length === 0) throw new Error('WebhookIngress needs at least one provider');
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    // As in QueueConsumer: an explicit role that may only write its own log group (no managed policy).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    logGroup.grantWrite(this.role);

    const environment: Record<string, string> = {
      ...props.environment,
      DELETIONS_QUEUE_URL: props.deletionsQueue.queueUrl,
      CHANGES_QUEUE_URL: props.changesQueue.queueUrl,
      NODE_OPTIONS: '--enable-source-maps',
    };
    for (const provider of props.providers) {
      const fields = props.distinctIdFields?.[provider];
      const prefix = props.distinctIdPrefixes?.[provider];
      if (fields !== undefined)
        environment[`WEBHOOK_DISTINCT_ID_FIELDS_${envSuffix(provider)}`] = fields;
      if (prefix !== undefined)
        environment[`WEBHOOK_DISTINCT_ID_PREFIX_${envSuffix(provider)}`] = prefix;
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      ...(props.functionName === undefined ? {} : { functionName: props.functionName }),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: `${projectRoot}/package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      // Providers wait seconds, not minutes, for an answer: a hung SQS call must not hold the request longer.
      timeout: Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup,
      bundling: nodejsBundlingOptions(),
      description:
        'persons-relay webhook ingress: verifies provider signatures and enqueues commands',
      environment,
    });
    props.deletionsQueue.grantSendMessages(this.function);
    props.changesQueue.grantSendMessages(this.function);

    const secrets: Partial<Record<WebhookProvider, secretsmanager.Secret>> = {};
    for (const provider of props.providers) {
      // Created with a generated placeholder; put the provider's signing secret with put-secret-value (docs/webhooks.md).
      const secret = new secretsmanager.Secret(this, `${provider}Secret`, {
        description: `persons-relay ${provider} webhook signing secret (the raw string from the ${provider} console)`,
        removalPolicy,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: `The ${provider} signing secret is issued by ${provider} and rotated in its console; there is no API for a rotation Lambda to call. The function picks a new value up within WEBHOOK_SECRET_MAX_AGE_SECONDS.`,
      });
      secret.grantRead(this.function);
      this.function.addEnvironment(`WEBHOOK_SECRET_${envSuffix(provider)}`, secret.secretArn);
      secrets[provider] = secret;
    }
    this.secrets = secrets;

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'persons-relay webhook ingress',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 50, burstLimit: props.burstLimit ?? 100 },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
    const integration = new HttpLambdaIntegration('Ingress', this.function, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    const routes = this.api.addRoutes({
      path: '/webhooks/{provider}',
      methods: [apigwv2.HttpMethod.POST],
      integration,
    });
    if (props.providers.includes('okta')) {
      routes.push(
        ...this.api.addRoutes({
          path: '/webhooks/okta',
          methods: [apigwv2.HttpMethod.GET],
          integration,
        }),
      );
    }
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Webhook providers cannot use IAM or JWT authorizers; each request is authenticated by the function with the provider scheme (signed body and timestamp, or the shared Authorization secret) before anything is read.',
      });
    }

    // Math ids must be unique per graph: the 4xx and 5xx rates share one widget.
    const rate = (errorsId: string, metric: cloudwatch.IMetric, label: string) =>
      new cloudwatch.MathExpression({
        expression: `IF(requests > 0, 100 * ${errorsId} / requests, 0)`,
        usingMetrics: {
          [errorsId]: metric,
          requests: this.api.metricCount({ period: Duration.minutes(5), statistic: 'Sum' }),
        },
        label,
        period: Duration.minutes(5),
      });
    // Not KMS-encrypted, as the monitoring stack's topic: notifications carry only alarm names and metric values.
    this.alarmTopic =
      props.alarmEmail === undefined
        ? undefined
        : new sns.Topic(this, 'AlarmTopic', {
            displayName: 'persons-relay webhook alarms',
            enforceSSL: true,
          });
    if (this.alarmTopic !== undefined && props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const actions = [
      ...(props.alarmActions ?? []),
      ...(this.alarmTopic === undefined ? [] : [new cwActions.SnsAction(this.alarmTopic)]),
    ];
    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      what: string,
    ) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: `persons-relay webhooks: more than ${threshold}% of requests answered ${what} in 2 of 3 five-minute periods. Read the ingress log (refusal reason per request) and the provider's delivery log.`,
        metric,
        threshold,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      for (const action of actions) {
        created.addAlarmAction(action);
        created.addOkAction(action);
      }
      return created;
    };
    const clientErrors = rate(
      'clientErrors',
      this.api.metricClientError({ period: Duration.minutes(5) }),
      '4xx %',
    );
    const serverErrors = rate(
      'serverErrors',
      this.api.metricServerError({ period: Duration.minutes(5) }),
      '5xx %',
    );
    this.alarms = {
      clientErrorRate: alarm(
        'ClientErrorRate',
        clientErrors,
        props.clientErrorRatePercent ?? 20,
        '4xx',
      ),
      serverErrorRate: alarm(
        'ServerErrorRate',
        serverErrors,
        props.serverErrorRatePercent ?? 5,
        '5xx',
      ),
    };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
    });
    const period = Duration.minutes(5);
    const outcomes = new cloudwatch.MathExpression({
      expression: `SEARCH('{PersonsRelay,outcome,provider,service} MetricName="WebhookRequests"', 'Sum', ${period.toSeconds()})`,
      label: '',
      period,
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Webhook alarms',
        alarms: Object.values(this.alarms),
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Webhook requests, 4xx and 5xx (HTTP API)',
        left: [
          this.api.metricCount({ period, statistic: 'Sum' }),
          this.api.metricClientError({ period }),
          this.api.metricServerError({ period }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Webhook 4xx / 5xx rate (%)',
        left: [clientErrors, serverErrors],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Webhook outcomes by provider (EMF WebhookRequests)',
        left: [outcomes],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Webhook latency (p99) and ingress duration',
        left: [this.api.metricLatency({ period, statistic: 'p99' })],
        right: [this.function.metricDuration({ period, statistic: 'p99' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Commands sent / events ignored',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{PersonsRelay,provider,service} MetricName="WebhookCommandsSent"', 'Sum', ${period.toSeconds()})`,
            label: '',
            period,
          }),
          new cloudwatch.MathExpression({
            expression: `SEARCH('{PersonsRelay,provider,service} MetricName="WebhookEventsIgnored"', 'Sum', ${period.toSeconds()})`,
            label: '',
            period,
          }),
        ],
        width: 12,
      }),
    );

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray PutTraceSegments/PutTelemetryRecords actions (active tracing) use "*": X-Ray supports no resource-level permissions.',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is deliberate: it matches the esbuild target (node22) the bundles are tested on.',
    });
  }
}
