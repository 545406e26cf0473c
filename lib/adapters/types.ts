import type { CommandInput } from '../messages/index.ts';

/** The upstream systems persons-relay accepts events from. */
export const PROVIDERS = ['stripe', 'hubspot', 'clerk', 'auth0', 'okta', 'salesforce'] as const;
/** One of {@link PROVIDERS}. */
export type Provider = (typeof PROVIDERS)[number];
/** The providers that reach persons-relay over HTTP (Salesforce CDC arrives through EventBridge). */
export const WEBHOOK_PROVIDERS = ['stripe', 'hubspot', 'clerk', 'auth0', 'okta'] as const;
/** One of {@link WEBHOOK_PROVIDERS}. */
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

/** Whether `value` names a webhook provider. */
export function isWebhookProvider(value: string): value is WebhookProvider {
  return (WEBHOOK_PROVIDERS as readonly string[]).includes(value);
}

/**
 * Where a provider's payload names the PostHog person: dotted paths tried in order (the first non-empty
 * string or number wins), and a prefix put in front of it (e.g. `hubspot:` when PostHog knows contacts that way).
 */
export interface DistinctIdRule {
  readonly paths: readonly string[];
  readonly prefix: string;
}

/** An upstream event the mapping does not turn into a command: acknowledged (2xx) and counted, never dead-lettered. */
export interface IgnoredEvent {
  readonly eventId: string;
  readonly eventType: string;
  readonly reason: string;
}

/**
 * What an adapter made of one verified payload: the commands (ids derived from the upstream event ids, so a
 * provider's retry produces the same ids) and the events it ignored, or why the payload is malformed (400).
 */
export type AdapterResult =
  | { readonly ok: true; readonly commands: CommandInput[]; readonly ignored: IgnoredEvent[] }
  | { readonly ok: false; readonly path: string; readonly reason: string };
