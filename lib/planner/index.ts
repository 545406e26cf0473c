/** The pure batch planner: valid commands in, the fewest PostHog calls out (contract D). */
export { CAPTURE_EVENT_UUID_NAMESPACE, planBatch, singleMessageCallCount } from './plan.ts';
export {
  type BulkDeleteCall,
  CAPTURE_BATCH_MAX_EVENTS,
  type CaptureBatchCall,
  type DeleteFlags,
  type DeletePropertyCall,
  type InboundCommand,
  type Plan,
  type PlannedCall,
  type PlannedCallBase,
  type PlannedCaptureEvent,
  type PlanOptions,
  type PropertyWrites,
  type ResolveCall,
  type RetrieveCall,
  SERVER_LIMITS,
  type SkippedMessage,
  type SplitCall,
  type UpdatePropertiesCall,
  type UpdatePropertyCall,
} from './types.ts';
