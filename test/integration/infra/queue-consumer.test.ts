import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, describe, expect, it } from 'vitest';
import { entryPath } from '../../../infra/bundling.ts';
import {
  QueueConsumer,
  type QueueConsumerProps,
} from '../../../infra/constructs/queue-consumer.ts';
import { removeDir, tempDir } from './fixtures.ts';

const outdir = tempDir('queue-consumer');
afterAll(() => removeDir(outdir));

let counter = 0;
function stackWith(props: Partial<QueueConsumerProps>): { stack: Stack; consumer: QueueConsumer } {
  counter += 1;
  const app = new App({
    outdir: `${outdir}/${counter}`,
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new Stack(app, 'S');
  const consumer = new QueueConsumer(stack, 'Lane', {
    entry: entryPath('apply-deletions'),
    ...props,
  });
  return { stack, consumer };
}

describe('QueueConsumer defaults', () => {
  const { stack, consumer } = stackWith({});
  const template = Template.fromStack(stack);

  it('creates a DLQ with maxReceiveCount 15, 14-day retention and SSE-SQS + TLS on both queues', () => {
    expect(consumer.maxReceiveCount).toBe(15);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'S-Lane',
      VisibilityTimeout: 360,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: 15 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'S-Lane-dlq',
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    template.resourceCountIs('AWS::SQS::QueuePolicy', 2);
  });

  it('uses partial batch responses, concurrency 2, batch 10, nodejs22.x on arm64, and a role without managed policies', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 60,
      FunctionName: 'S-Lane',
      Environment: {
        Variables: Match.objectLike({ QUEUE_URL: Match.anyValue(), DLQ_URL: Match.anyValue() }),
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('bindSecret grants read on that secret and sets only its ARN', () => {
    const { stack: s2, consumer: c2 } = stackWith({});
    const secret = secretsmanager.Secret.fromSecretCompleteArn(
      s2,
      'Secret',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbC123',
    );
    c2.bindSecret(secret);
    const t2 = Template.fromStack(s2);
    t2.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POSTHOG_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbC123',
        }),
      },
    });
    t2.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbC123',
          }),
        ]),
      },
    });
  });

  it('does not acknowledge L1 when a newer runtime is chosen', () => {
    const { consumer: c3 } = stackWith({ runtime: lambda.Runtime.NODEJS_24_X });
    const acknowledged = c3.function.node.metadata.some((m) =>
      JSON.stringify(m.data).includes('AwsSolutions-L1'),
    );
    expect(acknowledged).toBe(false);
  });
});

describe('QueueConsumer validation', () => {
  it.each([
    [{ fifo: true, batchSize: 11 }, /batchSize must be an integer from 1 to 10 on a FIFO queue/],
    [
      { fifo: true, maxBatchingWindow: Duration.seconds(1) },
      /maxBatchingWindow is not supported on FIFO/,
    ],
    [{ batchSize: 100 }, /a batchSize above 10 needs a maxBatchingWindow/],
    [
      { batchSize: 10_001, maxBatchingWindow: Duration.seconds(5) },
      /batchSize must be an integer from 1 to 10000/,
    ],
    [{ visibilityTimeoutFactor: 5 }, /visibilityTimeoutFactor must be at least 6/],
    [{ maxReceiveCount: 0 }, /maxReceiveCount must be an integer from 1 to 1000/],
    [{ maxConcurrency: 1 }, /maxConcurrency must be an integer from 2 to 1000/],
    [
      { retentionPeriod: Duration.days(14) },
      /deadLetterRetentionPeriod must be longer than retentionPeriod/,
    ],
    [{ queueName: 'x'.repeat(80) }, /longer than SQS's 80 characters/],
    [{ functionName: 'f'.repeat(65) }, /longer than 64 characters/],
  ] as [Partial<QueueConsumerProps>, RegExp][])('rejects %o', (props, message) => {
    expect(() => stackWith(props)).toThrow(message);
  });

  it('appends .fifo and sets high-throughput mode on FIFO queues', () => {
    const { stack } = stackWith({ fifo: true, queueName: 'orders' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'orders.fifo',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      ContentBasedDeduplication: true,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'orders-dlq.fifo',
      FifoQueue: true,
    });
  });
});
