import { Router } from '@aws-lambda-powertools/event-handler/http';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { createProducer, type SqsSender } from '../producer/index.ts';
import { createLogger, type RelayLogger } from '../runtime/logger.ts';
import type { IngressConfig } from './config.ts';
import { createWebhookIngress, type WebhookIngress, type WebhookSecretSource } from './ingress.ts';
import { type IngressMetrics, PowertoolsIngressMetrics } from './metrics.ts';

/** Optional replacements for what the Lambda builds itself; tests and the local stack use them. */
export interface IngressHandlerOverrides {
  readonly sqs?: SqsSender;
  readonly getSecret?: WebhookSecretSource;
  readonly logger?: RelayLogger;
  readonly metrics?: IngressMetrics;
  readonly now?: () => number;
}

/** The ingress Lambda handler: an HTTP API (payload format 2.0) event in, a proxy result out. */
export type IngressHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Routes with Powertools' HTTP resolver: `POST /webhooks/{provider}` (every provider) and `GET /webhooks/okta`
 * (Okta's verification challenge). Anything else gets the resolver's own 404/405.
 */
export function createIngressRouter(ingress: WebhookIngress): Router {
  const router = new Router();
  router.post('/webhooks/:provider', ({ params, req }) =>
    ingress.receive(params['provider'] ?? '', req),
  );
  router.get('/webhooks/:provider', ({ params, req }) =>
    ingress.challenge(params['provider'] ?? '', req),
  );
  return router;
}

/**
 * Signing secrets come from Secrets Manager through Powertools `getSecret` with `maxAge`, so a warm function
 * reads each at most once per period and a rotated secret is picked up within it. The secret string is the signing
 * secret itself (Stripe `whsec_...`, Clerk `whsec_...`, HubSpot's client secret, the Okta/Auth0 header value).
 */
export function powertoolsWebhookSecret(maxAgeSeconds: number): WebhookSecretSource {
  return async (_provider, secretId) => {
    const value = await getSecret(secretId, { maxAge: maxAgeSeconds });
    if (typeof value !== 'string' || value.trim() === '') {
      throw new Error(`secret ${secretId} is empty or not a string`);
    }
    return value.trim();
  };
}

/** Wires the ingress from its config; called once at module scope by functions/ingress.ts. */
export function createIngressHandler(
  config: IngressConfig,
  overrides: IngressHandlerOverrides = {},
): IngressHandler {
  const logger =
    overrides.logger ??
    createLogger({
      serviceName: config.powertools.serviceName,
      logLevel: config.powertools.logLevel,
      lane: 'ingress',
    });
  const metrics =
    overrides.metrics ??
    new PowertoolsIngressMetrics({
      namespace: config.powertools.metricsNamespace,
      serviceName: config.powertools.serviceName,
    });
  // As in the lanes: `useQueueUrlAsEndpoint: false` lets AWS_ENDPOINT_URL_SQS (fauxqs locally) pick the host.
  const sqs =
    overrides.sqs ??
    new SQSClient({ region: config.region, useQueueUrlAsEndpoint: false, maxAttempts: 2 });
  const producer = createProducer({
    sqs,
    deletionsQueueUrl: config.deletionsQueueUrl,
    changesQueueUrl: config.changesQueueUrl,
  });
  const ingress = createWebhookIngress({
    config,
    producer,
    getSecret: overrides.getSecret ?? powertoolsWebhookSecret(config.secretMaxAgeSeconds),
    logger,
    metrics,
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  const router = createIngressRouter(ingress);
  return async (event, context) => {
    try {
      return await router.resolve(event, context);
    } finally {
      metrics.flush();
    }
  };
}
