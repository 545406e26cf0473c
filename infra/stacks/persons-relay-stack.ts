/**
 * The persons-relay core stack: the PostHog secret, the two lanes (queue + DLQ + function each), producer
 * access, optional EventBridge routing and the outputs producers need.
 */
import {
  Annotations,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_RETRY_POLICY, LANE_MAX_RECEIVE_COUNT, LANE_QUEUES } from '#lib/batch/index.ts';
import { entryPath, type FunctionName } from '../bundling.ts';
import type { InfraConfig } from '../config.ts';
import { QueueConsumer } from '../constructs/queue-consumer.ts';
import { SalesforceCdcRouting } from '../constructs/salesforce-cdc-routing.ts';
import { SharedStateTable } from '../constructs/shared-state-table.ts';
import { WebhookIngress } from '../constructs/webhook-ingress.ts';
import { maxConcurrencyFor } from '../rate-budget.ts';

/**
 * How routed change events get a per-person FIFO group (see `PersonsRelayStack.routeEvents`): one rule per way
 * a command names its person (mutually exclusive `exists` patterns), each wrapping the event as
 * `{groupId, event}`; the pipe then takes `$.body.groupId` as the group and `$.body.event` as the message.
 * Events naming no person share the group `unkeyed`, so the function rejects them with a reason instead of
 * EventBridge dropping them.
 */
export const CHANGES_ROUTING = {
  groups: [
    {
      id: 'ByDistinctId',
      detail: { distinctId: [{ exists: true }] },
      groupIdPath: '$.detail.distinctId',
    },
    {
      id: 'ByUuid',
      detail: { distinctId: [{ exists: false }], uuid: [{ exists: true }] },
      groupIdPath: '$.detail.uuid',
    },
    {
      id: 'BySurvivor',
      detail: {
        distinctId: [{ exists: false }],
        uuid: [{ exists: false }],
        survivorDistinctId: [{ exists: true }],
      },
      groupIdPath: '$.detail.survivorDistinctId',
    },
    {
      id: 'Unkeyed',
      detail: {
        distinctId: [{ exists: false }],
        uuid: [{ exists: false }],
        survivorDistinctId: [{ exists: false }],
      },
      groupIdPath: undefined,
    },
  ],
  unkeyedGroupId: 'unkeyed',
  pipeMessageGroupId: '$.body.groupId',
  pipeMessageDeduplicationId: '$.body.event.id',
  pipeInputTemplate: '<$.body.event>',
  /** Sends the pipe may retry (a target error counts one receive) before the routing DLQ. */
  maxReceiveCount: 5,
} as const satisfies {
  groups: readonly {
    id: string;
    detail: Record<string, readonly { exists: boolean }[]>;
    groupIdPath: string | undefined;
  }[];
  unkeyedGroupId: string;
  pipeMessageGroupId: string;
  pipeMessageDeduplicationId: string;
  pipeInputTemplate: string;
  maxReceiveCount: number;
};

/**
 * The input transformer of a changes routing rule: `{"groupId": <person id>, "event": <whole event>}`. Written by
 * hand because `RuleTargetInput.fromObject` would quote `<aws.events.event.json>` (turning the event into a
 * string) and renders a template without paths as a static `Input`, where the reserved variable is not replaced.
 * Unquoted variables are inserted as JSON values (strings get their quotes)
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
 */
export class RoutingEnvelopeInput extends events.RuleTargetInput {
  public constructor(private readonly groupIdPath: string | undefined) {
    super();
  }

  public bind(_rule: events.IRule): events.RuleTargetInputProperties {
    const groupId =
      this.groupIdPath === undefined ? JSON.stringify(CHANGES_ROUTING.unkeyedGroupId) : '<groupId>';
    return {
      inputTemplate: `{"groupId":${groupId},"event":<aws.events.event.json>}`,
      ...(this.groupIdPath === undefined ? {} : { inputPathsMap: { groupId: this.groupIdPath } }),
    };
  }
}

/** A lane of the relay. */
export type LaneName = 'deletions' | 'changes';

