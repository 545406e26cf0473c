import type { Command } from 'commander';
import { demoSeed, startPostHogEmulator } from '../local/posthog-emulator/index.ts';
import { buildBundles, bundlePath } from '../local/runner/build.ts';
import { emulatorTarget, timeScaledEnv } from '../local/runner/emulator-target.ts';
import type { FunctionOutputObserver } from '../local/runner/observer.ts';
import { type LocalStack, startLocalStack } from '../local/runner/stack.ts';
import { listeningOn } from './errors.ts';
import { port, positiveNumber } from './parsers.ts';

interface DevOptions {
  sqsPort: number;
  emulatorPort: number;
  timeScale: number;
  verbose?: boolean;
  logs?: boolean;
}

/** How often `dev` prints its running totals (only when they changed). */
const SUMMARY_EVERY_MS = 2_000;

/**
 * `persons-relay dev`: the local stack in the foreground until Ctrl-C: fauxqs on a fixed port with both
 * lanes and DLQs, the seeded PostHog emulator, and the bundled handlers under the event-source runner.
 * Prints the queue URLs for `persons-relay send` / `dlq`, then running totals of the message outcomes
 * (`--verbose`: one line per message; `--logs`: the functions' raw output).
 */
export function registerDevCommands(program: Command): void {
  program
    .command('dev')
    .description('Run the local pipeline (SQS, PostHog emulator, bundled handlers) until Ctrl-C')
    .option('--sqs-port <n>', 'fauxqs port', port('--sqs-port'), 4566)
    .option('--emulator-port <n>', 'PostHog emulator port', port('--emulator-port'), 8010)
    .option(
      '--time-scale <x>',
      'emulated PostHog time runs x times faster',
      positiveNumber('--time-scale'),
      60,
    )
    .option('--verbose', 'one line per message outcome instead of running totals')
    .option('--logs', "print the functions' raw JSON logs and EMF too")
    .addHelpText(
      'after',
      `
Examples:
  $ npx persons-relay dev
  $ npx persons-relay dev --sqs-port 0 --emulator-port 0 --verbose`,
    )
    .action(async (options: DevOptions) => {
      await dev(options);
    });
}

async function dev(options: DevOptions): Promise<void> {
  const { timeScale } = options;
  // The ports first, so a busy one is reported at once; the bundles are built before anything is polled.
  const emulator = await listeningOn('--emulator-port', options.emulatorPort, () =>
    startPostHogEmulator({ port: options.emulatorPort, seed: demoSeed(), timeScale }),
  );
  let stack: LocalStack;
  try {
    stack = await listeningOn('--sqs-port', options.sqsPort, () =>
      startLocalStack({
        posthog: emulatorTarget(emulator),
        modules: { deletions: bundlePath('deletions'), changes: bundlePath('changes') },
        sqsPort: options.sqsPort,
        startPolling: false,
        env: timeScaledEnv(timeScale),
        onFunctionOutput: (lane, line) => {
          if (options.logs) process.stdout.write(`[${lane}] ${line}\n`);
          else if (options.verbose) printOutcome(lane, line);
        },
      }),
    );
  } catch (error) {
    await emulator.close();
    throw error;
  }
  try {
    await buildBundles();
  } catch (error) {
    await stack.close();
    await emulator.close();
    throw error;
  }
  stack.startPolling();
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
  let last = '';
  const printTotals = () => {
    const line = totalsLine(stack.observer);
    if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
  };
  const ticker =
    options.verbose || options.logs ? undefined : setInterval(printTotals, SUMMARY_EVERY_MS);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (ticker !== undefined) clearInterval(ticker);
  process.stdout.write(`\nstopping... ${totalsLine(stack.observer)}\n`);
  await stack.close();
  await emulator.close();
}

/** `dev`'s running totals, from the functions' audit lines (the last outcome of each message). */
function totalsLine(observer: FunctionOutputObserver): string {
  const count = { applied: 0, rejected: 0, retry: 0 };
  for (const o of observer.outcomes.values()) count[o.outcome] += 1;
  const calls = [...observer.metrics.calls.values()].reduce((n, v) => n + v, 0);
  return (
    `messages: ${count.applied} applied, ${count.rejected} rejected (in a DLQ), ` +
    `${count.retry} waiting for a retry · PostHog calls made: ${calls}`
  );
}

/** `--verbose`: one line per message outcome. */
function printOutcome(lane: string, line: string): void {
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
}
