import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerApiCommands } from './api.ts';
import { registerDevCommands } from './dev.ts';
import { registerDlqCommands } from './dlq.ts';
import { registerEmulatorCommands } from './emulator.ts';
import { debugRequested, reportError } from './errors.ts';
import { registerPlanCommands } from './plan.ts';
import { registerSendCommands } from './send.ts';
import { registerWebhookCommands } from './webhook.ts';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

/**
 * The `persons-relay` command line. Each area registers its own sub-commands from its own module, so this file
 * only assembles them and owns the one top-level error handler: commander's own errors (unknown flag, bad value)
 * and every error an action throws end as one line on stderr and a meaningful exit code (see `errors.ts`).
 */
let commanderPrinted = false;
const program = new Command('persons-relay')
  .description('Keep PostHog persons in step with your systems of record.')
  .version(version, '-V, --version', 'print the version')
  .option('--debug', 'print the stack trace of an error (or set DEBUG=persons-relay)')
  // Set before the sub-commands are added, so they inherit it: one line per error, and exits come back here.
  .configureOutput({
    outputError: (text, write) => {
      commanderPrinted = true;
      write(`${text.replace(/\s*\n\s*/g, ' ').trim()} (see --help)\n`);
    },
  })
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  $ npx persons-relay plan --file examples/events.ndjson
  $ npx persons-relay dev
  $ npx persons-relay send --queue-url <deletions queue URL> --changes-queue-url <changes queue URL> \\
      --file examples/events.ndjson
  $ npx persons-relay dlq list --queue-url <DLQ URL> --output table
  $ POSTHOG_HOST=https://us.posthog.com POSTHOG_PROJECT_ID=123 POSTHOG_PERSONAL_API_KEY=phx_… \\
      npx persons-relay api persons --distinct-id user-1

Environment:
  AWS_ENDPOINT_URL_SQS, AWS_REGION, AWS_PROFILE   SQS endpoint, region, credentials (send, dlq)
  POSTHOG_HOST, POSTHOG_PROJECT_ID, POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_TOKEN   (api)
  DEBUG=persons-relay   print stack traces (same as --debug)

Exit codes: 0 done, 1 failed or some input rejected, 2 usage error.
Run 'persons-relay <command> --help' for the flags of a command.`,
  );

registerEmulatorCommands(program);
registerApiCommands(program);
registerPlanCommands(program);
registerDevCommands(program);
registerSendCommands(program);
registerDlqCommands(program);
registerWebhookCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const alreadyPrinted = error instanceof CommanderError && commanderPrinted;
  // --help and --version also arrive here (exitOverride), with exit code 0.
  const helpShown =
    error instanceof CommanderError &&
    (error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.help' ||
      error.code === 'commander.version');
  const code = helpShown
    ? error.exitCode
    : reportError(error, { debug: debugRequested(), alreadyPrinted });
  // A failed start can leave servers or timers behind; the command is over either way.
  process.exit(code);
}