/**
 * The retry design shared with the functions (lib/config.ts): each `retry` outcome makes the message
 * invisible for `min(base × 2^(receive − 1), cap)` seconds (or a longer `Retry-After`), and each such retry is
 * one SQS receive. With base 30 s and cap 900 s, 50 receives span 30+60+120+240+480 + 45 × 900 s ≈ 11.5 hours,
 * so a PostHog outage of several hours ends with messages still in the queue, not in the DLQ
 * (`outageToleranceSeconds` in lib/batch/retry-policy.ts, checked by a test). Source retention (7 days) is far longer.
 */
export const RETRY_DESIGN = {
  ...DEFAULT_RETRY_POLICY,
  maxReceiveCount: LANE_MAX_RECEIVE_COUNT,
} as const;

/** Fixed per-lane settings (what differs between the lanes, and why). */
export const LANE_SETTINGS = {
  deletions: {
    functionName: 'apply-deletions',
    fifo: LANE_QUEUES.deletions.fifo,
    // Large batches coalesce single-id deletes into few bulk_delete calls (≤1000 ids each). 1000 messages
    // fill at least one call; larger batches would not save calls but would risk the timeout when
    // messages carry many ids each.
    batchSize: LANE_QUEUES.deletions.batchSize,
    // Gather up to 30 s of deletes before invoking: latency is not critical for erasure, call count is.
    maxBatchingWindow: Duration.seconds(30),
    timeout: Duration.seconds(120),
  },
  changes: {
    functionName: 'apply-changes',
    fifo: LANE_QUEUES.changes.fifo,
    // FIFO event sources take at most 10 records and no batching window.
    batchSize: LANE_QUEUES.changes.batchSize,
    maxBatchingWindow: undefined,
    timeout: Duration.seconds(60),
  },
} as const satisfies Record<
  LaneName,
  {
    functionName: FunctionName;
    fifo: boolean;
    batchSize: number;
    maxBatchingWindow: Duration | undefined;
    timeout: Duration;
  }
>;

/** Names of a deployed lane's parts, for monitoring without cross-stack references. */
export interface LaneNames {
  readonly lane: LaneName;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  readonly functionName: string;
  /** The function's Powertools service name: the `service` dimension of its EMF metrics. */
  readonly serviceName: string;
}

/** The Powertools service name (log field and EMF `service` dimension) of a lane's function. */
export function serviceNameOf(lane: LaneName): string {
  return `persons-relay-${lane}`;
}

/** Properties of a {@link PersonsRelayStack}. */
export interface PersonsRelayStackProps extends StackProps {
  /** The deployment configuration (usually from CDK context, see infra/config.ts). */
  readonly config: InfraConfig;
}

/** The core stack: secret, lanes, producer access, routing and outputs. */
export class PersonsRelayStack extends Stack {
  /** The secret holding `{"personalApiKey","projectToken"}` (created or imported). */
  public readonly secret: secretsmanager.ISecret;
  /** The two lanes. */
  public readonly lanes: Readonly<Record<LaneName, QueueConsumer>>;
  /** Dead-letter queue of the EventBridge targets (only when routing is configured). */
  public readonly routingDeadLetterQueue: sqs.Queue | undefined;
  /** Physical name of {@link routingDeadLetterQueue}. */
  public readonly routingDeadLetterQueueName: string | undefined;
  /** The shared state table: the fleet-wide rate budget and the erasure tombstones, used by both lanes. */
  public readonly stateTable: SharedStateTable;
  /** The webhook ingress (only when `webhookProviders` is set). */
  public readonly webhookIngress: WebhookIngress | undefined;
  /** The Salesforce CDC rules (only when `salesforceEventBusName` is set). */
  public readonly salesforceCdc: SalesforceCdcRouting | undefined;

