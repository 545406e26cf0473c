import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsQueueOps } from '#lib/batch/index.ts';
import { loadConfig } from '#lib/config.ts';
import { createRelayHandler, type RelayLogger } from '#lib/runtime/index.ts';
import {
  DynamoTombstoneStore,
  PERSON_ERASED,
  TOMBSTONE_CHECK_FAILED,
  tombstoneItemKey,
} from '#lib/store/index.ts';
import {
  demoSeed,
  type PostHogEmulator,
  startPostHogEmulator,
} from '../../../../local/posthog-emulator/index.ts';
import { RECORD_SYSTEM_ATTRIBUTES, toSqsRecord } from '../../../../local/runner/event.ts';
import { lambdaContext } from '../../../../local/runner/invoker.ts';
import { listDeadLetters } from '../../../../local/sqs/dlq.ts';
import { type LocalSqs, startLocalSqs } from '../../../../local/sqs/index.ts';
import { type LocalDynamo, startLocalDynamo } from '../../../../local/store/index.ts';

// Both lanes wired as deployed (createRelayHandler), with the real parts: the PostHog emulator over HTTP, fauxqs
// and dynalite as the shared state table.

let sqs: LocalSqs;
let emulator: PostHogEmulator;
let dynamo: LocalDynamo;

beforeAll(async () => {
  sqs = await startLocalSqs({ prefix: 'erasure' });
  emulator = await startPostHogEmulator({ seed: demoSeed(), timeScale: 60 });
  dynamo = await startLocalDynamo();
});

afterAll(async () => {
  await dynamo.stop();
  await emulator.close();
  await sqs.stop();
});

const quiet: RelayLogger = { debug() {}, info() {}, warn() {}, error() {} };

function relay(lane: 'deletions' | 'changes', dynamodb = dynamo.client) {
  const queue = sqs.queues[lane];
  const config = loadConfig({
    LANE: lane,
    POSTHOG_HOST: emulator.url,
    POSTHOG_PROJECT_ID: String(emulator.projectId),
    POSTHOG_SECRET_ID: 'persons-relay/posthog',
    POSTHOG_PROPERTY_WRITES: 'capture',
    POSTHOG_RATE_TIME_SCALE: '60',
    QUEUE_URL: queue.url,
    DLQ_URL: queue.dlqUrl,
    RELAY_STATE_TABLE_NAME: dynamo.tableName,
    AWS_REGION: 'us-east-1',
  });
  return createRelayHandler(config, {
    fetchSecret: async () => ({
      personalApiKey: emulator.personalApiKey,
      projectToken: emulator.projectToken,
    }),
    queueOps: sqsQueueOps(sqs.client),
    dynamodb,
    logger: quiet,
    metrics: { count() {}, flush() {} },
  });
}

async function receive(lane: 'deletions' | 'changes', bodies: string[]): Promise<SQSEvent> {
  const queue = sqs.queues[lane];
  for (const [i, body] of bodies.entries()) {
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: body,
        ...(lane === 'changes' ? { MessageGroupId: `g-${i}-${Date.now()}` } : {}),
      }),
    );
  }
  const out = await sqs.client.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.url,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: [...RECORD_SYSTEM_ATTRIBUTES],
    }),
  );
  return { Records: (out.Messages ?? []).map((m) => toSqsRecord(m, queue.arn, 'us-east-1')) };
}

const time = '2026-11-28T10:00:00Z';
const del = (id: string, distinctId: string) =>
  JSON.stringify({ type: 'persons.delete', id, time, data: { distinctIds: [distinctId] } });
const update = (id: string, distinctId: string) =>
  JSON.stringify({
    type: 'person.properties.update',
    id,
    time,
    data: { distinctId, set: { plan: 'pro' } },
  });
const merge = (id: string, survivor: string, merged: string) =>
  JSON.stringify({
    type: 'person.merge',
    id,
    time,
    data: { survivorDistinctId: survivor, mergedDistinctIds: [merged] },
  });

