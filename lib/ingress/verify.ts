import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { WebhookProvider } from '../adapters/index.ts';

/**
 * The replay window of every timestamped signature: five minutes, the value each provider documents and its own
 * library uses (Stripe `DEFAULT_TOLERANCE` 300 s; HubSpot "reject the request if the timestamp is older than
 * 5 minutes"; Standard Webhooks / Svix `WEBHOOK_TOLERANCE_IN_SECONDS` 300).
 */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** A received webhook, as much of it as verification needs. */
export interface SignedRequest {
  readonly method: string;
  /** The full URL the provider called (HubSpot signs it). */
  readonly url: string;
  readonly headers: Headers;
  /** The raw body, exactly as received: signatures are over bytes, not over re-serialised JSON. */
  readonly body: string;
}

/** Why a request was refused before its body was read. Never carries the secret. */
export type RefusalReason = 'missing_signature' | 'bad_signature' | 'stale_timestamp';

/** The result of verifying a request. `messageId` is the provider's delivery id when it sends one (Svix). */
export type Verification =
  | { readonly ok: true; readonly messageId?: string }
  | { readonly ok: false; readonly reason: RefusalReason; readonly detail: string };

const refuse = (reason: RefusalReason, detail: string): Verification => ({
  ok: false,
  reason,
  detail,
});

/** Constant-time comparison of two strings of any length (hashing first evens out the lengths). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Stripe: `Stripe-Signature` (`t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">`), checked by the official library's
 * `webhooks.constructEventAsync` with the 300 s tolerance and the injected clock as `receivedAt`.
 */
export async function verifyStripe(
  request: SignedRequest,
  secret: string,
  nowMs: number,
): Promise<Verification> {
  const header = request.headers.get('stripe-signature');
  if (header === null || header === '')
    return refuse('missing_signature', 'no Stripe-Signature header');
  try {
    await Stripe.webhooks.constructEventAsync(
      request.body,
      header,
      secret,
      SIGNATURE_TOLERANCE_SECONDS,
      undefined,
      nowMs,
    );
    return { ok: true };
  } catch (error) {
    // The library parses the body after the signature matched: a SyntaxError means a signed body that is not
    // JSON, which is the adapter's 400 to report, not a signature failure.
    if (error instanceof SyntaxError) return { ok: true };
    const message = error instanceof Error ? error.message : String(error);
    if (/tolerance/i.test(message)) return refuse('stale_timestamp', message);
    if (/extract timestamp/i.test(message)) return refuse('missing_signature', message);
    return refuse('bad_signature', message.split('\n')[0] ?? message);
  }
}

/**
 * Clerk (Svix): `svix-id`, `svix-timestamp`, `svix-signature`, the Standard Webhooks scheme that Svix implements,
 * checked with the `standardwebhooks` library (the `svix` package itself needs Node 22). The timestamp is first
 * checked against the injected clock, so the window is testable; the library then checks the signature.
 */
export function verifyClerk(request: SignedRequest, secret: string, nowMs: number): Verification {
  const id = request.headers.get('svix-id') ?? request.headers.get('webhook-id');
  const timestamp =
    request.headers.get('svix-timestamp') ?? request.headers.get('webhook-timestamp');
  const signature =
    request.headers.get('svix-signature') ?? request.headers.get('webhook-signature');
  if (!id || !timestamp || !signature) {
    return refuse('missing_signature', 'svix-id, svix-timestamp and svix-signature are required');
  }
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds)) return refuse('bad_signature', 'svix-timestamp is not a number');
  if (Math.abs(Math.floor(nowMs / 1000) - seconds) > SIGNATURE_TOLERANCE_SECONDS) {
    return refuse('stale_timestamp', 'svix-timestamp is more than 5 minutes from now');
  }
  try {
    new StandardWebhook(secret).verify(
      request.body,
      {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signature,
      },
      { jsonParse: false },
    );
    return { ok: true, messageId: id };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/too old|too new/i.test(message)) return refuse('stale_timestamp', message);
    return refuse('bad_signature', message);
  }
}

