import path from 'node:path';
import { parseArgs } from 'node:util';
import { PostHogClient, PostHogConnectionError, type PostHogError } from '#lib/posthog/index.ts';
import { CliError, readTextFile, reportError, UsageError } from '../cli/errors.ts';
import { positiveNumber } from '../cli/parsers.ts';
import { demoSeed, startPostHogEmulator } from './posthog-emulator/index.ts';
import { buildBundles, bundlePath } from './runner/build.ts';
import { emulatorTarget, timeScaledEnv } from './runner/emulator-target.ts';
import { fileSource, formatReport, type PipelineReport } from './runner/report.ts';
import { type PostHogTarget, startLocalStack } from './runner/stack.ts';
import { listDeadLetters } from './sqs/dlq.ts';
import { sendCommandLines } from './sqs/send-commands.ts';
import { formatWebhookReport, runSampleWebhooks } from './webhooks/run.ts';

// `npm start`: the whole pipeline on this machine. fauxqs + dynalite (the shared state table: rate budget and
// erasure tombstones) + the PostHog emulator (demo seed, time scaled) +
// both bundled handlers under the Lambda-like runner; sends examples/events.ndjson, waits until the queues
// are drained, prints the report. `npm start -- --posthog-host <url>` aims the same pipeline at a real
// PostHog project (key in POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_PROJECT_TOKEN).
// Every error ends in the CLI's one handler (cli/errors.ts): one line, exit 1 (2 for a usage error).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const USAGE = `Usage: npm start -- [options]

Runs persons-relay end to end on this machine: fauxqs, dynalite (the shared rate budget and erasure
tombstones), the PostHog emulator and the two bundled functions; sends a file of messages, waits
until the queues are drained and prints the report.

Options:
  --file <path>          NDJSON file of message bodies to send (default: examples/events.ndjson)
  --time-scale <x>       the emulator's time runs x times faster (default: 60)
  --posthog-host <url>   use a real PostHog instead of the emulator (it REALLY deletes the persons
                         named in the file); reads POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID and
                         POSTHOG_PROJECT_TOKEN (merges) from the environment
  --verbose              print every function log line
  --debug                print the stack trace of an error (or DEBUG=persons-relay)
  -h, --help             print this help

Examples:
  $ npm start
  $ npm start -- --file my-events.ndjson --verbose
  $ POSTHOG_PERSONAL_API_KEY=phx_… POSTHOG_PROJECT_ID=12345 npm start -- --posthog-host https://eu.posthog.com
