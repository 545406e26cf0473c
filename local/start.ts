import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { demoSeed, startPostHogEmulator } from './posthog-emulator/index.ts';
import { buildBundles, bundlePath } from './runner/build.ts';
import { emulatorTarget, timeScaledEnv } from './runner/emulator-target.ts';
import { formatReport, type PipelineReport } from './runner/report.ts';
import { type PostHogTarget, startLocalStack } from './runner/stack.ts';
import { listDeadLetters } from './sqs/dlq.ts';
import { sendCommandLines } from './sqs/send-commands.ts';
import { formatWebhookReport, runSampleWebhooks } from './webhooks/run.ts';

// `npm start`: the whole pipeline on this machine. fauxqs + the PostHog emulator (demo seed, time scaled) +
// both bundled handlers under the Lambda-like runner; sends examples/events.ndjson, waits until the queues
// are drained, prints the report. `npm start -- --posthog-host <url>` aims the same pipeline at a real
// PostHog project (key in POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_ID, POSTHOG_PROJECT_TOKEN).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
const { values } = parseArgs({
  options: {
    'posthog-host': { type: 'string' },
    file: { type: 'string', default: 'examples/events.ndjson' },
    'time-scale': { type: 'string', default: '60' },
    verbose: { type: 'boolean', default: false },
  },
});

const started = Date.now();
const timeScale = Number(values['time-scale']);
const buildStarted = Date.now();
await buildBundles();
const buildMs = Date.now() - buildStarted;

const real = values['posthog-host'];
const emulator = real
  ? undefined
  : await startPostHogEmulator({ seed: demoSeed(), timeScale, rateLimits: { enabled: true } });
const target: PostHogTarget = emulator ? emulatorTarget(emulator) : realTarget(real ?? '');
const stack = await startLocalStack({
  posthog: target,
  modules: { deletions: bundlePath('deletions'), changes: bundlePath('changes') },
  startPolling: false,
  // Against the emulator, budgets and retry delays follow its time scale.
  env: emulator ? timeScaledEnv(timeScale) : {},
  ...(values.verbose
    ? { onFunctionOutput: (lane, line) => process.stdout.write(`[${lane}] ${line}\n`) }
    : {}),
});

let exitCode = 0;
try {
  const file = path.resolve(values.file);
  const lines = (await readFile(file, 'utf8')).split('\n');
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
    file: path.relative(process.cwd(), file),
    sent,
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
} catch (error) {
  exitCode = 1;
  process.stderr.write(
    `npm start failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
} finally {
  await stack.close();
  await emulator?.close();
}
process.exit(exitCode);

function realTarget(host: string): PostHogTarget {
  const env = process.env;
  const key = env['POSTHOG_PERSONAL_API_KEY'];
  const projectId = env['POSTHOG_PROJECT_ID'];
  if (!key || !projectId) {
    process.stderr.write(
      '--posthog-host needs POSTHOG_PERSONAL_API_KEY and POSTHOG_PROJECT_ID in the environment\n',
    );
    process.exit(2);
  }
  const token = env['POSTHOG_PROJECT_TOKEN'];
  return { host, projectId, personalApiKey: key, ...(token ? { projectToken: token } : {}) };
}
