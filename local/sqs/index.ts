import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { FIFO_QUEUE_ATTRIBUTES, LANE_MAX_RECEIVE_COUNT } from '#lib/batch/lane-queues.ts';
import { installAwsFifoReceive } from './aws-fifo-receive.ts';

/** Region and fake credentials of the local stack; nothing here is a real AWS credential. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** A source queue and its dead-letter queue. */
export interface QueuePair {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly dlqName: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
  readonly fifo: boolean;
  readonly maxReceiveCount: number;
}

/** The two lanes' queues. */
export interface LaneQueues {
  readonly deletions: QueuePair;
  readonly changes: QueuePair;
}

/** Options of {@link createLaneQueues}. */
export interface LaneQueueOptions {
  /** Name prefix. @default 'persons-relay' */
  readonly prefix?: string;
  /**
   * Receives before SQS moves a message to its DLQ. @default 50 — the production figure: with the retry
   * backoff (base 30 s, cap 900 s) a message survives about 11.5 h of PostHog outage (see
   * `outageToleranceSeconds` in `lib/batch`).
   */
  readonly maxReceiveCount?: number;
  /** The queues' visibility timeout; must exceed the function timeout. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
}

/**
 * Creates both lanes on any SQS endpoint (fauxqs locally; it would work on real SQS too):
 * - deletions: standard queue + standard DLQ;
 * - changes: FIFO queue with the deployed attributes (`FIFO_QUEUE_ATTRIBUTES`: content-based deduplication on,
 *   per-group high throughput), plus a FIFO DLQ (a FIFO queue's DLQ must be FIFO).
 * Each source queue has a redrive policy to its DLQ; DLQs keep messages 14 days, longer than the source's 4.
 */
export async function createLaneQueues(
  sqs: SQSClient,
  options: LaneQueueOptions = {},
): Promise<LaneQueues> {
  const prefix = options.prefix ?? 'persons-relay';
  const maxReceiveCount = options.maxReceiveCount ?? LANE_MAX_RECEIVE_COUNT;
  const visibility = String(options.visibilityTimeoutSeconds ?? 30);

  const create = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
    );
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = Attributes?.QueueArn;
    if (!arn) throw new Error(`queue ${name} has no ARN`);
    return { url: QueueUrl, arn };
  };

  const pair = async (lane: string, fifo: boolean): Promise<QueuePair> => {
    const suffix = fifo ? '.fifo' : '';
    // The same FIFO attributes as the CDK stack (lib/batch/lane-queues.ts), content-based deduplication included.
    const fifoAttributes: Record<string, string> = fifo ? { ...FIFO_QUEUE_ATTRIBUTES } : {};
    const dlqName = `${prefix}-${lane}-dlq${suffix}`;
    const name = `${prefix}-${lane}${suffix}`;
    const dlq = await create(dlqName, {
      ...fifoAttributes,
      MessageRetentionPeriod: String(14 * 86_400),
    });
    const source = await create(name, {
      ...fifoAttributes,
      VisibilityTimeout: visibility,
      MessageRetentionPeriod: String(4 * 86_400),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
    });
    return {
      name,
      url: source.url,
      arn: source.arn,
      dlqName,
      dlqUrl: dlq.url,
      dlqArn: dlq.arn,
      fifo,
      maxReceiveCount,
    };
  };

  return { deletions: await pair('deletions', false), changes: await pair('changes', true) };
}

/**
 * An SQS client for the local endpoint. `useQueueUrlAsEndpoint: false`: fauxqs's queue URLs name the host
 * `sqs.us-east-1.localhost`, which need not resolve; requests must go to the endpoint on 127.0.0.1.
 */
export function createLocalSqsClient(endpoint: string, region: string = LOCAL_REGION): SQSClient {
  return new SQSClient({
    endpoint,
    region,
    credentials: LOCAL_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
  });
}

/** An embedded fauxqs with both lanes created. */
export interface LocalSqs {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_SQS`. */
  readonly endpoint: string;
  readonly region: string;
  readonly client: SQSClient;
  readonly queues: LaneQueues;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs 1.9.2 in this process and creates both lanes.
 *
 * fauxqs always listens on 0.0.0.0 (not configurable in 1.9.2); everything in persons-relay talks to it
 * through 127.0.0.1 only. It is a development server: do not run it on a shared network.
 */
export async function startLocalSqs(
  options: LaneQueueOptions & { port?: number } = {},
): Promise<LocalSqs> {
  // Loaded on first use: fauxqs brings fastify, which the CLI's SQS commands (send, dlq) never need.
  const { startFauxqs } = await import('fauxqs');
  // FIFO receives as on AWS: several messages of one group per receive (see aws-fifo-receive.ts).
  await installAwsFifoReceive();
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = createLocalSqsClient(endpoint);
  try {
    const queues = await createLaneQueues(client, options);
    return {
      endpoint,
      region: LOCAL_REGION,
      client,
      queues,
      async stop() {
        client.destroy();
        await server.stop();
      },
    };
  } catch (error) {
    client.destroy();
    await server.stop();
    throw error;
  }
}

/**
 * An SQS client for the CLI, local or AWS. The endpoint comes from `--endpoint`, else `AWS_ENDPOINT_URL_SQS`,
 * else the region's AWS endpoint. A loopback endpoint gets dummy credentials (fauxqs ignores them), so
 * `persons-relay send` works against `persons-relay dev` without any AWS setup.
 */
export function createCliSqsClient(
  options: { endpoint?: string; region?: string } = {},
): SQSClient {
  const endpoint = options.endpoint ?? process.env['AWS_ENDPOINT_URL_SQS'];
  const region =
    options.region ??
    process.env['AWS_REGION'] ??
    process.env['AWS_DEFAULT_REGION'] ??
    LOCAL_REGION;
  const loopback =
    endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(endpoint);
  const hasCredentials = Boolean(process.env['AWS_ACCESS_KEY_ID'] || process.env['AWS_PROFILE']);
  return new SQSClient({
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(loopback && !hasCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
    useQueueUrlAsEndpoint: false,
  });
}
