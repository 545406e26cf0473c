import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { sqsQueueOps } from '#lib/batch/index.ts';
import { loadConfig } from '#lib/config.ts';
import { type Command, parseMessage } from '#lib/messages/index.ts';
import { isRetryable, type PostHogClient } from '#lib/posthog/index.ts';
import { createClientSource, createSecretSource } from '#lib/runtime/index.ts';

/*
 * The benchmark's baseline: what a competent team writes without a planner. A Powertools batch processor hands
 * each SQS record to `handleRecord` alone, which makes the natural PostHog calls for that one message. It shares
 * everything else with persons-relay: the config, the secret, the same PostHog client (timeouts, retries, the
 * rate limiter and its budgets), the deadline and the dead-letter reasons. Only batching and planning differ.
 */
const config = loadConfig(process.env);
const getClient = createClientSource({
  config,
  secrets: createSecretSource({
    secretId: config.posthog.secretId,
    maxAgeSeconds: config.posthog.secretMaxAgeSeconds,
  }),
  metrics: { count: () => undefined, flush: () => undefined },
});
const queueOps = sqsQueueOps(
  new SQSClient({ region: config.queues.region, useQueueUrlAsEndpoint: false }),
);
// Standard queue: Powertools' BatchProcessor (records in parallel). FIFO: its FIFO processor, which keeps a
// group's order and skips the rest of a group after a failure, going on with other groups.
const standardProcessor = new BatchProcessor(EventType.SQS);
const fifoProcessor = new SqsFifoPartialProcessorAsync();

async function callsFor(command: Command, client: PostHogClient, deadline: number): Promise<void> {
  const o = { deadline };
  const personId = async (ref: {
    distinctId?: string | undefined;
    uuid?: string | undefined;
  }): Promise<string> => {
    if (ref.uuid !== undefined) return ref.uuid;
    const found = (await client.batchByDistinctIds([ref.distinctId ?? ''], o))[
      ref.distinctId ?? ''
    ];
    if (!found) throw new PermanentError('person_not_found', `no person has ${ref.distinctId}`);
    return found.uuid;
  };
  switch (command.type) {
    case 'persons.delete': {
      const { distinctIds, personUuids, deleteEvents, deleteRecordings, keepPerson } = command.data;
      const flags = { deleteEvents, deleteRecordings, keepPerson };
      if (distinctIds?.length) await client.bulkDelete({ distinctIds }, flags, o);
      if (personUuids?.length) await client.bulkDelete({ ids: personUuids }, flags, o);
      return;
    }
    case 'person.properties.update': {
      const id = await personId(command.data);
      for (const [key, value] of Object.entries(command.data.set ?? {})) {
        await client.updateProperty(id, key, value, o);
      }
      for (const key of command.data.unset ?? []) await client.deleteProperty(id, key, o);
      return;
    }
    case 'person.split': {
      const { mainDistinctId, distinctIdsToSplit } = command.data;
      await client.split(
        await personId(command.data),
        mainDistinctId === undefined
          ? { distinctIdsToSplit: distinctIdsToSplit ?? [] }
          : { mainDistinctId },
        o,
      );
      return;
    }
    case 'person.merge':
      for (const mergedDistinctId of command.data.mergedDistinctIds) {
        await client.mergeDangerously(
          { survivorDistinctId: command.data.survivorDistinctId, mergedDistinctId },
          o,
        );
      }
  }
}

/** A failure that no retry can fix: the message goes to the DLQ at once, with a code. */
class PermanentError extends Error {
  public constructor(
    public readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

async function handleRecord(record: SQSRecord, context: Context): Promise<void> {
  const deadline =
    Date.now() + context.getRemainingTimeInMillis() - config.retry.deadlineSafetyMarginMs;
  const parsed = parseMessage(record.body);
  try {
    if (!parsed.ok) throw new PermanentError(parsed.rejection.code, parsed.rejection.reason);
    await callsFor(parsed.command, await getClient(), deadline);
  } catch (error) {
    // Retryable (429, 5xx, timeout, deadline): throw, SQS redelivers after the visibility timeout.
    if (isRetryable(error) || !(error instanceof Error)) throw error;
    const code = error instanceof PermanentError ? error.code : 'posthog_rejected';
    const str = (value: string) => ({ DataType: 'String', StringValue: value.slice(0, 1000) });
    const { failedIds } = await queueOps.sendToDeadLetterQueue(config.queues.dlqUrl, [
      {
        id: 'e0',
        body: record.body,
        attributes: { error_code: str(code), error_reason: str(error.message) },
        ...(record.attributes.MessageGroupId === undefined
          ? {}
          : { groupId: record.attributes.MessageGroupId, deduplicationId: record.messageId }),
      },
    ]);
    if (failedIds.length > 0) throw error;
  }
}

/** Each record alone, through Powertools' partial batch response. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  config.lane === 'changes'
    ? processPartialResponse(event, handleRecord, fifoProcessor, {
        context,
        skipGroupOnError: true,
      })
    : processPartialResponse(event, handleRecord, standardProcessor, { context });