  public constructor(scope: Construct, id: string, props: PersonsRelayStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = RemovalPolicy[config.removalPolicy];

    this.secret = this.createOrImportSecret(config, removalPolicy);

    const deleteBudget = {
      perMinute: config.rateDeletePerMinute,
      perHour: config.rateDeletePerHour,
    };
    const otherBudget = { perMinute: config.rateOtherPerMinute };
    const concurrency: Record<LaneName, number> = {
      deletions:
        config.deletionsMaxConcurrency ??
        maxConcurrencyFor(deleteBudget, config.expectedCallSeconds),
      changes:
        config.changesMaxConcurrency ?? maxConcurrencyFor(otherBudget, config.expectedCallSeconds),
    };
    const enabled = config.posthogProjectId !== undefined;
    if (!enabled) {
      Annotations.of(this).addWarningV2(
        'persons-relay:posthogProjectId',
        'posthogProjectId is not set: the event sources are deployed disabled (messages wait in the queues). Pass -c posthogProjectId=<id>.',
      );
    }

    const lane = (name: LaneName): QueueConsumer => {
      const settings = LANE_SETTINGS[name];
      const consumer = new QueueConsumer(this, name, {
        entry: entryPath(settings.functionName),
        queueName: `${this.stackName}-${name}`,
        functionName: `${this.stackName}-${settings.functionName}`,
        description: `persons-relay ${name} lane: applies ${name} commands to PostHog`,
        fifo: settings.fifo,
        batchSize: settings.batchSize,
        ...(settings.maxBatchingWindow === undefined
          ? {}
          : { maxBatchingWindow: settings.maxBatchingWindow }),
        maxConcurrency: concurrency[name],
        timeout: settings.timeout,
        maxReceiveCount: RETRY_DESIGN.maxReceiveCount,
        retentionPeriod: Duration.days(7),
        deadLetterRetentionPeriod: Duration.days(14),
        removalPolicy,
        enabled,
        environment: {
          LANE: name,
          POSTHOG_HOST: config.posthogHost,
          POSTHOG_PROJECT_ID: config.posthogProjectId ?? '0',
          POSTHOG_RATE_DELETE_PER_MINUTE: String(config.rateDeletePerMinute),
          POSTHOG_RATE_DELETE_PER_HOUR: String(config.rateDeletePerHour),
          POSTHOG_RATE_OTHER_PER_MINUTE: String(config.rateOtherPerMinute),
          // The shared budget (RELAY_STATE_TABLE_NAME) is the fleet's; this share is only its fallback when the
          // table is slow or failing: the budget divided by the number of instances Lambda may run.
          POSTHOG_RATE_INSTANCES: String(concurrency[name]),
          POSTHOG_PROPERTY_WRITES: config.propertyWrites,
          RETRY_BASE_DELAY_SECONDS: String(RETRY_DESIGN.baseDelaySeconds),
          RETRY_MAX_DELAY_SECONDS: String(RETRY_DESIGN.maxDelaySeconds),
          // The function dead-letters a message failing at its last delivery itself (with its reason).
          REDRIVE_MAX_RECEIVE_COUNT: String(RETRY_DESIGN.maxReceiveCount),
          SECRET_MAX_AGE_SECONDS: '300',
          // One service per lane: the EMF metrics (dimension `service`) and the logs tell the lanes apart.
          POWERTOOLS_SERVICE_NAME: serviceNameOf(name),
          POWERTOOLS_METRICS_NAMESPACE: 'PersonsRelay',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        },
      });
      // kms:Decrypt on the imported secret's customer managed key, if any (QueueConsumer.bindSecret).
      consumer.bindSecret(
        this.secret,
        'POSTHOG_SECRET_ID',
        config.posthogSecretKmsKeyArn === undefined
          ? {}
          : { encryptionKeyArn: config.posthogSecretKmsKeyArn },
      );
      return consumer;
    };
    this.lanes = { deletions: lane('deletions'), changes: lane('changes') };
    // One budget per PostHog key for the whole fleet (both lanes), and the erasure tombstones (lib/store).
    this.stateTable = new SharedStateTable(this, 'SharedState', {
      tableName: `${this.stackName}-state`,
      removalPolicy,
    });
    this.stateTable.bind(this.lanes.deletions, 'deletions');
    this.stateTable.bind(this.lanes.changes, 'changes');

    this.allowProducers(config);
    this.routingDeadLetterQueueName =
      config.eventBusName === undefined ? undefined : `${this.stackName}-routing-dlq`;
    this.routingDeadLetterQueue =
      config.eventBusName === undefined ? undefined : this.routeEvents(config, config.eventBusName);
    this.webhookIngress = this.addWebhookIngress(config, removalPolicy);
    this.salesforceCdc =
      config.salesforceEventBusName === undefined
        ? undefined
        : new SalesforceCdcRouting(this, 'SalesforceCdc', {
            eventBusName: config.salesforceEventBusName,
            entities: config.salesforceEntities,
            deletionsQueue: this.lanes.deletions.queue,
            changesQueue: this.lanes.changes.queue,
            deadLetterQueueName: `${this.stackName}-salesforce-routing-dlq`,
            removalPolicy,
          });
    this.addOutputs();
  }