`;

/** How long the reachability check of a real PostHog may take before it counts as down. */
const PREFLIGHT_TIMEOUT_MS = 5_000;

interface StartOptions {
  file: string;
  timeScale: number;
  posthogHost?: string;
  verbose: boolean;
  debug: boolean;
  help: boolean;
}

function parseStartArgs(args: string[]): StartOptions {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (error) {
    // node:util's messages are long and suggest '--' tricks; keep the first sentence and point at --help.
    const message = error instanceof Error ? (error.message.split('. ')[0] ?? error.message) : '';
    throw new UsageError(`${message.replace(/\.$/, '')} (npm start -- --help lists the options)`);
  }
  const timeScale = positiveNumber('--time-scale')(values['time-scale']);
  return {
    file: values.file,
    timeScale,
    ...(values['posthog-host'] === undefined ? {} : { posthogHost: values['posthog-host'] }),
    verbose: values.verbose,
    debug: values.debug,
    help: values.help,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      'posthog-host': { type: 'string' },
      file: { type: 'string', default: 'examples/events.ndjson' },
      'time-scale': { type: 'string', default: '60' },
      verbose: { type: 'boolean', default: false },
      debug: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function main(options: StartOptions): Promise<number> {
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = Date.now();
  const { timeScale } = options;
  // Everything that can be checked up front is, before anything is built or started.
  const file = path.resolve(options.file);
  const lines = (await readTextFile(options.file, '--file')).split('\n');
  const real = options.posthogHost === undefined ? undefined : realTarget(options.posthogHost);
  if (real !== undefined) await assertReachable(real);

  const buildStarted = Date.now();
  await buildBundles();
  const buildMs = Date.now() - buildStarted;

  const emulator = real
    ? undefined
    : await startPostHogEmulator({ seed: demoSeed(), timeScale, rateLimits: { enabled: true } });
  try {
    const target: PostHogTarget = emulator ? emulatorTarget(emulator) : (real as PostHogTarget);
    const stack = await startLocalStack({
      posthog: target,
      modules: { deletions: bundlePath('deletions'), changes: bundlePath('changes') },
      startPolling: false,
      // Against the emulator, budgets and retry delays follow its time scale.
      env: emulator ? timeScaledEnv(timeScale) : {},
      ...(options.verbose
        ? { onFunctionOutput: (lane, line) => process.stdout.write(`[${lane}] ${line}\n`) }
        : {}),
    });
    try {
      const { queues } = stack.sqs;
      // Invalid lines are sent too (to the deletions queue), as a buggy producer would, to show the DLQ path.
      const sent = await sendCommandLines(
        stack.sqs.client,
        lines,
        { deletions: queues.deletions.url, changes: queues.changes.url },
        { invalidTo: queues.deletions.url },
      );
      const processingStarted = Date.now();
      stack.startPolling();
      await stack.waitUntilDrained({ timeoutMs: 50_000 });
      await emulator?.flush();
      const report: PipelineReport = {
        target: emulator ? `PostHog emulator ${emulator.url} (time ×${timeScale})` : target.host,
        sources: [fileSource(path.relative(process.cwd(), file), sent)],
        observer: stack.observer,
        deadLetters: {
          deletions: await listDeadLetters(stack.sqs.client, queues.deletions.dlqUrl),
          changes: await listDeadLetters(stack.sqs.client, queues.changes.dlqUrl),
        },
        ...(emulator
          ? { requestLog: emulator.state.requestLog, persons: emulator.state.persons.length }
          : {}),
        buildMs,
        processingMs: Date.now() - processingStarted,
        elapsedMs: Date.now() - started,
      };
      process.stdout.write(formatReport(report));
      // Signed sample webhooks of every provider through the local ingress (emulator only: the samples delete persons).
      if (emulator) {
        const ingressBundle = path.join(path.dirname(bundlePath('deletions')), 'ingress.mjs');
        const webhooks = await runSampleWebhooks(stack, emulator, ingressBundle);
        process.stdout.write(formatWebhookReport(webhooks, emulator.state.persons.length));
      }
      return 0;
    } finally {
      await stack.close();
    }
  } finally {
    await emulator?.close();
  }
}

function realTarget(host: string): PostHogTarget {
  const env = process.env;
  const key = env['POSTHOG_PERSONAL_API_KEY'];
  const projectId = env['POSTHOG_PROJECT_ID'];
  if (!key || !projectId) {
    throw new UsageError(
      '--posthog-host needs POSTHOG_PERSONAL_API_KEY and POSTHOG_PROJECT_ID in the environment',
    );
  }
  const token = env['POSTHOG_PROJECT_TOKEN'];
  return { host, projectId, personalApiKey: key, ...(token ? { projectToken: token } : {}) };
}

/**
 * One request through the same client the functions use, with no retries and a short timeout: a PostHog that
 * cannot be reached is reported in seconds (host and error code), instead of after the 50 s drain timeout. Any
 * HTTP answer (even 401 or 403) means the host is up; the functions report the rest per message.
 */
async function assertReachable(target: PostHogTarget): Promise<void> {
  let client: PostHogClient;
  try {
    client = new PostHogClient({
      host: target.host,
      projectId: target.projectId,
      personalApiKey: target.personalApiKey,
      maxRetries: 0,
      timeoutMs: PREFLIGHT_TIMEOUT_MS,
    });
  } catch (error) {
    throw new UsageError(
      `--posthog-host ${target.host}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  try {
    for await (const _person of client.list({ limit: 1 })) break;
  } catch (error) {
    if (error instanceof PostHogConnectionError) {
      throw new CliError(
        `PostHog cannot be reached at ${target.host} (--posthog-host): ${(error as PostHogError).message}`,
        { cause: error },
      );
    }
  }
}

let exitCode: number;
try {
  const options = parseStartArgs(process.argv.slice(2));
  exitCode = await main(options);
} catch (error) {
  exitCode = reportError(error, { prefix: 'npm start' });
}
process.exit(exitCode);