describe('erasure tombstones across the lanes', () => {
  it('keeps capture writes from re-creating a person that persons.delete erased', async () => {
    // Prepare: the deletions lane erases crm-1003.
    const deletions = relay('deletions');
    const changes = relay('changes');
    expect(emulator.state.personByDistinctId('crm-1003')).toBeDefined();
    const deleted = await deletions(
      await receive('deletions', [del('erase-1', 'crm-1003')]),
      lambdaContext('apply-deletions', Date.now() + 30_000),
    );
    expect(deleted.batchItemFailures).toEqual([]);
    await emulator.flush();
    expect(emulator.state.personByDistinctId('crm-1003')).toBeUndefined();
    const stored = await new DynamoTombstoneStore(dynamo.client, {
      tableName: dynamo.tableName,
      projectId: emulator.projectId,
    }).erased(['crm-1003', 'crm-1004'], Date.now());
    expect([...stored]).toEqual(['crm-1003']);

    // Act: a property write and a merge naming the erased id, and a write to a live person.
    const event = await receive('changes', [
      update('late-update', 'crm-1003'),
      merge('late-merge', 'crm-1001', 'crm-1003'),
      update('live-update', 'crm-1004'),
    ]);
    const response = await changes(event, lambdaContext('apply-changes', Date.now() + 30_000));
    await emulator.flush();

    // Assess: both erased-id messages are in the DLQ with person_erased; the person was not re-created.
    expect(response.batchItemFailures).toEqual([]);
    expect(emulator.state.personByDistinctId('crm-1003')).toBeUndefined();
    expect(emulator.state.personByDistinctId('crm-1004')?.properties['plan']).toBe('pro');
    const letters = await listDeadLetters(sqs.client, sqs.queues.changes.dlqUrl);
    const codes = Object.fromEntries(
      letters.map((l) => [JSON.parse(l.body).id as string, l.errorCode]),
    );
    expect(codes).toEqual({ 'late-update': PERSON_ERASED, 'late-merge': PERSON_ERASED });
  });

  it('retries capture writes instead of sending them unchecked when the tombstones cannot be read', async () => {
    // Prepare: a table client pointed at a closed port.
    const broken = dynamo.createClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const changes = relay('changes', broken);
    const before = emulator.state.count({ endpoint: 'batch' });

    // Act
    const event = await receive('changes', [update('unchecked', 'crm-1005')]);
    const report = await changes(event, lambdaContext('apply-changes', Date.now() + 30_000));
    broken.destroy();

    // Assess
    expect(report.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.map((r) => r.messageId),
    );
    expect(emulator.state.count({ endpoint: 'batch' })).toBe(before);
    expect(TOMBSTONE_CHECK_FAILED).toBe('tombstone_check_failed');
  });

  it('leaves no tombstone when the person is kept (keepPerson: only events are deleted)', async () => {
    // Prepare
    const deletions = relay('deletions');
    const body = JSON.stringify({
      type: 'persons.delete',
      id: 'keep-1',
      time,
      data: { distinctIds: ['crm-1006'], keepPerson: true, deleteEvents: true },
    });

    // Act
    const response = await deletions(
      await receive('deletions', [body]),
      lambdaContext('apply-deletions', Date.now() + 30_000),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const store = new DynamoTombstoneStore(dynamo.client, {
      tableName: dynamo.tableName,
      projectId: emulator.projectId,
    });
    expect([...(await store.erased(['crm-1006'], Date.now()))]).toEqual([]);
  });

  it('stores hashed ids only, for the default 30 days, an expiry the readers honour', async () => {
    // Prepare: the deployed default TTL (TOMBSTONE_TTL_DAYS = 30), at fixed times.
    const store = new DynamoTombstoneStore(dynamo.client, {
      tableName: dynamo.tableName,
      projectId: 7,
    });
    const otherProject = new DynamoTombstoneStore(dynamo.client, {
      tableName: dynamo.tableName,
      projectId: 8,
    });
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const days30 = 30 * 86_400_000;

    // Act
    await store.record(['user@example.com'], t0);

    // Assess
    expect(tombstoneItemKey(7, 'user@example.com')).not.toContain('user@example.com');
    expect([...(await store.erased(['user@example.com'], t0 + days30 - 1_000))]).toEqual([
      'user@example.com',
    ]);
    // DynamoDB may still return the item after its expiry; the reader treats it as gone.
    expect([...(await store.erased(['user@example.com'], t0 + days30 + 1_000))]).toEqual([]);
    // Tombstones are per project.
    expect([...(await otherProject.erased(['user@example.com'], t0))]).toEqual([]);
  });
});