  /** The webhook ingress (infra/constructs/webhook-ingress.ts), when providers are configured. */
  private addWebhookIngress(
    config: InfraConfig,
    removalPolicy: RemovalPolicy,
  ): WebhookIngress | undefined {
    if (config.webhookProviders.length === 0) return undefined;
    const ingress = new WebhookIngress(this, 'Webhooks', {
      entry: entryPath('ingress'),
      functionName: `${this.stackName}-ingress`,
      providers: config.webhookProviders,
      deletionsQueue: this.lanes.deletions.queue,
      changesQueue: this.lanes.changes.queue,
      distinctIdFields: config.webhookDistinctIdFields,
      distinctIdPrefixes: config.webhookDistinctIdPrefixes,
      rateLimit: config.webhookRateLimit,
      burstLimit: config.webhookBurstLimit,
      dashboardName: `${this.stackName}-webhooks`,
      ...(config.alarmEmail === undefined ? {} : { alarmEmail: config.alarmEmail }),
      removalPolicy,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'persons-relay-ingress',
        POWERTOOLS_METRICS_NAMESPACE: 'PersonsRelay',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    });
    new CfnOutput(this, 'WebhookUrl', {
      value: `${ingress.api.apiEndpoint}/webhooks/`,
      description: 'Point each provider at <this>/<provider> (docs/webhooks.md)',
    });
    return ingress;
  }

  /** The physical names of each lane's queue, DLQ and function (plain strings, no tokens). */
  public laneNames(): LaneNames[] {
    return (Object.keys(this.lanes) as LaneName[]).map((lane) => ({
      lane,
      queueName: this.lanes[lane].queueName,
      deadLetterQueueName: this.lanes[lane].deadLetterQueueName,
      functionName: this.lanes[lane].functionName,
      serviceName: serviceNameOf(lane),
    }));
  }

  private createOrImportSecret(
    config: InfraConfig,
    removalPolicy: RemovalPolicy,
  ): secretsmanager.ISecret {
    if (config.posthogSecretArn === undefined && config.posthogSecretKmsKeyArn !== undefined) {
      throw new Error(
        'posthogSecretKmsKeyArn needs posthogSecretArn (the created secret uses the AWS managed key)',
      );
    }
    if (config.posthogSecretArn !== undefined) {
      const arn = config.posthogSecretArn;
      this.refuseForeignAccount('posthogSecretArn', arn);
      const keyArn = config.posthogSecretKmsKeyArn;
      if (keyArn !== undefined) {
        this.refuseForeignAccount('posthogSecretKmsKeyArn', keyArn);
        if (accountOfArn(keyArn) !== accountOfArn(arn)) {
          throw new Error(
            `posthogSecretKmsKeyArn is in account ${accountOfArn(keyArn)} but the secret in ${accountOfArn(arn)}: both must be in the stack's account`,
          );
        }
      }
      // A complete ARN ends in Secrets Manager's random 6-character suffix; grants are then exact.
      return secretsmanager.Secret.fromSecretAttributes(this, 'PostHogSecret', {
        ...(/-[A-Za-z0-9]{6}$/.test(arn) ? { secretCompleteArn: arn } : { secretPartialArn: arn }),
      });
    }
    // Created with a random placeholder (generated by Secrets Manager at deploy time, never in the template).
    // Put the real JSON with `aws secretsmanager put-secret-value` (docs/deploy.md, "Deploy").
    const secret = new secretsmanager.Secret(this, 'PostHogSecret', {
      description:
        'persons-relay PostHog credentials as JSON: {"personalApiKey":"phx_...","projectToken":"phc_..."}',
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'PostHog personal API keys are issued in the PostHog UI and have no API to rotate them, so a rotation Lambda cannot exist; rotate by hand (docs/deploy.md) and the functions pick up the new value within SECRET_MAX_AGE_SECONDS.',
    });
    // The class is an ISecret; exactOptionalPropertyTypes trips over an optional property's declared type.
    return secret as secretsmanager.ISecret;
  }

