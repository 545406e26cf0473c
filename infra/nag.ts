/**
 * persons-relay's own cdk-nag pack: rules cdk-nag ships but puts in no pack (or only in the opt-in
 * Serverless pack) that guard this project's reliability defaults.
 */
import type { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, type NagPackProps, rules } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * `PersonsRelay-LambdaEventSourceSQSVisibilityTimeout`: every SQS event source's queue has a visibility timeout
 * of at least 6× the function timeout (services-sqs-configure), so a batch still being processed is never
 * delivered to a second instance.
 */
export class PersonsRelayChecks extends NagPack {
  public readonly name = 'PersonsRelay';

  public constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'PersonsRelay';
  }

  protected checkResource(node: CfnResource): void {
    this.applyRule({
      info: "The SQS queue's visibility timeout is less than 6 times the timeout of the Lambda function consuming it.",
      explanation:
        'AWS recommends a visibility timeout of at least six times the function timeout, so that Lambda can retry throttled batches before the messages become visible again.',
      level: NagMessageLevel.ERROR,
      rule: rules.lambda.LambdaEventSourceSQSVisibilityTimeout,
      node,
    });
  }
}
