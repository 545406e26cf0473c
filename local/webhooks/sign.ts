import { randomUUID } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { WebhookProvider } from '#lib/adapters/index.ts';
import { hubspotSignatureV3 } from '#lib/ingress/index.ts';

/** A webhook request signed the way its provider signs it. */
export interface SignedWebhook {
  readonly method: 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Options of {@link signWebhook}. */
export interface SignOptions {
  /** The full URL the request goes to (HubSpot signs it). */
  readonly url: string;
  /** When the provider "sent" it. @default now */
  readonly nowMs?: number;
  /** Clerk/Svix delivery id. @default a random `msg_...` */
  readonly messageId?: string;
}

/**
 * Signs `body` for `provider` with `secret`, with each provider's own scheme: Stripe through the official
 * library's `webhooks.generateTestHeaderStringAsync`, Clerk through `standardwebhooks`' `sign` (Svix headers),
 * HubSpot v3 (HMAC-SHA256 over method, URL, body and the millisecond timestamp), and the shared
 * `Authorization` value of Okta event hooks and Auth0 log streams.
 */
export async function signWebhook(
  provider: WebhookProvider,
  body: string,
  secret: string,
  options: SignOptions,
): Promise<SignedWebhook> {
  const nowMs = options.nowMs ?? Date.now();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  switch (provider) {
    case 'stripe':
      headers['stripe-signature'] = await Stripe.webhooks.generateTestHeaderStringAsync({
        payload: body,
        secret,
        timestamp: Math.floor(nowMs / 1000),
      });
      break;
    case 'clerk': {
      const id = options.messageId ?? `msg_${randomUUID().replaceAll('-', '')}`;
      const seconds = Math.floor(nowMs / 1000);
      headers['svix-id'] = id;
      headers['svix-timestamp'] = String(seconds);
      headers['svix-signature'] = new StandardWebhook(secret).sign(
        id,
        new Date(seconds * 1000),
        body,
      );
      break;
    }
    case 'hubspot': {
      const timestamp = String(nowMs);
      headers['x-hubspot-request-timestamp'] = timestamp;
      headers['x-hubspot-signature-v3'] = hubspotSignatureV3(
        secret,
        'POST',
        options.url,
        body,
        timestamp,
      );
      break;
    }
    case 'auth0':
      headers['authorization'] = `Bearer ${secret}`;
      break;
    case 'okta':
      headers['authorization'] = secret;
      break;
  }
  return { method: 'POST', url: options.url, headers, body };
}

const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/** A `curl` command that sends the signed request (the body from a file, so it is sent byte for byte). */
export function toCurl(request: SignedWebhook, bodyFile?: string): string {
  const lines = [`curl -sS -X POST ${shellQuote(request.url)}`];
  for (const [name, value] of Object.entries(request.headers)) {
    lines.push(`  -H ${shellQuote(`${name}: ${value}`)}`);
  }
  lines.push(
    bodyFile === undefined
      ? `  --data-binary ${shellQuote(request.body)}`
      : `  --data-binary @${shellQuote(bodyFile)}`,
  );
  return lines.join(' \\\n');
}
