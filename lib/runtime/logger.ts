import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

/**
 * The structured logger the batch loop writes to. Powertools' `Logger` satisfies it; tests pass a small
 * recording object. Every per-message line carries a `correlation_id` (the command id, or the SQS
 * messageId when the body could not be parsed).
 */
export interface RelayLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/**
 * Creates the JSON logger of one function. `lane` is a persistent key so that one log group query can
 * tell the lanes apart. The level comes from config (already validated against Powertools' levels).
 */
export function createLogger(options: {
  serviceName: string;
  logLevel: string;
  lane: string;
}): Logger {
  return new Logger({
    serviceName: options.serviceName,
    logLevel: options.logLevel as LogLevel,
    persistentKeys: { lane: options.lane },
  });
}
