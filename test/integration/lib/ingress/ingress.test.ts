import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookProvider } from '../../../../lib/adapters/index.ts';
import {
  createIngressHandler,
  hubspotSignatureV3,
  hubspotSignedUri,
  type IngressMetricName,
  loadIngressConfig,
  SIGNATURE_TOLERANCE_SECONDS,
} from '../../../../lib/ingress/index.ts';
import { type Command, CommandSchema } from '../../../../lib/messages/index.ts';
import {
  LOCAL_WEBHOOK_SECRETS,
  localIngressEnv,
  type SignedWebhook,
  signWebhook,
  startLocalIngress,
} from '../../../../local/webhooks/index.ts';

const SAMPLES = path.resolve(import.meta.dirname, '../../../../examples/webhooks');
const sampleText = (file: string): string => readFileSync(path.join(SAMPLES, file), 'utf8');

let server: FauxqsServer;
let sqs: SQSClient;
let queueCount = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  sqs.destroy();
  await server.stop();
});

/** A recording logger and metrics sink (the fakes the ingress takes by injection). */
function recorders() {
  const lines: { level: string; message: string; extra: Record<string, unknown> }[] = [];
  const log =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      lines.push({ level, message, extra: Object.assign({}, ...extra) });
  const counts: { name: IngressMetricName; value: number; dims: Record<string, string> }[] = [];
  return {
    lines,
    counts,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    metrics: {
      count: (name: IngressMetricName, value: number, dims: Readonly<Record<string, string>>) =>
        counts.push({ name, value, dims: { ...dims } }),
      flush: () => undefined,
    },
  };
}

/** Fresh queues and a local ingress in front of them, with a settable clock. */
async function startIngress(env: Record<string, string> = {}) {
  queueCount += 1;
  const deletions = await sqs.send(
    new CreateQueueCommand({ QueueName: `wh-deletions-${queueCount}` }),
  );
  const changes = await sqs.send(
    new CreateQueueCommand({
      QueueName: `wh-changes-${queueCount}.fifo`,
      Attributes: { FifoQueue: 'true' },
    }),
  );
  const queues = {
    deletionsQueueUrl: deletions.QueueUrl ?? '',
    changesQueueUrl: changes.QueueUrl ?? '',
  };
  const clock = { now: Date.now() };
  const recorded = recorders();
  const secretReads: string[] = [];
  const handler = createIngressHandler(loadIngressConfig({ ...localIngressEnv(queues), ...env }), {
    sqs,
    getSecret: async (provider, secretId) => {
      secretReads.push(secretId);
      return LOCAL_WEBHOOK_SECRETS[provider];
    },
    logger: recorded.logger,
    metrics: recorded.metrics,
    now: () => clock.now,
  });
  const ingress = await startLocalIngress(handler);
  const drain = async (url: string): Promise<Command[]> => {
    const commands: Command[] = [];
    for (;;) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) return commands;
      for (const message of messages)
        commands.push(CommandSchema.parse(JSON.parse(message.Body ?? '')));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle ?? '',
          })),
        }),
      );
    }
  };
  return {
    ingress,
    clock,
    recorded,
    secretReads,
    url: (provider: string) => `${ingress.url}/webhooks/${provider}`,
    /** Everything enqueued so far (both lanes), removed from the queues. */
    enqueued: async () => [
      ...(await drain(queues.deletionsQueueUrl)),
      ...(await drain(queues.changesQueueUrl)),
    ],
    close: () => ingress.close(),
  };
}

