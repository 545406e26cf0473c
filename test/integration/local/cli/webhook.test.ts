import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCommand, webhookUrl } from '../../../../cli/webhook-sign.ts';
import { WEBHOOK_PROVIDERS } from '../../../../lib/adapters/index.ts';
import { createIngressHandler, loadIngressConfig } from '../../../../lib/ingress/index.ts';
import {
  LOCAL_WEBHOOK_SECRETS,
  type LocalIngress,
  localIngressEnv,
  SAMPLE_WEBHOOKS,
  SAMPLES_DIR,
  startLocalIngress,
} from '../../../../local/webhooks/index.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../../..');

let server: FauxqsServer;
let sqs: SQSClient;
let ingress: LocalIngress;
let queues: { deletionsQueueUrl: string; changesQueueUrl: string };

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const deletions = await sqs.send(new CreateQueueCommand({ QueueName: 'cli-deletions' }));
  const changes = await sqs.send(
    new CreateQueueCommand({ QueueName: 'cli-changes.fifo', Attributes: { FifoQueue: 'true' } }),
  );
  queues = { deletionsQueueUrl: deletions.QueueUrl ?? '', changesQueueUrl: changes.QueueUrl ?? '' };
  const quiet = () => undefined;
  ingress = await startLocalIngress(
    createIngressHandler(loadIngressConfig(localIngressEnv(queues)), {
      sqs,
      getSecret: async (provider) => LOCAL_WEBHOOK_SECRETS[provider],
      logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
      metrics: { count: quiet, flush: quiet },
    }),
  );
});

afterAll(async () => {
  await ingress.close();
  sqs.destroy();
  await server.stop();
});

const queued = async (url: string) =>
  Number(
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      )
    ).Attributes?.['ApproximateNumberOfMessages'] ?? 0,
  );

// Spawns curl and the bin (Node + tsx); on a loaded 2-core machine one spawn can take 10 s or more.
describe('persons-relay webhook sign', { timeout: 240_000 }, () => {
  it.each(SAMPLE_WEBHOOKS)(
    'prints a curl command that the $provider route accepts',
    async ({ provider, file }) => {
      // Prepare
      const { curl } = await signCommand(
        { provider, file: path.join(SAMPLES_DIR, file), url: ingress.url },
        {},
      );
      // Act: run the printed command as a user would.
      const { stdout } = await run('sh', ['-c', `${curl} -w ' %{http_code}'`]);
      // Assess
      expect(stdout.trim().endsWith(' 200')).toBe(true);
      expect(JSON.parse(stdout.trim().replace(/ 200$/, ''))).toMatchObject({
        commands: expect.any(Number),
      });
    },
  );

  it('is refused by the ingress when signed with another secret (PERSONS_RELAY_WEBHOOK_SECRET)', async () => {
    // Prepare
    const before = await queued(queues.deletionsQueueUrl);
    const { curl, note } = await signCommand(
      {
        provider: 'stripe',
        file: path.join(SAMPLES_DIR, 'stripe-customer-deleted.json'),
        url: ingress.url,
      },
      { PERSONS_RELAY_WEBHOOK_SECRET: 'whsec_not_the_one' },
    );
    // Act
    const { stdout } = await run('sh', ['-c', `${curl} -o /dev/null -w '%{http_code}'`]);
    // Assess
    expect(note).toBe('signed with PERSONS_RELAY_WEBHOOK_SECRET');
    expect(stdout).toBe('401');
    expect(await queued(queues.deletionsQueueUrl)).toBe(before);
  });

  it('runs through the package bin with the flags of the issue', async () => {
    // Act
    const { stdout, stderr } = await run(
      process.execPath,
      [
        'bin/persons-relay.js',
        'webhook',
        'sign',
        '--provider',
        'stripe',
        '--file',
        'examples/webhooks/stripe-customer-deleted.json',
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PERSONS_RELAY_WEBHOOK_URL: ingress.url,
          PERSONS_RELAY_WEBHOOK_SECRET: '',
        },
      },
    );
    const status = await run('sh', ['-c', `${stdout.trim()} -o /dev/null -w '%{http_code}'`]);
    // Assess
    expect(stdout).toContain(`curl -sS -X POST '${ingress.url}/webhooks/stripe'`);
    expect(stdout).toMatch(/-H 'stripe-signature: t=\d+,v1=[0-9a-f]{64}'/);
    expect(stderr).toContain('signed with');
    expect(status.stdout).toBe('200');
  });

  it('appends the provider route to a base URL, and keeps a full route as given', () => {
    expect(WEBHOOK_PROVIDERS.map((provider) => webhookUrl(provider, 'https://h.example/'))).toEqual(
      WEBHOOK_PROVIDERS.map((provider) => `https://h.example/webhooks/${provider}`),
    );
    expect(webhookUrl('okta', 'https://h.example/webhooks/okta')).toBe(
      'https://h.example/webhooks/okta',
    );
  });
});
