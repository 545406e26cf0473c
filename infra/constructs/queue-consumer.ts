/**
 * `QueueConsumer`: an SQS queue, its dead-letter queue, a Node.js Lambda function and the event source between
 * them, with safe defaults. Modelled on aws-solutions-constructs `aws-sqs-lambda` (`SqsToLambda`), with the
 * defaults persons-relay needs where that construct's differ (SSE-SQS instead of KMS, partial batch responses
 * on, a least-privilege role without managed policies).
 */
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  type BundlingOptions,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FIFO_QUEUE_ATTRIBUTES } from '#lib/batch/lane-queues.ts';
import { bundleSettings, projectRoot } from '../bundling.ts';

/**
 * The CDK form of `bundleSettings` (infra/bundling.ts): the same esbuild flags the local build uses, run by
 * the local esbuild binary (never Docker).
 */
export function nodejsBundlingOptions(): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    minify: bundleSettings.minify,
    sourceMap: bundleSettings.sourcemap,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: bundleSettings.sourcesContent,
    target: bundleSettings.target,
    mainFields: [...bundleSettings.mainFields],
    externalModules: [...bundleSettings.external],
    banner: bundleSettings.banner,
    forceDockerBundling: false,
  };
}

/** Lambda's minimum ratio of queue visibility timeout to function timeout (services-sqs-configure). */
export const MIN_VISIBILITY_TIMEOUT_FACTOR = 6;

/** The functions' memory when none is given (the benchmark measures peak RSS against it). */
export const DEFAULT_MEMORY_SIZE_MB = 512;

/** Properties of a {@link QueueConsumer}. */
export interface QueueConsumerProps {
  /** Absolute path of the handler's entry file (exports `handler`). */
  readonly entry: string;
  /**
   * Physical name of the source queue (`.fifo` is appended for FIFO queues); the DLQ is `<name>-dlq`.
   * A known name lets the DLQ's redrive-allow policy name its source without a circular reference.
   * @default `<stack name>-<construct id>`
   */
  readonly queueName?: string;
  /**
   * Physical name of the function (≤ 64 characters). A known name lets monitoring in another stack refer to
   * it without cross-stack exports.
   * @default `<stack name>-<construct id>`
   */
  readonly functionName?: string;
  /**
   * A FIFO queue (ordered per message group) instead of a standard one. FIFO queues use high-throughput mode
   * (`deduplicationScope: MESSAGE_GROUP`, `fifoThroughputLimit: PER_MESSAGE_GROUP_ID`) and content-based
   * deduplication, so producers that set no deduplication id (e.g. EventBridge) are still de-duplicated.
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * Records per invocation. Standard queues: 1–10,000 (above 10 a batching window is required); FIFO: 1–10.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking. Not supported by FIFO queues.
   * @default - none (invoke as soon as records are available)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Upper bound of concurrent invocations by the event source (2–1000). Pass the same number to the function
   * as its rate-limiter instance count.
   * @default 2
   */
  readonly maxConcurrency?: number;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /**
   * Queue visibility timeout as a multiple of the function timeout; at least 6 (AWS guidance, so a batch
   * retried by Lambda's own error handling is not redelivered while still being processed).
   * @default 6
   */
  readonly visibilityTimeoutFactor?: number;
  /**
   * Receives before SQS moves a message to the DLQ. Size it to the retry design: every retry is one receive.
   * @default 15 (aws-solutions-constructs' default)
   */
  readonly maxReceiveCount?: number;
  /** @default Duration.days(4) (the SQS default) */
  readonly retentionPeriod?: Duration;
  /**
   * DLQ retention; must be longer than the source's, because a standard DLQ keeps each message's original
   * enqueue time.
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly deadLetterRetentionPeriod?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default lambda.Runtime.NODEJS_22_X (matches the esbuild target `node22`) */
  readonly runtime?: lambda.Runtime;
  /** @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** @default lambda.Tracing.ACTIVE */
  readonly tracing?: lambda.Tracing;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Extra environment variables (never secrets: pass the secret with {@link QueueConsumer.bindSecret}). @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** Removal policy of the queue, DLQ and log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Whether the event source polls. `false` deploys everything but leaves messages in the queue.
   * @default true
   */
  readonly enabled?: boolean;
  /** Description of the function. @default - none */
  readonly description?: string;
}

/**
 * An SQS queue consumed by a Lambda function with partial batch responses, a DLQ with a redrive policy and a
 * redrive-allow policy back to its source, SSE-SQS and TLS-only queue policies, and a least-privilege role.
 *
 * The function gets `QUEUE_URL` and `DLQ_URL` in its environment, may receive/delete/change visibility on its
 * queue and send to its DLQ (to reject a message at once), and nothing else until bound to more resources.
 */
