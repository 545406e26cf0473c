import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { laneOf, parseMessage } from '#lib/messages/index.ts';
import { createProducer, type ProducerCommand, type SqsSender } from '#lib/producer/index.ts';
import { plural } from '../local/runner/table.ts';
import { createCliSqsClient } from '../local/sqs/index.ts';
import { sqsLabel } from './dlq.ts';
import { CliError, describeError, readTextFile, systemErrorOf } from './errors.ts';

interface SendOptions {
  queueUrl: string;
  changesQueueUrl?: string;
  file: string;
  endpoint?: string;
  region?: string;
}

/** Commands handed to the producer at a time: keeps the progress bar moving (it batches 10 per call itself). */
const CHUNK = 100;

/**
 * `persons-relay send --queue-url <url> --file <ndjson>`: validates every line with the handlers' own
 * parser (bare commands and every envelope), then sends the valid ones with the typed producer
 * (`lib/producer`): deletes to the deletions queue, the rest to the FIFO changes queue with per-person
 * group ids. Works locally (`persons-relay dev` prints the URLs) and against AWS (default credentials).
 */
export function registerSendCommands(program: Command): void {
  program
    .command('send')
    .description('Validate NDJSON commands and send them to the persons-relay queues')
    .requiredOption(
      '--queue-url <url>',
      'a queue URL: the deletions queue, or the changes queue (.fifo)',
    )
    .option(
      '--changes-queue-url <url>',
      'the changes queue too, when --queue-url is the deletions queue',
    )
    .requiredOption('--file <ndjson>', 'one command (or envelope) per line')
    .option('--endpoint <url>', 'SQS endpoint (default: AWS_ENDPOINT_URL_SQS, else AWS)')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .addHelpText(
      'after',
      `
The summary and each line not sent (in line order) go to stderr. Exits 1 if any line was not sent;
a failure of SQS itself (unknown queue, unreachable endpoint, no credentials) stops at the first call.

Environment: AWS_ENDPOINT_URL_SQS, AWS_REGION, AWS_PROFILE / AWS_ACCESS_KEY_ID (usual AWS credentials).

Examples:
  $ AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4566 npx persons-relay send \\
      --queue-url <deletions queue URL> --changes-queue-url <changes queue URL> --file examples/events.ndjson
  $ npx persons-relay send --region eu-west-1 --queue-url <changes queue URL (.fifo)> --file changes.ndjson`,
    )
    .action(async (options: SendOptions) => {
      process.exitCode = await send(options);
    });
}

/** One line that did not reach the queue as a new message, and why. */
interface NotSent {
  line: number;
  reason: string;
}

async function send(options: SendOptions): Promise<number> {
  const lines = (await readTextFile(options.file, '--file')).split('\n');
  const fifo = options.queueUrl.endsWith('.fifo');
  const urls = {
    deletions: fifo ? undefined : options.queueUrl,
    changes: fifo ? options.queueUrl : options.changesQueueUrl,
  };
  const commands: { line: number; command: ProducerCommand }[] = [];
  const notSent: NotSent[] = [];
  let messages = 0;
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    messages += 1;
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      const { code, reason } = parsed.rejection;
      notSent.push({ line: index + 1, reason: `${code}: ${reason}` });
    } else if (urls[laneOf(parsed.command)] === undefined) {
      notSent.push({
        line: index + 1,
        reason: `${parsed.command.type} goes to the ${laneOf(parsed.command)} queue; pass its URL with --changes-queue-url`,
      });
    } else {
      commands.push({ line: index + 1, command: parsed.command });
    }
  });
  if (messages === 0) {
    throw new CliError(
      `--file ${options.file}: no messages (the file is empty or only blank lines)`,
    );
  }

  const sqs = createCliSqsClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
  // The first call that SQS fails as a whole (unknown queue, unreachable endpoint, no credentials) is fatal: every
  // later call would fail the same way, so they are not even tried.
  const guard = failFast(sqs);
  const producer = createProducer({
    sqs: guard,
    // A lane without a URL has no commands left (filtered above); the placeholder is never used.
    deletionsQueueUrl: urls.deletions ?? 'unused',
    changesQueueUrl: urls.changes ?? 'unused',
  });
  const bar = process.stderr.isTTY
    ? new SingleBar({ stream: process.stderr, format: 'sending [{bar}] {value}/{total} commands' })
    : undefined;
  bar?.start(commands.length, 0);
  const accepted = { deletions: 0, changes: 0 };
  let duplicates = 0;
  // SQS FIFO answers a message whose deduplication id it saw in the last 5 minutes with the first message's id
  // and drops it; a repeated message id is how that shows.
  const firstLineOf = new Map<string, number>();
  try {
    for (let i = 0; i < commands.length && guard.fatal === undefined; i += CHUNK) {
      const chunk = commands.slice(i, i + CHUNK);
      const report = await producer.send(chunk.map((c) => c.command));
      for (const s of report.sent) {
        const line = chunk[s.index]?.line ?? 0;
        const first = firstLineOf.get(s.messageId);
        if (first !== undefined) {
          duplicates += 1;
          notSent.push({
            line,
            reason: `dropped by SQS as a duplicate of line ${first} (same command id within SQS's 5-minute deduplication window)`,
          });
          continue;
        }
        firstLineOf.set(s.messageId, line);
        accepted[s.lane] += 1;
      }
      if (guard.fatal === undefined) {
        for (const f of report.failed) {
          notSent.push({ line: chunk[f.index]?.line ?? 0, reason: `${f.code}: ${f.reason}` });
        }
      }
      bar?.update(i + chunk.length);
    }
  } finally {
    bar?.stop();
    sqs.destroy();
  }
  if (guard.fatal !== undefined) {
    const sent = accepted.deletions + accepted.changes;
    const code = systemErrorOf(guard.fatal)?.code;
    const why =
      code === undefined
        ? `${describeError(guard.fatal)} (${sqsLabel(options)})`
        : `cannot reach ${sqsLabel(options)} (${code})`;
    throw new CliError(
      `send stopped at the first failed SQS call (${sent} of ${plural(messages, 'line')} sent): ${why}`,
      { cause: guard.fatal },
    );
  }
  notSent.sort((a, b) => a.line - b.line);
  const sent = accepted.deletions + accepted.changes;
  process.stderr.write(
    `sent ${sent} of ${plural(messages, 'line')} (${accepted.deletions} to the deletions queue, ` +
      `${accepted.changes} to the changes queue); ${notSent.length} not sent` +
      `${duplicates > 0 ? `, ${duplicates} of them dropped by SQS as duplicates` : ''}\n`,
  );
  for (const problem of notSent)
    process.stderr.write(`  line ${problem.line}: ${problem.reason}\n`);
  return notSent.length > 0 ? 1 : 0;
}

/** An SQS sender that remembers the first call that failed as a whole and fails every later call at once. */
function failFast(sqs: SQSClient): SqsSender & { fatal: unknown } {
  const guard = {
    fatal: undefined as unknown,
    async send(command: SendMessageBatchCommand) {
      if (guard.fatal !== undefined) throw guard.fatal;
      try {
        return await sqs.send(command);
      } catch (error) {
        guard.fatal = error;
        throw error;
      }
    },
  };
  return guard;
}
