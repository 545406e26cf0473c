import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  SQSEvent,
} from 'aws-lambda';
import type { IngressHandler } from '#lib/ingress/index.ts';
import { workerInvoker } from '../runner/invoker.ts';
import type { LocalStack } from '../runner/stack.ts';
import { LOCAL_WEBHOOK_SECRETS, localIngressEnv, SAMPLE_WEBHOOKS } from './samples.ts';

/** The ingress bundle running in a Lambda-like sandbox, and how to stop it. */
export interface BundledIngress {
  readonly handler: IngressHandler;
  close(): Promise<void>;
}

/**
 * Runs the built ingress bundle (`dist/functions/ingress.mjs`, the deployable artefact) the way the lanes run: in a
 * worker thread with only a Lambda-like environment, reading its signing secrets through Powertools `getSecret` from
 * the stack's Secrets Manager stub and sending to fauxqs through `AWS_ENDPOINT_URL_SQS` (or `sqsEndpoint`).
 */
export function startBundledIngress(
  stack: LocalStack,
  module: string,
  options: { sqsEndpoint?: string; onStdout?: (line: string) => void } = {},
): BundledIngress {
  const queues = {
    deletionsQueueUrl: stack.sqs.queues.deletions.url,
    changesQueueUrl: stack.sqs.queues.changes.url,
  };
  const ingressEnv = localIngressEnv(queues);
  for (const { provider } of SAMPLE_WEBHOOKS) {
    stack.secrets.put(`persons-relay/webhooks/${provider}`, LOCAL_WEBHOOK_SECRETS[provider]);
  }
  const lane = stack.functionEnv.deletions;
  const invoker = workerInvoker({
    module,
    functionName: 'persons-relay-ingress',
    env: {
      ...ingressEnv,
      AWS_REGION: lane['AWS_REGION'] ?? 'us-east-1',
      AWS_ACCESS_KEY_ID: lane['AWS_ACCESS_KEY_ID'] ?? 'test',
      AWS_SECRET_ACCESS_KEY: lane['AWS_SECRET_ACCESS_KEY'] ?? 'test',
      AWS_ENDPOINT_URL_SQS: options.sqsEndpoint ?? stack.sqs.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.secrets.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'persons-relay-ingress',
      POWERTOOLS_SERVICE_NAME: 'persons-relay-ingress',
      POWERTOOLS_METRICS_NAMESPACE: 'PersonsRelay',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    onStdout: options.onStdout ?? (() => undefined),
  });
  return {
    // The invoker is typed for the lanes' SQS events; the sandbox passes any event through to the handler.
    handler: async (event: APIGatewayProxyEventV2) =>
      (await invoker.invoke(event as unknown as SQSEvent, {
        timeoutMs: 10_000,
      })) as unknown as APIGatewayProxyStructuredResultV2,
    close: () => invoker.close(),
  };
}