export class QueueConsumer extends Construct {
  /** The source queue. */
  public readonly queue: sqs.Queue;
  /** The dead-letter queue of {@link queue}. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The consuming function. */
  public readonly function: NodejsFunction;
  /** The function's execution role. */
  public readonly role: iam.Role;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;
  /** The event source mapping configuration. */
  public readonly eventSource: SqsEventSource;
  /** The redrive policy's `maxReceiveCount`. */
  public readonly maxReceiveCount: number;
  /** The event source's maximum concurrency. */
  public readonly maxConcurrency: number;
  /** Physical name of {@link queue}. */
  public readonly queueName: string;
  /** Physical name of {@link deadLetterQueue}. */
  public readonly deadLetterQueueName: string;
  /** Physical name of {@link function}. */
  public readonly functionName: string;

  public constructor(scope: Construct, id: string, props: QueueConsumerProps) {
    super(scope, id);
    const fifo = props.fifo ?? false;
    const batchSize = props.batchSize ?? 10;
    const timeout = props.timeout ?? Duration.seconds(60);
    const factor = props.visibilityTimeoutFactor ?? MIN_VISIBILITY_TIMEOUT_FACTOR;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = props.retentionPeriod ?? Duration.days(4);
    const dlqRetention = props.deadLetterRetentionPeriod ?? Duration.days(14);
    this.maxReceiveCount = props.maxReceiveCount ?? 15;
    this.maxConcurrency = props.maxConcurrency ?? 2;
    validate({
      fifo,
      batchSize,
      factor,
      maxReceiveCount: this.maxReceiveCount,
      maxConcurrency: this.maxConcurrency,
      maxBatchingWindow: props.maxBatchingWindow,
      retention,
      dlqRetention,
    });

    const stack = Stack.of(this);
    const baseName = props.queueName ?? `${stack.stackName}-${id}`;
    const suffix = fifo ? '.fifo' : '';
    const queueName = `${baseName}${suffix}`;
    const dlqName = `${baseName}-dlq${suffix}`;
    const functionName = props.functionName ?? `${stack.stackName}-${id}`;
    if (!Token.isUnresolved(dlqName) && dlqName.length > 80) {
      throw new Error(`queue name ${dlqName} is longer than SQS's 80 characters`);
    }
    if (!Token.isUnresolved(functionName) && functionName.length > 64) {
      throw new Error(`function name ${functionName} is longer than 64 characters`);
    }
    this.queueName = queueName;
    this.deadLetterQueueName = dlqName;
    this.functionName = functionName;

    // SSE-SQS, not KMS: producers in other accounts (and EventBridge) can send without key-policy grants,
    // and the AWS-managed `aws/sqs` key cannot be used cross-account at all. The messages hold distinct ids
    // and property values, protected at rest by SQS-owned keys; a customer-managed key would add per-producer
    // key grants and KMS calls on every send/receive for no extra protection here.
    const encryption = sqs.QueueEncryption.SQS_MANAGED;
    // Built from the name (not `queue.queueArn`) so the DLQ can name its source without a dependency cycle.
    const sourceQueueRef = sqs.Queue.fromQueueArn(
      this,
      'SourceQueueRef',
      stack.formatArn({ service: 'sqs', resource: queueName }),
    );
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: dlqName,
      ...(fifo ? { fifo: true } : {}),
      encryption,
      enforceSSL: true,
      retentionPeriod: dlqRetention,
      redriveAllowPolicy: {
        redrivePermission: sqs.RedrivePermission.BY_QUEUE,
        sourceQueues: [sourceQueueRef],
      },
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName,
      encryption,
      enforceSSL: true,
      retentionPeriod: retention,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * factor),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      removalPolicy,
      ...(fifo
        ? {
            // The same attributes the local stack creates (lib/batch/lane-queues.ts).
            fifo: true,
            contentBasedDeduplication: FIFO_QUEUE_ATTRIBUTES.ContentBasedDeduplication === 'true',
            deduplicationScope: FIFO_QUEUE_ATTRIBUTES.DeduplicationScope as sqs.DeduplicationScope,
            fifoThroughputLimit:
              FIFO_QUEUE_ATTRIBUTES.FifoThroughputLimit as sqs.FifoThroughputLimit,
          }
        : {}),
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });
    // An explicit role instead of Lambda's default: the default attaches the AWSLambdaBasicExecutionRole
    // managed policy (logs on every log group); this one may only write to its own log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      functionName,
      handler: 'handler',
      projectRoot,
      depsLockFilePath: `${projectRoot}/package-lock.json`,
      runtime: props.runtime ?? lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_SIZE_MB,
      timeout,
      tracing: props.tracing ?? lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      bundling: nodejsBundlingOptions(),
      ...(props.description === undefined ? {} : { description: props.description }),
      environment: {
        ...props.environment,
        QUEUE_URL: this.queue.queueUrl,
        DLQ_URL: this.deadLetterQueue.queueUrl,
        // Stack traces through the .map files written next to the bundle.
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    this.eventSource = new SqsEventSource(this.queue, {
      batchSize,
      reportBatchItemFailures: true,
      maxConcurrency: this.maxConcurrency,
      enabled: props.enabled ?? true,
      ...(props.maxBatchingWindow === undefined
        ? {}
        : { maxBatchingWindow: props.maxBatchingWindow }),
    });
    // Grants receive, delete, change visibility and get attributes on the source queue (grantConsumeMessages).
    this.function.addEventSource(this.eventSource);
    // A rejected message is sent to the DLQ at once with its reason, instead of waiting for maxReceiveCount.
    this.deadLetterQueue.grantSendMessages(this.function);

    this.acknowledgeNagFindings(props.runtime);
  }

  /**
   * Lets the function read `secret` and tells it where: grants `secretsmanager:GetSecretValue` (and
   * `DescribeSecret`) on that one secret and sets `envName` to its ARN. The value itself never enters the
   * environment or the template.
   *
   * @param envName @default 'POSTHOG_SECRET_ID'
   */
  public bindSecret(
    secret: secretsmanager.ISecret,
    envName = 'POSTHOG_SECRET_ID',
    options: { readonly encryptionKeyArn?: string } = {},
  ): void {
    // Written out instead of `secret.grantRead`: an imported secret or key "lives" in the account of its ARN, and
    // for an environment-agnostic stack CDK then treats the grant as cross-account and may put it on the
    // (imported, unmodifiable) resource instead of the role.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        // A partial ARN gets Secrets Manager's 6-character suffix as a wildcard.
        resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
        // Only a secret in the function's own account: an imported ARN naming another account is refused even
        // when synth cannot compare accounts (environment-agnostic stacks). AWS uses this condition for the same
        // purpose in its managed policy AWSTransformSecretsManagerConnectorPolicy
        // (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSTransformSecretsManagerConnectorPolicy.html).
        conditions: { StringEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } },
      }),
    );
    if (options.encryptionKeyArn !== undefined) {
      // Secrets Manager decrypts a secret under a customer managed key on the caller's behalf, so the caller needs
      // kms:Decrypt on that key; kms:ViaService limits it to requests Secrets Manager makes in this region
      // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html, "Permissions for
      // the KMS key"; the AWS managed policy AWSSecretsManagerClientReadOnlyAccess grants the same pair).
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [options.encryptionKeyArn],
          conditions: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com`,
            },
          },
        }),
      );
    }
    this.function.addEnvironment(envName, secret.secretArn);
  }

  private acknowledgeNagFindings(runtime: lambda.Runtime | undefined): void {
    const validations = Validations.of(this.role);
    // X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions; CDK adds them for
    // active tracing.
    validations.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray PutTraceSegments/PutTelemetryRecords actions (active tracing) use "*": X-Ray supports no resource-level permissions.',
    });
    if (runtime === undefined || runtime === lambda.Runtime.NODEJS_22_X) {
      Validations.of(this.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x is deliberate: it matches the esbuild target (node22) and the Node major the bundles are tested on; pass runtime NODEJS_24_X to move up.',
      });
    }
  }
}

function validate(p: {
  fifo: boolean;
  batchSize: number;
  factor: number;
  maxReceiveCount: number;
  maxConcurrency: number;
  maxBatchingWindow: Duration | undefined;
  retention: Duration;
  dlqRetention: Duration;
}): void {
  const problems: string[] = [];
  if (p.factor < MIN_VISIBILITY_TIMEOUT_FACTOR) {
    problems.push(`visibilityTimeoutFactor must be at least ${MIN_VISIBILITY_TIMEOUT_FACTOR}`);
  }
  if (!Number.isInteger(p.maxReceiveCount) || p.maxReceiveCount < 1 || p.maxReceiveCount > 1000) {
    problems.push('maxReceiveCount must be an integer from 1 to 1000');
  }
  if (!Number.isInteger(p.maxConcurrency) || p.maxConcurrency < 2 || p.maxConcurrency > 1000) {
    problems.push('maxConcurrency must be an integer from 2 to 1000');
  }
  const maxBatch = p.fifo ? 10 : 10_000;
  if (!Number.isInteger(p.batchSize) || p.batchSize < 1 || p.batchSize > maxBatch) {
    problems.push(
      `batchSize must be an integer from 1 to ${maxBatch} on a ${p.fifo ? 'FIFO' : 'standard'} queue`,
    );
  }
  if (p.fifo && p.maxBatchingWindow !== undefined) {
    problems.push('maxBatchingWindow is not supported on FIFO queues');
  }
  if (!p.fifo && p.batchSize > 10 && (p.maxBatchingWindow?.toSeconds() ?? 0) < 1) {
    problems.push('a batchSize above 10 needs a maxBatchingWindow of at least 1 second');
  }
  if (p.dlqRetention.toSeconds() <= p.retention.toSeconds()) {
    problems.push('deadLetterRetentionPeriod must be longer than retentionPeriod');
  }
  if (problems.length > 0) {
    throw new Error(`Invalid QueueConsumer props: ${problems.join('; ')}`);
  }
}
