import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

// The second cold-start reference: the minimal Powertools handler plus the SQS client that any handler needs to
// dead-letter or re-time a message itself (the client is built at init, as persons-relay builds its own).
const processor = new BatchProcessor(EventType.SQS);
const logger = new Logger({ serviceName: 'minimal' });
const sqs = new SQSClient({});

const handleRecord = async (record: SQSRecord): Promise<void> => {
  logger.info('record', { messageId: record.messageId, region: await sqs.config.region() });
};

export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context });