  /**
   * Refuses an imported resource in another account than the stack's. The functions would need a resource policy
   * there and a customer managed key (the AWS managed key cannot be used across accounts), and a typo in an
   * account id must not silently point the relay at somebody else's credentials. When the stack is
   * environment-agnostic (no `account` context) the check happens at deploy time instead: the functions' secret
   * grant carries `aws:ResourceAccount = ${aws:PrincipalAccount}` (see `bindSecret`).
   */
  private refuseForeignAccount(key: string, arn: string): void {
    if (Token.isUnresolved(this.account)) return;
    const account = accountOfArn(arn);
    if (account !== this.account) {
      throw new Error(
        `${key} is in account ${account}, not in this stack's account ${this.account}: persons-relay reads its secret from its own account only`,
      );
    }
  }

  /** Queue policies letting the configured accounts/principals send to both lanes. */
  private allowProducers(config: InfraConfig): void {
    const principals: iam.IPrincipal[] = [
      ...config.producerAccountIds.map((account) => new iam.AccountPrincipal(account)),
      ...config.producerPrincipalArns.map((arn) => new iam.ArnPrincipal(arn)),
    ];
    const organizations = config.producerOrganizationIds;
    for (const consumer of Object.values(this.lanes)) {
      if (organizations.length > 0) {
        // Any principal whose account belongs to one of these organizations: Principal "*" narrowed by the global
        // condition key aws:PrincipalOrgID (a list is OR), the documented way to grant a whole organization in a
        // resource policy (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid).
        consumer.queue.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: 'AllowProducerOrganizations',
            principals: [new iam.AnyPrincipal()],
            actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
            resources: [consumer.queue.queueArn],
            conditions: { StringEquals: { 'aws:PrincipalOrgID': [...organizations] } },
          }),
        );
      }
      if (principals.length === 0) continue;
      // SendMessage covers SendMessageBatch and FIFO's MessageGroupId/MessageDeduplicationId parameters;
      // GetQueueUrl/GetQueueAttributes let producers resolve the queue by name. With SSE-SQS no KMS grant is
      // needed. The producers' own IAM policies must allow the same actions on these ARNs.
      consumer.queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowProducers',
          principals,
          actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          resources: [consumer.queue.queueArn],
        }),
      );
    }
  }

  /**
   * Rules on `busName` routing each command `detail-type` to its lane.
   *
   * Deletions go straight to the standard deletions queue. Changes need a FIFO `MessageGroupId` per person, and
   * an EventBridge *rule* target cannot give one: `SqsParameters.MessageGroupId` is a plain string
   * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_SqsParameters.html), so every routed change
   * would share one group. EventBridge *Pipes* can: its target parameters accept a dynamic JSON path into the
   * source event for "all string, non-enum fields" (`$.body.<key>` for an SQS source), replaced at runtime by the
   * value at that path (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-target.html,
   * "Dynamic path parameters"; `MessageGroupId` is a string field of `PipeTargetSqsQueueParameters`,
   * https://docs.aws.amazon.com/eventbridge/latest/pipes-reference/API_PipeTargetSqsQueueParameters.html). A
   * bus is not a pipe source, so changes take two hops:
   *
   * 1. Four rules with mutually exclusive patterns (distinctId, else uuid, else survivorDistinctId, else none)
   *    send `{"groupId": <the person's id>, "event": <the whole event>}` to a standard routing queue, through an
   *    input transformer (`<aws.events.event.json>` is the full original event, "only as the value of a JSON
   *    field", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
   * 2. A pipe reads that queue and sends `<$.body.event>` (the original event, so the function parses it as
   *    before; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-input-transformation.html) to
   *    the FIFO queue with `MessageGroupId: $.body.groupId` and `MessageDeduplicationId: $.body.event.id` (an
   *    event EventBridge delivers twice keeps its id, so SQS drops the copy).
   *
   * Failures: EventBridge sends events it cannot deliver to the routing DLQ after its retries; the pipe retries
   * a message it cannot send (e.g. a group id SQS refuses) "up to the maximum receive count of the source
   * queue" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-error-troubleshooting.html), after
   * which the routing queue's redrive policy moves it to the same routing DLQ.
   *
   * Order: neither EventBridge nor a standard queue orders deliveries, so per-person order starts at the FIFO
   * queue, as it did with the rule target; producers that need strict order send to the FIFO queue themselves.
   */
  private routeEvents(config: InfraConfig, busName: string): sqs.Queue {
    const bus = events.EventBus.fromEventBusName(this, 'Bus', busName);
    const removalPolicy = RemovalPolicy[config.removalPolicy];
    const routingDlq = new sqs.Queue(this, 'RoutingDeadLetterQueue', {
      queueName: `${this.stackName}-routing-dlq`,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    if (config.changeDetailTypes.length === 0) {
      Validations.of(routingDlq).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself a dead-letter queue: the EventBridge targets send undeliverable events here (cdk-nag only recognises DLQs named in an SQS redrive policy, which exists only with the changes routing queue).',
      });
    }
    const deadLetterQueue = routingDlq;
    if (config.deletionDetailTypes.length > 0) {
      new events.Rule(this, 'RouteDeletions', {
        eventBus: bus,
        description: 'persons-relay: deletion commands to the deletions lane',
        eventPattern: { detailType: config.deletionDetailTypes },
        targets: [new targets.SqsQueue(this.lanes.deletions.queue, { deadLetterQueue })],
      });
    }
    if (config.changeDetailTypes.length > 0) {
      const routingQueue = new sqs.Queue(this, 'ChangesRoutingQueue', {
        queueName: `${this.stackName}-changes-routing`,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: routingDlq, maxReceiveCount: CHANGES_ROUTING.maxReceiveCount },
        removalPolicy,
      });
      for (const group of CHANGES_ROUTING.groups) {
        new events.Rule(this, `RouteChanges${group.id}`, {
          eventBus: bus,
          description: `persons-relay: change commands (${group.id}) to the changes routing queue`,
          eventPattern: { detailType: config.changeDetailTypes, detail: group.detail },
          targets: [
            new targets.SqsQueue(routingQueue, {
              message: new RoutingEnvelopeInput(group.groupIdPath),
              deadLetterQueue,
            }),
          ],
        });
      }
      const pipeRole = new iam.Role(this, 'ChangesPipeRole', {
        assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
        }),
        description:
          'persons-relay: the pipe from the changes routing queue to the FIFO changes lane',
      });
      routingQueue.grantConsumeMessages(pipeRole);
      this.lanes.changes.queue.grantSendMessages(pipeRole);
      const pipe = new pipes.CfnPipe(this, 'ChangesPipe', {
        name: `${this.stackName}-changes-routing`,
        description: 'persons-relay: routed change commands to the FIFO lane, one group per person',
        roleArn: pipeRole.roleArn,
        source: routingQueue.queueArn,
        sourceParameters: { sqsQueueParameters: { batchSize: 10 } },
        target: this.lanes.changes.queue.queueArn,
        targetParameters: {
          inputTemplate: CHANGES_ROUTING.pipeInputTemplate,
          sqsQueueParameters: {
            messageGroupId: CHANGES_ROUTING.pipeMessageGroupId,
            messageDeduplicationId: CHANGES_ROUTING.pipeMessageDeduplicationId,
          },
        },
      });
      // The role's policy must exist before the pipe starts polling.
      pipe.node.addDependency(pipeRole);
    }
    return routingDlq;
  }

  private addOutputs(): void {
    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description, exportName: `${this.stackName}-${id}` });
    };
    output('DeletionsQueueUrl', this.lanes.deletions.queue.queueUrl, 'Send persons.delete here');
    output('DeletionsQueueArn', this.lanes.deletions.queue.queueArn, 'Deletions lane queue ARN');
    output(
      'ChangesQueueUrl',
      this.lanes.changes.queue.queueUrl,
      'Send split/update/merge here (FIFO, MessageGroupId per person)',
    );
    output('ChangesQueueArn', this.lanes.changes.queue.queueArn, 'Changes lane queue ARN');
    output(
      'DeletionsDeadLetterQueueUrl',
      this.lanes.deletions.deadLetterQueue.queueUrl,
      'Rejected or exhausted deletions',
    );
    output(
      'ChangesDeadLetterQueueUrl',
      this.lanes.changes.deadLetterQueue.queueUrl,
      'Rejected or exhausted changes',
    );
    output('PostHogSecretArn', this.secret.secretArn, 'Put {"personalApiKey","projectToken"} here');
  }
}

/** The account id field of an ARN (`arn:partition:service:region:account:…`). */
function accountOfArn(arn: string): string {
  return arn.split(':')[4] ?? '';
}
