/** The webhook ingress: provider signature checks, the adapters, and the producer, behind one HTTP handler. */
export {
  DEFAULT_DISTINCT_ID_RULES,
  DEFAULT_MAX_BODY_BYTES,
  envSuffix,
  type IngressConfig,
  loadIngressConfig,
  type ProviderConfig,
} from './config.ts';
export {
  createIngressHandler,
  createIngressRouter,
  type IngressHandler,
  type IngressHandlerOverrides,
  powertoolsWebhookSecret,
} from './handler.ts';
export {
  createWebhookIngress,
  INGRESS_STATUS,
  type WebhookIngress,
  type WebhookIngressDeps,
  type WebhookSecretSource,
} from './ingress.ts';
export {
  INGRESS_METRIC_NAMES,
  type IngressMetricName,
  type IngressMetrics,
  PowertoolsIngressMetrics,
} from './metrics.ts';
export {
  hubspotSignatureV3,
  hubspotSignedUri,
  type RefusalReason,
  SIGNATURE_TOLERANCE_SECONDS,
  type SignedRequest,
  safeEqual,
  type Verification,
  verifyClerk,
  verifyHubSpot,
  verifySharedSecret,
  verifyStripe,
  verifyWebhook,
} from './verify.ts';
