import { readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOCAL_WEBHOOK_SECRETS,
  postSampleWebhooks,
  SAMPLES_DIR,
  sendSalesforceSamples,
  signWebhook,
  startBundledIngress,
  startLocalIngress,
  WEBHOOK_SAMPLE_PERSONS,
} from '../../local/webhooks/index.ts';
import { buildTestBundles, type Pipeline, personsState, startPipeline } from './harness.ts';

let bundles: Awaited<ReturnType<typeof buildTestBundles>>;

beforeAll(async () => {
  bundles = await buildTestBundles();
});

afterAll(async () => {
  await bundles.cleanup();
});

/**
 * The pipeline seeded with the persons the sample webhooks name, and the built ingress bundle (the deployable
 * artefact, in a Lambda-like worker reading its secrets through the Secrets Manager stub) served in front of its
 * queues. `sqsEndpoint` points the ingress (only) somewhere else, e.g. through a relay that can drop connections.
 */
async function startWebhookPipeline(sqsEndpoint?: (pipeline: Pipeline) => Promise<string>) {
  const pipeline = await startPipeline(bundles.modules, {
    emulator: { seed: { persons: [...WEBHOOK_SAMPLE_PERSONS] } },
  });
  const queues = {
    deletionsQueueUrl: pipeline.stack.sqs.queues.deletions.url,
    changesQueueUrl: pipeline.stack.sqs.queues.changes.url,
  };
  const endpoint = await sqsEndpoint?.(pipeline);
  const bundled = startBundledIngress(
    pipeline.stack,
    path.join(path.dirname(bundles.modules.deletions), 'ingress.mjs'),
    endpoint === undefined ? {} : { sqsEndpoint: endpoint },
  );
  const ingress = await startLocalIngress(bundled.handler);
  return {
    pipeline,
    queues,
    ingress,
    async close() {
      await ingress.close();
      await bundled.close();
      await pipeline.close();
    },
  };
}

describe('webhooks end to end: signed deliveries → ingress → queues → functions → PostHog emulator', () => {
  it('applies every sample webhook and the Salesforce CDC events, leaving the expected persons', async () => {
    // Prepare
    const run = await startWebhookPipeline();
    try {
      // Act
      const rows = await postSampleWebhooks(run.ingress.url);
      await sendSalesforceSamples(run.pipeline.stack.sqs.client, run.queues);
      run.pipeline.stack.startPolling();
      await run.pipeline.stack.waitUntilDrained({ timeoutMs: 50_000 });
      await run.pipeline.emulator.flush();
      // Assess
      expect(rows.map((row) => [row.provider, row.status, row.commands, row.ignored])).toEqual([
        ['stripe', 200, 1, 0],
        ['hubspot', 200, 4, 1],
        ['clerk', 200, 1, 0],
        ['auth0', 200, 1, 1],
        ['okta', 200, 1, 1],
      ]);
      const outcomes = [...run.pipeline.stack.observer.outcomes.values()];
      expect(outcomes.filter((outcome) => outcome.outcome !== 'applied')).toEqual([]);
      expect(outcomes.map((outcome) => outcome.correlationId).sort()).toEqual([
        'auth0-90020261128102700000000000000000000000000000000000000002',
        'clerk-msg_2Lh9KRb0pzN4hDE5CRu7WTkrjKa',
        'hubspot-33-22-3816279480',
        'hubspot-33-25-3816279340',
        'hubspot-33-27-3816279400',
        'hubspot-33-29-3816279550',
        'okta-5e2a7b7f-cc52-11f0-9c2b-1b7e3f0a2d12',
        'salesforce-00065380-d1a9-a64a-9341-14f6f12f674c-1',
        'salesforce-0007a1b2-e3f4-b5c6-7d8e-9f0a1b2c3d4e-1',
        'stripe-evt_1NG8Du2eZvKYlo2CUI79vXWy',
      ]);
      expect(personsState(run.pipeline.emulator)).toEqual([
        {
          distinctIds: ['0035f00000QJ8a9AAD', '0035f00000QJ8b2AAD'],
          properties: { crm: 'salesforce' },
        },
        {
          distinctIds: ['1246965', '1246970'],
          properties: { email: 'old-contact@example.com', lifecyclestage: 'customer' },
        },
      ]);
    } finally {
      await run.close();
    }
  });
});

/** A TCP relay in front of fauxqs that can drop every connection: SQS "down" without losing its queues. */
async function startSwitchableRelay(
  targetPort: number,
): Promise<{ url: string; down: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { down: false };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (state.down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
      // Keep-alive sockets opened while up would otherwise still reach SQS.
      if (value) for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('webhooks when SQS is down', () => {
  it("answers 503 so the provider retries, and the provider's retry is applied once", async () => {
    // Prepare
    let relay: Awaited<ReturnType<typeof startSwitchableRelay>> | undefined;
    // The ingress reaches fauxqs through the relay; the functions reach it directly.
    const run = await startWebhookPipeline(async (pipeline) => {
      relay = await startSwitchableRelay(Number(new URL(pipeline.stack.sqs.endpoint).port));
      return relay.url;
    });
    try {
      if (relay === undefined) throw new Error('the relay did not start');
      const body = await readFile(path.join(SAMPLES_DIR, 'hubspot-contact-events.json'), 'utf8');
      const deliver = async () => {
        // HubSpot signs each attempt anew (new timestamp); the events and their ids are the same.
        const signed = await signWebhook('hubspot', body, LOCAL_WEBHOOK_SECRETS.hubspot, {
          url: `${run.ingress.url}/webhooks/hubspot`,
        });
        const response = await fetch(signed.url, {
          method: 'POST',
          headers: signed.headers,
          body: signed.body,
        });
        return {
          status: response.status,
          body: (await response.json()) as Record<string, unknown>,
        };
      };

      // Act
      relay.down = true;
      const first = await deliver();
      relay.down = false;
      const retry = await deliver();
      run.pipeline.stack.startPolling();
      await run.pipeline.stack.waitUntilDrained({ timeoutMs: 50_000 });
      await run.pipeline.emulator.flush();

      // Assess
      expect(first).toMatchObject({ status: 503, body: { error: 'enqueue_failed' } });
      expect(retry).toEqual({ status: 200, body: { commands: 4, ignored: 1 } });
      const outcomes = [...run.pipeline.stack.observer.outcomes.values()];
      expect(outcomes.map((outcome) => [outcome.correlationId, outcome.outcome]).sort()).toEqual([
        ['hubspot-33-22-3816279480', 'applied'],
        ['hubspot-33-25-3816279340', 'applied'],
        ['hubspot-33-27-3816279400', 'applied'],
        ['hubspot-33-29-3816279550', 'applied'],
      ]);
      const state = personsState(run.pipeline.emulator).filter((person) =>
        person.distinctIds.some((id) => id.startsWith('12469')),
      );
      expect(state).toEqual([
        {
          distinctIds: ['1246965', '1246970'],
          properties: { email: 'old-contact@example.com', lifecyclestage: 'customer' },
        },
      ]);
    } finally {
      await relay?.close();
      await run.close();
    }
  });
});
