export { createClientSource } from './client-source.ts';
export { createLogger, type RelayLogger } from './logger.ts';
export {
  METRIC_NAMES,
  type MetricName,
  PowertoolsRelayMetrics,
  type RelayMetrics,
} from './metrics.ts';
export {
  createRelayHandler,
  type RelayHandler,
  type RelayHandlerOverrides,
} from './relay-handler.ts';
export {
  createSecretSource,
  type FetchSecret,
  type PostHogSecret,
  PostHogSecretSchema,
  powertoolsFetchSecret,
  SecretError,
} from './secrets.ts';
