import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

export type { RelayLogger } from '../batch/ports.ts';

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
