import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { LANE_MAX_RECEIVE_COUNT, LANE_QUEUES } from '#lib/batch/lane-queues.ts';
import { STATE_TABLE_ENV } from '#lib/store/table.ts';
import { LOCAL_CREDENTIALS, type LocalSqs, type QueuePair, startLocalSqs } from '../sqs/index.ts';
import { type LocalDynamo, startLocalDynamo } from '../store/index.ts';
import {
  type EventSource,
  type InvocationInfo,
  type KillChaos,
  startEventSource,
} from './event-source.ts';
import { type Invoker, workerInvoker } from './invoker.ts';
import { FunctionOutputObserver } from './observer.ts';
import { processInvoker } from './process-invoker.ts';
import { type SecretsManagerStub, startSecretsManagerStub } from './secrets-stub.ts';

/** Where the functions send their PostHog calls, and the credentials the secret holds. */
export interface PostHogTarget {
  readonly host: string;
  readonly projectId: number | string;
  readonly personalApiKey: string;
  readonly projectToken?: string;
}

/** Per-lane event source mapping settings (the same knobs as in CDK). */
export interface LaneSettings {
  readonly batchSize: number;
  readonly maximumBatchingWindowMs: number;
  readonly concurrency: number;
  readonly functionTimeoutMs: number;
}

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  readonly posthog: PostHogTarget;
  /** The handler modules to run: the built bundles (default of `npm start`) or `.ts` sources. */
  readonly modules: { readonly deletions: string; readonly changes: string };
  readonly deletions?: Partial<LaneSettings>;
  readonly changes?: Partial<LaneSettings>;
  /** Extra or overriding function environment (rate budgets, retry delays, log level...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Redrive count of both source queues. @default 50 */
  readonly maxReceiveCount?: number;
  /** Queue visibility timeout (must exceed the function timeout). @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Fixed fauxqs port (`dev`); default ephemeral. */
  readonly sqsPort?: number;
  /** Every stdout line of every function instance, after the observer has read it. */
  readonly onFunctionOutput?: (lane: 'deletions' | 'changes', line: string) => void;
  readonly onInvocation?: (lane: 'deletions' | 'changes', info: InvocationInfo) => void;
  /** Start the pollers right away (like an enabled mapping). @default true; else call `startPolling()`. */
  readonly startPolling?: boolean;
  /** Chaos tests: kill a fraction of both lanes' invocations mid-batch. */
  readonly kill?: KillChaos;
  /**
   * Run the bundles in child processes on this Node binary (e.g. Node 22, Lambda's runtime major) instead of worker
   * threads of this process. Bundles only (`.mjs`): no TypeScript loader is installed there.
   */
  readonly nodePath?: string;
  /**
   * Run dynalite as the shared state table (the fleet-wide rate budget and the erasure tombstones), as deployed.
   * `false` leaves `RELAY_STATE_TABLE_NAME` unset: each instance holds `budget / instances` (the bench's baseline).
   * @default true
   */
  readonly sharedState?: boolean;
}

/** The running local pipeline: fauxqs, both lanes, the secret stub and the two functions' pollers. */
export interface LocalStack {
  readonly sqs: LocalSqs;
  /** The embedded dynalite holding the shared state table (absent with `sharedState: false`). */
  readonly dynamo: LocalDynamo | undefined;
  readonly secrets: SecretsManagerStub;
  readonly observer: FunctionOutputObserver;
  /** The pollers, once started. */
  readonly sources: { readonly deletions?: EventSource; readonly changes?: EventSource };
  /** The `process.version` of every sandbox that ran an invocation (only with `nodePath`). */
  readonly runtimeVersions: ReadonlySet<string>;
  /** Starts the pollers (idempotent): lets a caller fill the queues first, as a backlog would. */
  startPolling(): void;
  /** Each lane's function environment, exactly as the instances see it. */
  readonly functionEnv: {
    readonly deletions: Record<string, string>;
    readonly changes: Record<string, string>;
  };
  /** Resolves when both source queues are empty, nothing is in flight or delayed, and no invocation runs. */
  waitUntilDrained(options?: { timeoutMs?: number; pollMs?: number }): Promise<void>;
  /** Messages visible / in flight (incl. delayed retries) / in the DLQ, per lane. */
  depth(): Promise<
    Record<'deletions' | 'changes', { queued: number; inFlight: number; dlq: number }>
  >;
  close(): Promise<void>;
}

