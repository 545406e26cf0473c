import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { WEBHOOK_PROVIDERS, type WebhookProvider } from '../../lib/adapters/index.ts';
import { LOCAL_WEBHOOK_SECRETS, signWebhook, toCurl } from '../webhooks/index.ts';
import { positiveInt } from './parsers.ts';

/** Where the signing secret comes from when `--secret` is not given (keeps it out of shell history). */
export const WEBHOOK_SECRET_ENV = 'PERSONS_RELAY_WEBHOOK_SECRET';
/** The base URL when `--url` is not given. */
export const WEBHOOK_URL_ENV = 'PERSONS_RELAY_WEBHOOK_URL';
const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';

interface SignCommandOptions {
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

/**
 * `persons-relay webhook sign --provider stripe --file payload.json`: prints a `curl` command that sends the file
 * signed the way the provider signs it, to test a deployed (or local) ingress. The signature covers the exact bytes
 * of the file, which curl sends with `--data-binary @file`.
 */
export function registerWebhookCommands(program: Command): void {
  const webhook = program.command('webhook').description('Webhook ingress tools');
  webhook
    .command('sign')
    .description("Print a curl command that posts a payload signed with the provider's scheme")
    .addOption(
      new Option('--provider <provider>', 'the webhook provider')
        .choices([...WEBHOOK_PROVIDERS])
        .makeOptionMandatory(),
    )
    .requiredOption('--file <json>', 'the payload, sent byte for byte')
    .option(
      '--url <url>',
      `the ingress base URL or full route (default: ${WEBHOOK_URL_ENV}, else ${DEFAULT_BASE_URL})`,
    )
    .option(
      '--secret <secret>',
      `the signing secret (default: ${WEBHOOK_SECRET_ENV}, else the local one)`,
    )
    .option(
      '--timestamp <seconds>',
      'sign as if sent at this Unix time (default: now)',
      positiveInt('--timestamp'),
    )
    .action(async (options: SignCommandOptions) => {
      const { curl, note } = await signCommand(options);
      process.stderr.write(`# ${note}; the signature is valid for 5 minutes\n`);
      process.stdout.write(`${curl}\n`);
    });
}
