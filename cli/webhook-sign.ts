import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WebhookProvider } from '#lib/adapters/index.ts';
import { LOCAL_WEBHOOK_SECRETS } from '../local/webhooks/samples.ts';
import { signWebhook, toCurl } from '../local/webhooks/sign.ts';
import { DEFAULT_BASE_URL, WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV } from './webhook-defaults.ts';

/** The options of `persons-relay webhook sign`. */
export interface SignCommandOptions {
  provider: WebhookProvider;
  file: string;
  url?: string;
  secret?: string;
  timestamp?: number;
}

/**
 * The request URL: `--url` (or `PERSONS_RELAY_WEBHOOK_URL`) as given when it already ends in
 * `/webhooks/<provider>`, else with that path appended to the base.
 */
export function webhookUrl(provider: WebhookProvider, base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith(`/webhooks/${provider}`) ? trimmed : `${trimmed}/webhooks/${provider}`;
}

/** Builds the signed curl command (and, on stderr, where the secret came from). */
export async function signCommand(
  options: SignCommandOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<{ curl: string; note: string }> {
  const body = await readFile(options.file, 'utf8');
  // An empty variable counts as unset (as in a CI job that declares it without a value).
  const fromEnv = env[WEBHOOK_SECRET_ENV] || undefined;
  const secret = options.secret ?? fromEnv ?? LOCAL_WEBHOOK_SECRETS[options.provider];
  const note =
    options.secret !== undefined
      ? 'signed with --secret'
      : fromEnv !== undefined
        ? `signed with ${WEBHOOK_SECRET_ENV}`
        : `signed with the local development secret of ${options.provider} (set ${WEBHOOK_SECRET_ENV} for a deployed endpoint)`;
  const signed = await signWebhook(options.provider, body, secret, {
    url: webhookUrl(options.provider, options.url ?? (env[WEBHOOK_URL_ENV] || DEFAULT_BASE_URL)),
    ...(options.timestamp === undefined ? {} : { nowMs: options.timestamp * 1000 }),
  });
  return { curl: toCurl(signed, path.resolve(options.file)), note };
}
