import { Command } from 'commander';
import { registerApiCommands } from './api.ts';
import { registerDevCommands } from './dev.ts';
import { registerDlqCommands } from './dlq.ts';
import { registerEmulatorCommands } from './emulator.ts';
import { registerPlanCommands } from './plan.ts';
import { registerSendCommands } from './send.ts';
import { registerWebhookCommands } from './webhook.ts';

/**
 * The `persons-relay` command line. Each area registers its own sub-commands from its own module,
 * so this file only assembles them.
 */
const program = new Command('persons-relay')
  .description('Keep PostHog persons in step with your systems of record.')
  .showHelpAfterError();

registerEmulatorCommands(program);
registerApiCommands(program);
registerPlanCommands(program);
registerDevCommands(program);
registerSendCommands(program);
registerDlqCommands(program);
registerWebhookCommands(program);

await program.parseAsync(process.argv);
