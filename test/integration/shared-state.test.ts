import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHash, STATE_TABLE_ENV } from '#lib/store/index.ts';
import { listDeadLetters } from '../../local/sqs/dlq.ts';
import { buildTestBundles, type Pipeline, startPipeline } from './harness.ts';

// The bundled functions under the local runner, as `npm start` runs them: both lanes take their PostHog budget from
// dynalite (one set of items for the one key), and the deletions lane leaves tombstones there.

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;
let pipeline: Pipeline;

beforeAll(async () => {
  bundles = await buildTestBundles();
  pipeline = await startPipeline(bundles.modules, { env: { POSTHOG_PROPERTY_WRITES: 'capture' } });
});
afterAll(async () => {
  await pipeline.close();
  await bundles.cleanup();
});

const time = '2026-11-28T10:00:00Z';

describe('local runner with the shared state table', () => {
  it('gives both lanes the table, shares one budget per key and records tombstones', async () => {
    // Prepare
    const { stack, emulator } = pipeline;
    const dynamo = stack.dynamo;
    if (dynamo === undefined) throw new Error('the local stack started no dynalite');
    for (const lane of ['deletions', 'changes'] as const) {
      expect(stack.functionEnv[lane][STATE_TABLE_ENV]).toBe(dynamo.tableName);
      expect(stack.functionEnv[lane]['AWS_ENDPOINT_URL_DYNAMODB']).toBe(dynamo.endpoint);
    }

    // Act: a delete by distinct id, then a split (Persons API, "other" bucket) and a capture write to the erased id.
    await pipeline.send([
      JSON.stringify({
        type: 'persons.delete',
        id: 'd1',
        time,
        data: { distinctIds: ['crm-1002'] },
      }),
    ]);
    stack.startPolling();
    await stack.waitUntilDrained({ timeoutMs: 30_000 });
    await pipeline.send([
      JSON.stringify({
        type: 'person.split',
        id: 's1',
        time,
        data: { distinctId: 'crm-1001', distinctIdsToSplit: ['ada@example.com'] },
      }),
      JSON.stringify({
        type: 'person.properties.update',
        id: 'u1',
        time,
        data: { distinctId: 'crm-1002', set: { plan: 'pro' } },
      }),
    ]);
    await stack.waitUntilDrained({ timeoutMs: 30_000 });
    await emulator.flush();

    // Assess
    const { Items = [] } = await dynamo.client.send(
      new ScanCommand({ TableName: dynamo.tableName }),
    );
    const keys = Items.map((i) => i['pk']?.S ?? '').sort();
    const hash = keyHash(emulator.personalApiKey);
    expect(keys.filter((k) => k.startsWith('budget#'))).toEqual([
      `budget#${hash}#delete`,
      `budget#${hash}#other`,
    ]);
    expect(keys.filter((k) => k.startsWith('tomb#'))).toHaveLength(1);
    expect(emulator.state.personByDistinctId('crm-1002')).toBeUndefined();
    const letters = await listDeadLetters(stack.sqs.client, stack.sqs.queues.changes.dlqUrl);
    expect(letters.map((l) => [JSON.parse(l.body).id, l.errorCode])).toEqual([
      ['u1', 'person_erased'],
    ]);
  });
});
