import { type Command, Option } from 'commander';
import { WEBHOOK_PROVIDERS } from '#lib/adapters/types.ts';
import { positiveInt } from './parsers.ts';
import { DEFAULT_BASE_URL, WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV } from './webhook-defaults.ts';

export { DEFAULT_BASE_URL, WEBHOOK_SECRET_ENV, WEBHOOK_URL_ENV };

/**
 * `persons-relay webhook sign --provider stripe --file payload.json`: prints a `curl` command that sends the file
 * signed the way the provider signs it, to test a deployed (or local) ingress. The signature covers the exact bytes
 * of the file, which curl sends with `--data-binary @file`. The signing code (and the `stripe` SDK it uses) is loaded
 * only when the command runs, so every other command starts as fast as before.
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
    .action(async (options: import('./webhook-sign.ts').SignCommandOptions) => {
      const { signCommand } = await import('./webhook-sign.ts');
      const { curl, note } = await signCommand(options);
      process.stderr.write(`# ${note}; the signature is valid for 5 minutes\n`);
      process.stdout.write(`${curl}\n`);
    });
}
