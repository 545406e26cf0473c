import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { STATE_TABLE_ENV, TABLE_KEYS } from '#lib/store/table.ts';
import type { QueueConsumer } from './queue-consumer.ts';

/** Props of {@link SharedStateTable}. */
export interface SharedStateTableProps {
  /** Physical table name. */
  readonly tableName: string;
  readonly removalPolicy: RemovalPolicy;
}

/** What a lane does with the table: both take from the rate budget; deletions write tombstones, changes read them. */
export type StateTableUse = 'deletions' | 'changes';

/**
 * The shared state table (lib/store/table.ts): the fleet-wide PostHog rate budget (one item per key hash and bucket)
 * and the erasure tombstones (one item per hashed project + distinct id).
 *
 * - On demand: the load is a few writes a second, bursty, and idle most of the day.
 * - TTL on `expiresAt`: budget items of an idle key and tombstones past their retention go away by themselves.
 * - Encrypted with the AWS managed key `aws/dynamodb` (SSE type KMS): key use shows in CloudTrail, and callers need
 *   no KMS permission of their own (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html).
 * - Point-in-time recovery: the tombstones are what keeps capture from re-creating erased persons; a bad deploy or a
 *   mistaken delete must not lose them (cdk-nag AwsSolutions-DDB3).
 */
export class SharedStateTable extends Construct {
  public readonly table: dynamodb.Table;

  public constructor(scope: Construct, id: string, props: SharedStateTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
    });
  }

  /**
   * Least privilege for one lane, item by item: `dynamodb:LeadingKeys` limits each action to the partition keys it
   * serves (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html):
   * GetItem/UpdateItem on `budget#*` (both lanes), BatchWriteItem on `tomb#*` (deletions: record tombstones),
   * BatchGetItem on `tomb#*` (changes: check them). No Scan, Query, DeleteItem or table-level action. Sets
   * `RELAY_STATE_TABLE_NAME`.
   */
  public bind(consumer: QueueConsumer, use: StateTableUse): void {
    const statement = (actions: string[], prefix: string): iam.PolicyStatement =>
      new iam.PolicyStatement({
        actions,
        resources: [this.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}#*`] } },
      });
    consumer.role.addToPrincipalPolicy(
      statement(['dynamodb:GetItem', 'dynamodb:UpdateItem'], 'budget'),
    );
    consumer.role.addToPrincipalPolicy(
      statement(
        [use === 'deletions' ? 'dynamodb:BatchWriteItem' : 'dynamodb:BatchGetItem'],
        'tomb',
      ),
    );
    consumer.function.addEnvironment(STATE_TABLE_ENV, this.table.tableName);
  }
}
