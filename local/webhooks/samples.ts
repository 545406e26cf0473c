import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { WebhookProvider } from '#lib/adapters/index.ts';
import { envSuffix } from '#lib/ingress/index.ts';
import { parseMessage } from '#lib/messages/index.ts';
import type { SeedPerson } from '../posthog-emulator/index.ts';
import { signWebhook } from './sign.ts';

/** Where the sample payloads live (the providers' documented examples; sources in its README). */
export const SAMPLES_DIR = path.resolve(import.meta.dirname, '..', '..', 'examples', 'webhooks');

/** One sample delivery per webhook provider. */
export const SAMPLE_WEBHOOKS: readonly {
  provider: WebhookProvider;
  file: string;
  messageId?: string;
}[] = [
  { provider: 'stripe', file: 'stripe-customer-deleted.json' },
  { provider: 'hubspot', file: 'hubspot-contact-events.json' },
  // Clerk's body has no event id; Svix sends it as the `svix-id` header (fixed here, so runs compare).
  {
    provider: 'clerk',
    file: 'clerk-user-deleted.json',
    messageId: 'msg_2Lh9KRb0pzN4hDE5CRu7WTkrjKa',
  },
  { provider: 'auth0', file: 'auth0-log-stream.json' },
  { provider: 'okta', file: 'okta-event-hook.json' },
];

/** Salesforce CDC samples: EventBridge events, delivered to the queue the stack's rules pick. */
export const SALESFORCE_SAMPLES: readonly string[] = [
  'salesforce-cdc-merge-delete.json',
  'salesforce-cdc-delete.json',
];

/**
 * Signing secrets of the local ingress (development values, never real ones). Clerk's is a Svix-style
 * `whsec_<base64>`, as Clerk's dashboard shows it.
 */
export const LOCAL_WEBHOOK_SECRETS: Readonly<Record<WebhookProvider, string>> = {
  stripe: 'whsec_local_stripe_endpoint_secret',
  hubspot: 'local-hubspot-app-client-secret',
  clerk: `whsec_${Buffer.from('persons-relay local clerk secret').toString('base64')}`,
  auth0: 'local-auth0-log-stream-token',
  okta: 'local-okta-event-hook-secret',
};

/** The ingress environment for a local run: the queues plus one secret id per provider. */
export function localIngressEnv(queues: {
  deletionsQueueUrl: string;
  changesQueueUrl: string;
}): Record<string, string> {
  const env: Record<string, string> = {
    DELETIONS_QUEUE_URL: queues.deletionsQueueUrl,
    CHANGES_QUEUE_URL: queues.changesQueueUrl,
  };
  for (const provider of SAMPLE_WEBHOOKS.map((sample) => sample.provider)) {
    env[`WEBHOOK_SECRET_${envSuffix(provider)}`] = `persons-relay/webhooks/${provider}`;
  }
  return env;
}

/**
 * The persons the samples talk about, so that a local run shows each webhook's effect: HubSpot contacts
 * 1246965 and 1246970 (merged, then a property set), deleted contacts and users of every provider, and the
 * Salesforce contacts of the CDC samples.
 */
export const WEBHOOK_SAMPLE_PERSONS: readonly SeedPerson[] = [
  { distinctIds: ['jenny-rosen-42'], properties: { email: 'jennyrosen@example.com' } },
  { distinctIds: ['1246965'], properties: { lifecyclestage: 'lead' } },
  { distinctIds: ['1246970'], properties: { email: 'old-contact@example.com' } },
  { distinctIds: ['1246978'] },
  { distinctIds: ['1246985'] },
  { distinctIds: ['user_29wBMCtzATuFJut8jO2VNTVekS4'] },
  { distinctIds: ['auth0|5f7c8ec7c33c6c004bbafe82'] },
  { distinctIds: ['00u1t7f8qzXH3j0RT0g7'] },
  { distinctIds: ['0035f00000QJ8a9AAD'], properties: { crm: 'salesforce' } },
  { distinctIds: ['0035f00000QJ8b2AAD'] },
  { distinctIds: ['0035f00000QJ8c7AAD'] },
];

/** The answer to one sample webhook. */
export interface WebhookRow {
  readonly provider: string;
  readonly file: string;
  readonly status: number;
  /** Commands queued (`commands` of the 200 answer), or 0. */
  readonly commands: number;
  readonly ignored: number;
  /** The refusal code of a 4xx/5xx. */
  readonly error?: string;
  /** The command ids, when known at send time (the Salesforce samples, mapped by the consumers' parser). */
  readonly commandIds?: readonly string[];
}

/** Signs every sample with the local secrets and posts it to the ingress at `ingressUrl`. */
export async function postSampleWebhooks(
  ingressUrl: string,
  options: { nowMs?: number } = {},
): Promise<WebhookRow[]> {
  const rows: WebhookRow[] = [];
  for (const { provider, file, messageId } of SAMPLE_WEBHOOKS) {
    const body = await readFile(path.join(SAMPLES_DIR, file), 'utf8');
    const signed = await signWebhook(provider, body, LOCAL_WEBHOOK_SECRETS[provider], {
      url: `${ingressUrl}/webhooks/${provider}`,
      ...(messageId === undefined ? {} : { messageId }),
      ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
    });
    const response = await fetch(signed.url, {
      method: signed.method,
      headers: signed.headers,
      body: signed.body,
    });
    const answer = (await response.json()) as {
      commands?: number;
      ignored?: number;
      error?: string;
    };
    rows.push({
      provider,
      file,
      status: response.status,
      commands: answer.commands ?? 0,
      ignored: answer.ignored ?? 0,
      ...(answer.error === undefined ? {} : { error: answer.error }),
    });
  }
  return rows;
}

/**
 * Delivers the Salesforce CDC samples as the stack's EventBridge rules would (infra/constructs/
 * salesforce-cdc-routing.ts): a DELETE naming a `MasterRecordId` to the changes FIFO queue, grouped by the winning
 * record and deduplicated by the event id, any other DELETE to the deletions queue.
 */
export async function sendSalesforceSamples(
  sqs: SQSClient,
  queues: { deletionsQueueUrl: string; changesQueueUrl: string },
): Promise<WebhookRow[]> {
  const rows: WebhookRow[] = [];
  for (const file of SALESFORCE_SAMPLES) {
    const body = await readFile(path.join(SAMPLES_DIR, file), 'utf8');
    const event = JSON.parse(body) as {
      id: string;
      detail?: { payload?: { MasterRecordId?: string | null } };
    };
    const master = event.detail?.payload?.MasterRecordId;
    await sqs.send(
      typeof master === 'string'
        ? new SendMessageCommand({
            QueueUrl: queues.changesQueueUrl,
            MessageBody: body,
            MessageGroupId: master,
            MessageDeduplicationId: event.id,
          })
        : new SendMessageCommand({ QueueUrl: queues.deletionsQueueUrl, MessageBody: body }),
    );
    const parsed = parseMessage(body);
    rows.push({
      provider: 'salesforce',
      file,
      status: 0,
      commands: 1,
      ignored: 0,
      commandIds: parsed.ok ? [parsed.command.id] : [],
    });
  }
  return rows;
}