async function post(request: SignedWebhook, body: string = request.body) {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface ProviderCase {
  provider: WebhookProvider;
  file: string;
  messageId?: string;
  /** The command ids the sample maps to (the adapters' tests check every field). */
  ids: string[];
  ignored: number;
  /** Whether the scheme carries a signed timestamp (Stripe, HubSpot, Clerk) or only a shared secret. */
  timestamped: boolean;
}

const CASES: ProviderCase[] = [
  {
    provider: 'stripe',
    file: 'stripe-customer-deleted.json',
    ids: ['stripe-evt_1NG8Du2eZvKYlo2CUI79vXWy'],
    ignored: 0,
    timestamped: true,
  },
  {
    provider: 'hubspot',
    file: 'hubspot-contact-events.json',
    ids: [
      'hubspot-33-22-3816279480',
      'hubspot-33-29-3816279550',
      'hubspot-33-25-3816279340',
      'hubspot-33-27-3816279400',
    ],
    ignored: 1,
    timestamped: true,
  },
  {
    provider: 'clerk',
    file: 'clerk-user-deleted.json',
    messageId: 'msg_2Lh9KRb0pzN4hDE5CRu7WTkrjKa',
    ids: ['clerk-msg_2Lh9KRb0pzN4hDE5CRu7WTkrjKa'],
    ignored: 0,
    timestamped: true,
  },
  {
    provider: 'auth0',
    file: 'auth0-log-stream.json',
    ids: ['auth0-90020261128102700000000000000000000000000000000000000002'],
    ignored: 1,
    timestamped: false,
  },
  {
    provider: 'okta',
    file: 'okta-event-hook.json',
    ids: ['okta-5e2a7b7f-cc52-11f0-9c2b-1b7e3f0a2d12'],
    ignored: 1,
    timestamped: false,
  },
];

describe.each(CASES)('POST /webhooks/$provider', (testCase) => {
  const sign = (
    stack: Awaited<ReturnType<typeof startIngress>>,
    options: { nowMs?: number; secret?: string; body?: string } = {},
  ) =>
    signWebhook(
      testCase.provider,
      options.body ?? sampleText(testCase.file),
      options.secret ?? LOCAL_WEBHOOK_SECRETS[testCase.provider],
      {
        url: stack.url(testCase.provider),
        nowMs: options.nowMs ?? stack.clock.now,
        ...(testCase.messageId === undefined ? {} : { messageId: testCase.messageId }),
      },
    );

  it('accepts a valid signature and enqueues exactly the mapped commands on their lanes', async () => {
    // Prepare
    const stack = await startIngress();
    try {
      // Act
      const answer = await post(await sign(stack));
      const enqueued = await stack.enqueued();
      // Assess
      expect(answer).toEqual({
        status: 200,
        body: { commands: testCase.ids.length, ignored: testCase.ignored },
      });
      expect(enqueued.map((command) => command.id)).toEqual(testCase.ids);
      expect(stack.recorded.counts).toContainEqual({
        name: 'WebhookRequests',
        value: 1,
        dims: { provider: testCase.provider, outcome: 'accepted' },
      });
      // The secret is read through the injected source and never logged.
      expect(stack.secretReads).toEqual([`persons-relay/webhooks/${testCase.provider}`]);
      expect(JSON.stringify(stack.recorded.lines)).not.toContain(
        LOCAL_WEBHOOK_SECRETS[testCase.provider],
      );
    } finally {
      await stack.close();
    }
  });

  // Okta event hooks and Auth0 log streams authenticate the sender with a shared header and do not sign the body,
  // so a changed body cannot be told from the original: their tests stop at the secret (below).
  it.runIf(testCase.timestamped)(
    'refuses a tampered body with 401 and enqueues nothing',
    async () => {
      // Prepare
      const stack = await startIngress();
      try {
        const signed = await sign(stack);
        // Act
        const answer = await post(signed, signed.body.replace('"', ' "'));
        // Assess
        expect(answer).toMatchObject({ status: 401, body: { error: 'bad_signature' } });
        expect(await stack.enqueued()).toEqual([]);
      } finally {
        await stack.close();
      }
    },
  );

  it('refuses a request signed with another secret with 401', async () => {
    // Prepare
    const stack = await startIngress();
    try {
      const wrong =
        testCase.provider === 'clerk'
          ? `whsec_${Buffer.from('someone else entirely').toString('base64')}`
          : 'someone-elses-secret';
      // Act
      const answer = await post(await sign(stack, { secret: wrong }));
      // Assess
      expect(answer).toMatchObject({ status: 401, body: { error: 'bad_signature' } });
      expect(await stack.enqueued()).toEqual([]);
      expect(JSON.stringify(stack.recorded.lines)).not.toContain(
        LOCAL_WEBHOOK_SECRETS[testCase.provider],
      );
    } finally {
      await stack.close();
    }
  });

  it('refuses a request without any signature or secret with 401', async () => {
    // Prepare
    const stack = await startIngress();
    try {
      // Act
      const response = await fetch(stack.url(testCase.provider), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: sampleText(testCase.file),
      });
      // Assess
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'missing_signature' });
    } finally {
      await stack.close();
    }
  });

  it.runIf(testCase.timestamped)(
    'accepts a timestamp 299 s old and refuses one 301 s old (the real 300 s window, fake clock)',
    async () => {
      // Prepare
      const stack = await startIngress();
      try {
        const now = stack.clock.now;
        // Act
        const inside = await post(
          await sign(stack, { nowMs: now - (SIGNATURE_TOLERANCE_SECONDS - 1) * 1000 }),
        );
        const stale = await post(
          await sign(stack, { nowMs: now - (SIGNATURE_TOLERANCE_SECONDS + 1) * 1000 }),
        );
        // Assess
        expect(inside.status).toBe(200);
        expect(stale).toMatchObject({ status: 401, body: { error: 'stale_timestamp' } });
        expect((await stack.enqueued()).map((command) => command.id)).toEqual(testCase.ids);
      } finally {
        await stack.close();
      }
    },
  );

  it.runIf(testCase.timestamped)(
    'refuses a replay of a captured delivery once its window has passed',
    async () => {
      // Prepare
      const stack = await startIngress();
      try {
        const captured = await sign(stack);
        expect((await post(captured)).status).toBe(200);
        await stack.enqueued();
        // Act: the same bytes and headers, six minutes later.
        stack.clock.now += 6 * 60 * 1000;
        const replay = await post(captured);
        // Assess
        expect(replay).toMatchObject({ status: 401, body: { error: 'stale_timestamp' } });
        expect(await stack.enqueued()).toEqual([]);
      } finally {
        await stack.close();
      }
    },
  );

  it.runIf(!testCase.timestamped)(
    'turns a replay (no timestamp in this scheme) into the same command ids, which the lanes deduplicate',
    async () => {
      // Prepare
      const stack = await startIngress();
      try {
        const captured = await sign(stack);
        await post(captured);
        const first = await stack.enqueued();
        // Act
        stack.clock.now += 6 * 60 * 1000;
        await post(captured);
        const replayed = await stack.enqueued();
        // Assess
        expect(replayed).toEqual(first);
      } finally {
        await stack.close();
      }
    },
  );

  it('answers 400 to a correctly signed body that is not the provider format, and enqueues nothing', async () => {
    // Prepare
    const stack = await startIngress();
    try {
      // Act
      const wrongShape = await post(await sign(stack, { body: '{"hello":"world"}' }));
      const notJson = await post(await sign(stack, { body: '{"truncated": ' }));
      // Assess
      expect(wrongShape).toMatchObject({ status: 400, body: { error: 'malformed_payload' } });
      expect(notJson).toMatchObject({ status: 400, body: { error: 'not_json' } });
      expect(await stack.enqueued()).toEqual([]);
    } finally {
      await stack.close();
    }
  });

  it('answers 413 to a body over the limit, before checking anything else', async () => {
    // Prepare
    const stack = await startIngress({ WEBHOOK_MAX_BODY_BYTES: '64' });
    try {
      // Act
      const answer = await post(await sign(stack));
      // Assess
      expect(answer).toMatchObject({ status: 413, body: { error: 'body_too_large' } });
      expect(await stack.enqueued()).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});

describe('ingress routing and edge cases', () => {
  it('answers 404 to an unknown provider and to a provider without a configured secret', async () => {
    // Prepare
    const stack = await startIngress({ WEBHOOK_SECRET_OKTA: '' });
    try {
      // Act
      const unknown = await fetch(stack.url('paypal'), { method: 'POST', body: '{}' });
      const unconfigured = await fetch(stack.url('okta'), { method: 'POST', body: '{}' });
      // Assess
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: 'unknown_provider' });
      expect(unconfigured.status).toBe(404);
      expect(await unconfigured.json()).toMatchObject({ error: 'provider_not_configured' });
    } finally {
      await stack.close();
    }
  });

  it("answers Okta's one-time verification GET with the challenge, only with the hook's secret", async () => {
    // Prepare
    const stack = await startIngress();
    try {
      const headers = { 'x-okta-verification-challenge': 'n6X8JgYv3r2BjlG2Ui-jpQ' };
      // Act
      const ok = await fetch(stack.url('okta'), {
        headers: { ...headers, authorization: LOCAL_WEBHOOK_SECRETS.okta },
      });
      const refused = await fetch(stack.url('okta'), {
        headers: { ...headers, authorization: 'nope' },
      });
      // Assess
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ verification: 'n6X8JgYv3r2BjlG2Ui-jpQ' });
      expect(refused.status).toBe(401);
      // Only Okta verifies with a GET: the same request to another provider is refused.
      const stripe = await fetch(stack.url('stripe'), {
        headers: { ...headers, authorization: LOCAL_WEBHOOK_SECRETS.stripe },
      });
      expect(stripe.status).toBe(405);
    } finally {
      await stack.close();
    }
  });

  it('answers 400 when a signed event maps to a command the contract refuses, enqueueing nothing of the batch', async () => {
    // Prepare: a HubSpot batch whose second event is a merge into an id PostHog refuses to merge ("0").
    const stack = await startIngress();
    try {
      const events = JSON.parse(sampleText('hubspot-contact-events.json')) as Record<
        string,
        unknown
      >[];
      const merge = events[1] ?? {};
      merge['primaryObjectId'] = 0;
      const body = JSON.stringify(events);
      const signed = await signWebhook('hubspot', body, LOCAL_WEBHOOK_SECRETS.hubspot, {
        url: stack.url('hubspot'),
        nowMs: stack.clock.now,
      });
      // Act
      const answer = await post(signed);
      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body['error']).toBe('unmappable_payload');
      expect(String(answer.body['message'])).toContain('survivorDistinctId');
      expect(await stack.enqueued()).toEqual([]);
    } finally {
      await stack.close();
    }
  });

  it('acknowledges a delivery whose events are all unmapped with 200, counted as ignored', async () => {
    // Prepare
    const stack = await startIngress();
    try {
      const body = sampleText('stripe-customer-deleted.json').replace(
        'customer.deleted',
        'invoice.paid',
      );
      const signed = await signWebhook('stripe', body, LOCAL_WEBHOOK_SECRETS.stripe, {
        url: stack.url('stripe'),
        nowMs: stack.clock.now,
      });
      // Act
      const answer = await post(signed);
      // Assess
      expect(answer).toEqual({ status: 200, body: { commands: 0, ignored: 1 } });
      expect(stack.recorded.counts).toContainEqual({
        name: 'WebhookEventsIgnored',
        value: 1,
        dims: { provider: 'stripe' },
      });
      expect(await stack.enqueued()).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});

describe('HubSpot v3 signature', () => {
  it("follows HubSpot's recipe: base64 HMAC-SHA256 of method + URI + body + timestamp, with listed escapes decoded", () => {
    // Prepare: the recipe as @hubspot/api-client 14.0.1 (Signature.getSignature, v3) writes it.
    const secret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
    const body = '{"example_field":"example_value"}';
    const url = 'https://www.example.com/webhook_uri';
    const timestamp = '1764325200000';
    const recipe = createHmac('sha256', secret)
      .update(`POST${url}${body}${timestamp}`)
      .digest('base64');
    // Act / Assess
    expect(hubspotSignatureV3(secret, 'POST', url, body, timestamp)).toBe(recipe);
    expect(hubspotSignedUri('https://h.example/webhooks/hubspot?a=b%3Ac%2Cd&e=%20')).toBe(
      'https://h.example/webhooks/hubspot?a=b:c,d&e=%20',
    );
  });
});
