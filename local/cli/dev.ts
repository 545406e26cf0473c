import type { Command } from 'commander';
import { demoSeed, startPostHogEmulator } from '../posthog-emulator/index.ts';
import { buildBundles, bundlePath } from '../runner/build.ts';
import { emulatorTarget, timeScaledEnv } from '../runner/emulator-target.ts';
import { startLocalStack } from '../runner/stack.ts';

interface DevOptions {
  sqsPort: string;
  emulatorPort: string;
  timeScale: string;
  logs?: boolean;
}

/**
 * `persons-relay dev`: the local stack in the foreground until Ctrl-C: fauxqs on a fixed port with both
 * lanes and DLQs, the seeded PostHog emulator, and the bundled handlers under the event-source runner.
 * Prints the queue URLs for `persons-relay send` / `dlq`, and one line per message outcome.
 */
export function registerDevCommands(program: Command): void {
  program
    .command('dev')
    .description('Run the local pipeline (SQS, PostHog emulator, bundled handlers) until Ctrl-C')
    .option('--sqs-port <n>', 'fauxqs port', '4566')
    .option('--emulator-port <n>', 'PostHog emulator port', '8010')
    .option('--time-scale <x>', 'emulated PostHog time runs x times faster', '60')
    .option('--logs', "print the functions' raw JSON logs and EMF too")
    .action(async (options: DevOptions) => {
      await dev(options);
    });
}

async function dev(options: DevOptions): Promise<void> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const timeScale = Number(options.timeScale);
  await buildBundles();
  const emulator = await startPostHogEmulator({
    port: Number(options.emulatorPort),
    seed: demoSeed(),
    timeScale,
  });
  const stack = await startLocalStack({
    posthog: emulatorTarget(emulator),
    modules: { deletions: bundlePath('deletions'), changes: bundlePath('changes') },
    sqsPort: Number(options.sqsPort),
    env: timeScaledEnv(timeScale),
    onFunctionOutput: (lane, line) => {
      if (options.logs) {
        process.stdout.write(`[${lane}] ${line}\n`);
        return;
      }
      if (!line.includes('"message outcome"')) return;
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        const detail =
          e['outcome'] === 'applied' ? '' : ` ${String(e['code'])}: ${String(e['reason'])}`;
        process.stdout.write(
          `[${lane}] ${String(e['outcome']).padEnd(8)} ${String(e['commandType'] ?? '(invalid)')} ${String(e['correlation_id'])}${detail}\n`,
        );
      } catch {
        // not JSON: ignore
      }
    },
  });
  const { queues, endpoint } = stack.sqs;
  process.stdout.write(
    [
      'persons-relay dev: local pipeline running (Ctrl-C to stop)',
      `  SQS (fauxqs)        ${endpoint}   export AWS_ENDPOINT_URL_SQS=${endpoint}`,
      `  deletions queue     ${queues.deletions.url}`,
      `  deletions DLQ       ${queues.deletions.dlqUrl}`,
      `  changes queue       ${queues.changes.url}`,
      `  changes DLQ         ${queues.changes.dlqUrl}`,
      `  PostHog emulator    ${emulator.url} (project ${emulator.projectId}, key ${emulator.personalApiKey}, time ×${timeScale})`,
      '',
      'Send the examples:',
      `  AWS_ENDPOINT_URL_SQS=${endpoint} npx persons-relay send --queue-url ${queues.deletions.url} \\`,
      `    --changes-queue-url ${queues.changes.url} --file examples/events.ndjson`,
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('\nstopping...\n');
  await stack.close();
  await emulator.close();
}