// HubSpot: "decode the URL-encoded characters listed in the table" before signing (developers.hubspot.com/docs/
// api/webhooks/validating-requests, v3).
const HUBSPOT_DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** The request URI as HubSpot signs it: the full URL with the listed percent-escapes decoded. */
export function hubspotSignedUri(url: string): string {
  return url.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (match) => HUBSPOT_DECODED[match.toUpperCase()] ?? match,
  );
}

/** The v3 signature of a request: base64 HMAC-SHA256, keyed by the app's client secret, of method+URI+body+timestamp. */
export function hubspotSignatureV3(
  secret: string,
  method: string,
  url: string,
  body: string,
  timestamp: string,
): string {
  return createHmac('sha256', secret)
    .update(`${method}${hubspotSignedUri(url)}${body}${timestamp}`, 'utf8')
    .digest('base64');
}

/**
 * HubSpot v3: `X-HubSpot-Signature-v3` and `X-HubSpot-Request-Timestamp` (milliseconds). A small HMAC rather than
 * `@hubspot/api-client`'s `Signature.isValid`: that helper compares with `===` (not constant time), accepts
 * timestamps in the future, and comes with the whole API client (CommonJS, plus bottleneck, form-data and
 * lodash.merge). Checked against the library's own v3 recipe in the tests.
 */
export function verifyHubSpot(
  request: SignedRequest,
  secret: string,
  nowMs: number,
  signedUrl: string = request.url,
): Verification {
  const signature = request.headers.get('x-hubspot-signature-v3');
  const timestamp = request.headers.get('x-hubspot-request-timestamp');
  if (!signature || !timestamp) {
    return refuse(
      'missing_signature',
      'X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp are required',
    );
  }
  const millis = Number(timestamp);
  if (!Number.isInteger(millis))
    return refuse('bad_signature', 'X-HubSpot-Request-Timestamp is not a number');
  if (Math.abs(nowMs - millis) > SIGNATURE_TOLERANCE_SECONDS * 1000) {
    return refuse('stale_timestamp', 'X-HubSpot-Request-Timestamp is more than 5 minutes from now');
  }
  const expected = hubspotSignatureV3(secret, request.method, signedUrl, request.body, timestamp);
  return safeEqual(expected, signature)
    ? { ok: true }
    : refuse('bad_signature', 'signature does not match');
}

/**
 * Okta event hooks and Auth0 log streams authenticate with a shared secret in the `Authorization` header (Okta:
 * the value configured on the hook; Auth0: the stream's "Authorization Token"). Neither signs the body nor sends
 * a timestamp, so a replay cannot be told from a redelivery: the command ids (the events' own ids) make a
 * replayed event a duplicate instead. `Bearer <secret>` is accepted as well as the bare value.
 */
export function verifySharedSecret(request: SignedRequest, secret: string): Verification {
  const header = request.headers.get('authorization');
  if (header === null || header === '')
    return refuse('missing_signature', 'no Authorization header');
  const ok = safeEqual(header, secret) || safeEqual(header, `Bearer ${secret}`);
  return ok
    ? { ok: true }
    : refuse('bad_signature', 'Authorization header does not match the secret');
}

/** Verifies a request for `provider` with its signing secret. */
export async function verifyWebhook(
  provider: WebhookProvider,
  request: SignedRequest,
  secret: string,
  nowMs: number,
  hubspotUrl?: string,
): Promise<Verification> {
  switch (provider) {
    case 'stripe':
      return verifyStripe(request, secret, nowMs);
    case 'clerk':
      return verifyClerk(request, secret, nowMs);
    case 'hubspot':
      return verifyHubSpot(request, secret, nowMs, hubspotUrl ?? request.url);
    case 'auth0':
    case 'okta':
      return verifySharedSecret(request, secret);
  }
}
