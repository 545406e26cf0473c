import { readFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { laneOf, parseMessage } from '../../lib/messages/index.ts';
import { createProducer, type ProducerCommand } from '../../lib/producer/index.ts';
import { createCliSqsClient } from '../sqs/index.ts';

interface SendOptions {
  queueUrl: string;
  changesQueueUrl?: string;
  file: string;
  endpoint?: string;
  region?: string;
}

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
    .action(async (options: SendOptions) => {
      process.exitCode = await send(options);
    });
}

async function send(options: SendOptions): Promise<number> {
  const lines = (await readFile(options.file, 'utf8')).split('\n');
  const fifo = options.queueUrl.endsWith('.fifo');
  const urls = {
    deletions: fifo ? undefined : options.queueUrl,
    changes: fifo ? options.queueUrl : options.changesQueueUrl,
  };
  const commands: { line: number; command: ProducerCommand }[] = [];
  const problems: string[] = [];
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    const parsed = parseMessage(text);
    if (!parsed.ok) {
      const { code, reason } = parsed.rejection;
      problems.push(`line ${index + 1}: ${code}: ${reason}`);
    } else if (urls[laneOf(parsed.command)] === undefined) {
      problems.push(
        `line ${index + 1}: ${parsed.command.type} goes to the ${laneOf(parsed.command)} queue; pass its URL`,
      );
    } else {
      commands.push({ line: index + 1, command: parsed.command });
    }
  });

  const sqs = createCliSqsClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
  const producer = createProducer({
    sqs,
    // A lane without a URL has no commands left (filtered above); the placeholder is never used.
    deletionsQueueUrl: urls.deletions ?? 'unused',
    changesQueueUrl: urls.changes ?? 'unused',
  });
  const bar = process.stdout.isTTY
    ? new SingleBar({ format: 'sending [{bar}] {value}/{total} commands' })
    : undefined;
  bar?.start(commands.length, 0);
  let sent = 0;
  let failed = 0;
  try {
    // Chunks of 100 keep the progress bar moving; the producer batches 10 per SendMessageBatch itself.
    for (let i = 0; i < commands.length; i += 100) {
      const chunk = commands.slice(i, i + 100);
      const report = await producer.send(chunk.map((c) => c.command));
      sent += report.sent.length;
      failed += report.failed.length;
      for (const f of report.failed) {
        problems.push(`line ${chunk[f.index]?.line ?? '?'}: ${f.code}: ${f.reason}`);
      }
      bar?.update(i + chunk.length);
    }
  } finally {
    bar?.stop();
    sqs.destroy();
  }
  const lanes = commands.reduce(
    (acc, c) => {
      acc[laneOf(c.command as Parameters<typeof laneOf>[0])] += 1;
      return acc;
    },
    { deletions: 0, changes: 0 },
  );
  process.stdout.write(
    `sent ${sent} of ${lines.filter((l) => l.trim() !== '').length} lines ` +
      `(${lanes.deletions} deletions, ${lanes.changes} changes); ` +
      `${problems.length} not sent\n`,
  );
  for (const problem of problems) process.stdout.write(`  ${problem}\n`);
  return failed > 0 || problems.length > 0 ? 1 : 0;
}
