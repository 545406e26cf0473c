import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { createIngressHandler, loadIngressConfig } from '#lib/ingress/index.ts';

// Cold start: config is parsed once (a bad variable fails the init, naming it); the logger, metrics, SQS client,
// producer and router are built once and reused by warm invocations.
const ingress = createIngressHandler(loadIngressConfig(process.env));

/**
 * The webhook ingress (HTTP API, payload format 2.0): `POST /webhooks/{provider}` for Stripe, HubSpot, Clerk,
 * Auth0 and Okta, and Okta's `GET` verification challenge. Verifies the provider's signature, maps the events to
 * commands and sends them to their lane; answers 5xx when SQS fails so that the provider retries.
 */
export const handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => ingress(event, context);