/** The secret id the local functions read (any name works; this mirrors a real secret name). */
export const LOCAL_SECRET_ID = 'persons-relay/posthog';

const DEFAULTS: Record<'deletions' | 'changes', LaneSettings> = {
  // Standard queue: big batches gathered over a window, so the planner can coalesce deletes.
  deletions: {
    batchSize: LANE_QUEUES.deletions.batchSize,
    maximumBatchingWindowMs: 500,
    concurrency: 2,
    functionTimeoutMs: 20_000,
  },
  // FIFO: Lambda allows at most 10 per batch and no batching window.
  changes: {
    batchSize: LANE_QUEUES.changes.batchSize,
    maximumBatchingWindowMs: 0,
    concurrency: 2,
    functionTimeoutMs: 20_000,
  },
};

/**
 * Starts the whole local pipeline around a PostHog (the emulator, or a real project): embedded fauxqs with
 * both lanes and DLQs, a loopback Secrets Manager stub holding the credentials, and one Lambda-like event
 * source per lane running the handler modules in worker sandboxes. The functions get only the environment
 * a deployed function would get (contract E), plus `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`
 * pointing at the local endpoints, so the bundles run unchanged.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const sqs = await startLocalSqs({
    ...(options.sqsPort === undefined ? {} : { port: options.sqsPort }),
    maxReceiveCount: options.maxReceiveCount ?? LANE_MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
  });
  const secrets = await startSecretsManagerStub({
    [LOCAL_SECRET_ID]: JSON.stringify({
      personalApiKey: options.posthog.personalApiKey,
      ...(options.posthog.projectToken === undefined
        ? {}
        : { projectToken: options.posthog.projectToken }),
    }),
  });
  const dynamo = options.sharedState === false ? undefined : await startLocalDynamo();
  const observer = new FunctionOutputObserver();
  const settings = {
    deletions: { ...DEFAULTS.deletions, ...options.deletions },
    changes: { ...DEFAULTS.changes, ...options.changes },
  };

  const envOf = (lane: 'deletions' | 'changes', queue: QueuePair): Record<string, string> => ({
    LANE: lane,
    POSTHOG_HOST: options.posthog.host,
    POSTHOG_PROJECT_ID: String(options.posthog.projectId),
    POSTHOG_SECRET_ID: LOCAL_SECRET_ID,
    POSTHOG_RATE_INSTANCES: String(settings[lane].concurrency),
    QUEUE_URL: queue.url,
    DLQ_URL: queue.dlqUrl,
    // As deployed: the function dead-letters a message failing at its last delivery itself.
    REDRIVE_MAX_RECEIVE_COUNT: String(queue.maxReceiveCount),
    POWERTOOLS_SERVICE_NAME: `persons-relay-${lane}`,
    POWERTOOLS_METRICS_NAMESPACE: 'PersonsRelay',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    AWS_REGION: sqs.region,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    ...(dynamo === undefined
      ? {}
      : { [STATE_TABLE_ENV]: dynamo.tableName, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint }),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: `persons-relay-${lane}`,
    ...options.env,
  });

  const functionEnv = {
    deletions: envOf('deletions', sqs.queues.deletions),
    changes: envOf('changes', sqs.queues.changes),
  };

  const runtimeVersions: ReadonlySet<string>[] = [];
  const startLane = (
    lane: 'deletions' | 'changes',
  ): { source: EventSource; close: () => Promise<void> } => {
    const queue = sqs.queues[lane];
    const sandbox = {
      module: options.modules[lane],
      env: functionEnv[lane],
      instances: settings[lane].concurrency,
      functionName: `persons-relay-${lane}`,
      onStdout: (line: string) => {
        observer.line(lane, line);
        options.onFunctionOutput?.(lane, line);
      },
      // Powertools writes WARN and ERROR lines to stderr (CloudWatch gets both streams).
      onStderr: (line: string) => {
        observer.line(lane, line);
        options.onFunctionOutput?.(lane, line);
      },
    };
    let invoker: Invoker;
    if (options.nodePath === undefined) invoker = workerInvoker(sandbox);
    else {
      const inChildren = processInvoker({ ...sandbox, nodePath: options.nodePath });
      runtimeVersions.push(inChildren.versions);
      invoker = inChildren;
    }
    const source = startEventSource({
      sqs: sqs.client,
      queueUrl: queue.url,
      queueArn: queue.arn,
      region: sqs.region,
      invoker,
      ...settings[lane],
      ...(options.kill === undefined ? {} : { kill: options.kill }),
      ...(options.onInvocation === undefined
        ? {}
        : { onInvocation: (info: InvocationInfo) => options.onInvocation?.(lane, info) }),
    });
    return {
      source,
      close: async () => {
        await source.stop();
        await invoker.close();
      },
    };
  };

  let lanes:
    | { deletions: ReturnType<typeof startLane>; changes: ReturnType<typeof startLane> }
    | undefined;
  const sources: { deletions?: EventSource; changes?: EventSource } = {};
  const startPolling = () => {
    if (lanes) return;
    lanes = { deletions: startLane('deletions'), changes: startLane('changes') };
    sources.deletions = lanes.deletions.source;
    sources.changes = lanes.changes.source;
  };
  if (options.startPolling ?? true) startPolling();

  const depth: LocalStack['depth'] = async () => {
    const of = async (queue: QueuePair) => {
      const read = async (url: string) =>
        (
          await sqs.client.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
                'ApproximateNumberOfMessagesDelayed',
              ],
            }),
          )
        ).Attributes ?? {};
      const source = await read(queue.url);
      const dlq = await read(queue.dlqUrl);
      return {
        queued:
          Number(source['ApproximateNumberOfMessages'] ?? 0) +
          Number(source['ApproximateNumberOfMessagesDelayed'] ?? 0),
        inFlight: Number(source['ApproximateNumberOfMessagesNotVisible'] ?? 0),
        dlq: Number(dlq['ApproximateNumberOfMessages'] ?? 0),
      };
    };
    return { deletions: await of(sqs.queues.deletions), changes: await of(sqs.queues.changes) };
  };

  return {
    sqs,
    dynamo,
    secrets,
    observer,
    sources,
    get runtimeVersions() {
      return new Set(runtimeVersions.flatMap((versions) => [...versions]));
    },
    startPolling,
    functionEnv,
    depth,
    async waitUntilDrained({ timeoutMs = 60_000, pollMs = 100 } = {}) {
      const until = Date.now() + timeoutMs;
      // Two empty readings in a row: a message can be between receive and invoke for a moment.
      let quiet = 0;
      while (quiet < 2) {
        const d = await depth();
        const empty = [d.deletions, d.changes].every((q) => q.queued === 0 && q.inFlight === 0);
        quiet = empty ? quiet + 1 : 0;
        if (quiet >= 2) break;
        if (Date.now() > until) {
          throw new Error(`queues not drained after ${timeoutMs} ms: ${JSON.stringify(d)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
      await Promise.all([sources.deletions?.idle(), sources.changes?.idle()]);
    },
    async close() {
      await Promise.all([lanes?.deletions.close(), lanes?.changes.close()]);
      await secrets.close();
      await sqs.stop();
      await dynamo?.stop();
    },
  };
}
