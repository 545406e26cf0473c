import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

// The cold-start reference: the smallest useful Powertools SQS handler (a batch processor and a logger).
const processor = new BatchProcessor(EventType.SQS);
const logger = new Logger({ serviceName: 'minimal' });

const handleRecord = async (record: SQSRecord): Promise<void> => {
  logger.info('record', { messageId: record.messageId });
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context });
