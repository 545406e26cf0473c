/** Local webhook tooling: signing (CLI and tests), the loopback ingress server, and the sample deliveries. */

export { type BundledIngress, startBundledIngress } from './bundled.ts';
export { formatWebhookReport, runSampleWebhooks, type WebhookReportRow } from './run.ts';
export {
  LOCAL_WEBHOOK_SECRETS,
  localIngressEnv,
  postSampleWebhooks,
  SALESFORCE_SAMPLES,
  SAMPLE_WEBHOOKS,
  SAMPLES_DIR,
  sendSalesforceSamples,
  WEBHOOK_SAMPLE_PERSONS,
  type WebhookRow,
} from './samples.ts';
export { type LocalIngress, startLocalIngress } from './server.ts';
export { type SignedWebhook, type SignOptions, signWebhook, toCurl } from './sign.ts';
