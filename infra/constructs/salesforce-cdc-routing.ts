/**
 * `SalesforceCdcRouting`: EventBridge rules on a Salesforce partner event bus that deliver Change Data Capture
 * DELETE events to the lanes; the consumers' parse step maps them (lib/adapters/salesforce.ts). A DELETE that
 * names a `MasterRecordId` (the loser of a merge) becomes a `person.merge`, so it goes to the changes FIFO queue,
 * grouped by the winning record; any other DELETE becomes a `persons.delete` on the deletions queue. UPDATE and
 * CREATE events are not routed (the merge winner's UPDATE carries nothing the merge needs).
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SALESFORCE_PARTNER_SOURCE_PREFIX } from '#lib/adapters/salesforce.ts';

/** Properties of a {@link SalesforceCdcRouting}. */
export interface SalesforceCdcRoutingProps {
  /** Name of the partner event bus (`aws.partner/salesforce.com/<org id>/<relay id>`). */
  readonly eventBusName: string;
  /** Salesforce objects whose deletions and merges reach PostHog. */
  readonly entities: readonly string[];
  readonly deletionsQueue: sqs.IQueue;
  readonly changesQueue: sqs.IQueue;
  /** Physical name of the DLQ for events EventBridge cannot deliver. */
  readonly deadLetterQueueName: string;
  readonly removalPolicy: RemovalPolicy;
}

/** The rules and the routing DLQ. */
export class SalesforceCdcRouting extends Construct {
  public readonly deletes: events.Rule;
  public readonly merges: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;
  /** Physical name of {@link deadLetterQueue} (a plain string, for monitoring in another stack). */
  public readonly deadLetterQueueName: string;

  public constructor(scope: Construct, id: string, props: SalesforceCdcRoutingProps) {
    super(scope, id);
    this.deadLetterQueueName = props.deadLetterQueueName;
    const bus = events.EventBus.fromEventBusName(this, 'Bus', props.eventBusName);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: props.deadLetterQueueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: the EventBridge targets send undeliverable Salesforce events here.',
    });
    const deletion = (masterRecordId: Record<string, boolean>) => ({
      source: events.Match.prefix(SALESFORCE_PARTNER_SOURCE_PREFIX),
      detail: {
        payload: {
          ChangeEventHeader: { changeType: ['DELETE'], entityName: [...props.entities] },
          MasterRecordId: [masterRecordId],
        },
      },
    });
    this.deletes = new events.Rule(this, 'Deletes', {
      eventBus: bus,
      description: 'persons-relay: Salesforce CDC deletions to the deletions lane',
      eventPattern: deletion({ exists: false }),
      targets: [
        new targets.SqsQueue(props.deletionsQueue, { deadLetterQueue: this.deadLetterQueue }),
      ],
    });
    this.merges = new events.Rule(this, 'Merges', {
      eventBus: bus,
      description:
        'persons-relay: Salesforce CDC merge losers to the changes lane, grouped by the winning record',
      eventPattern: deletion({ exists: true }),
      targets: [
        new targets.SqsQueue(props.changesQueue, {
          messageGroupId: events.EventField.fromPath('$.detail.payload.MasterRecordId'),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });
  }
}
