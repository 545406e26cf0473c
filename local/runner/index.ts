/** The local stand-in for Lambda's SQS event source mapping, and the local pipeline built on it. */
export { buildBundles, bundlePath, LANE_FUNCTIONS } from './build.ts';
export { emulatorTarget, timeScaledEnv } from './emulator-target.ts';
export { RECORD_SYSTEM_ATTRIBUTES, toSqsEvent, toSqsRecord } from './event.ts';
export {
  type EventSource,
  type EventSourceOptions,
  type EventSourceStats,
  failuresOf,
  type InvocationInfo,
  type KillChaos,
  startEventSource,
} from './event-source.ts';
export {
  InvocationKilledError,
  InvocationTimeoutError,
  type Invoker,
  inProcessInvoker,
  lambdaContext,
  type SqsBatchHandler,
  type WorkerInvokerOptions,
  workerInvoker,
} from './invoker.ts';
export { type CommandOutcome, FunctionOutputObserver, type MetricTotals } from './observer.ts';
export { formatReport, type PipelineReport } from './report.ts';
export { type SecretsManagerStub, startSecretsManagerStub } from './secrets-stub.ts';
export {
  type LaneSettings,
  LOCAL_SECRET_ID,
  type LocalStack,
  type LocalStackOptions,
  type PostHogTarget,
  startLocalStack,
} from './stack.ts';
