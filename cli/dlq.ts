import { type Command, Option } from 'commander';
import { objectTable, plural, truncate } from '../local/runner/table.ts';
import { listDeadLetters, redriveDeadLetters } from '../local/sqs/dlq.ts';
import { createCliSqsClient } from '../local/sqs/index.ts';
import { reaching } from './errors.ts';
import { positiveInt } from './parsers.ts';

interface DlqOptions {
  queueUrl: string;
  endpoint?: string;
  region?: string;
  max: number;
  json?: boolean;
  output?: 'text' | 'json' | 'table';
  to?: string;
  code?: string;
}

/**
 * `persons-relay dlq list|redrive`: shows dead-lettered messages with the reason the handler attached
 * (`error_code`, `error_reason`, original message id, source queue, first receive), and moves them back to
 * their source queue after a fix (optionally only those with one `--code`).
 */
export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('Inspect and redrive the dead-letter queues');
  const common = (command: Command) =>
    command
      .requiredOption('--queue-url <url>', 'the dead-letter queue URL')
      .option('--endpoint <url>', 'SQS endpoint (default: AWS_ENDPOINT_URL_SQS, else AWS)')
      .option('--region <region>', 'AWS region (default: AWS_REGION)')
      .option('--max <n>', 'at most this many messages', positiveInt('--max'), 1000);

  common(dlq.command('list').description('List dead letters and why they are there'))
    .addOption(
      new Option('--output <format>', 'text, json (one object per line) or table').choices([
        'text',
        'json',
        'table',
      ]),
    )
    .option('--json', 'same as --output json')
    .addHelpText(
      'after',
      `
Examples:
  $ npx persons-relay dlq list --queue-url <DLQ URL> --output table
  $ npx persons-relay dlq list --queue-url <DLQ URL> --json | jq .errorCode`,
    )
    .action(async (options: DlqOptions) => {
      const sqs = createCliSqsClient(clientOptions(options));
      try {
        const letters = await reaching(sqsLabel(options), () =>
          listDeadLetters(sqs, options.queueUrl, { max: options.max }),
        );
        const output = options.output ?? (options.json ? 'json' : 'text');
        const rows = letters.map(({ attributes: _attributes, ...rest }) => rest);
        if (output === 'json') {
          for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
          return;
        }
        if (output === 'table') {
          process.stdout.write(
            objectTable(
              rows.map((l) => ({
                error_code: l.errorCode,
                reason: l.errorReason,
                source_queue: l.sourceQueue ?? '',
                first_received: l.firstReceivedAt ?? '',
                receives: l.receiveCount,
                body: l.body,
              })),
              50,
            ),
          );
          return;
        }
        process.stdout.write(`${plural(letters.length, 'message')} in ${options.queueUrl}\n`);
        for (const l of letters) {
          process.stdout.write(
            `- ${l.errorCode}: ${l.errorReason}\n` +
              `  original ${l.originalMessageId ?? '?'} from ${l.sourceQueue ?? '?'}, first received ${l.firstReceivedAt ?? '?'}\n` +
              `  body ${truncate(l.body, 200)}\n`,
          );
        }
      } finally {
        sqs.destroy();
      }
    });

  common(dlq.command('redrive').description('Move dead letters back to their source queue'))
    .option(
      '--to <url>',
      "the queue to move them to (default: each message's recorded source queue)",
    )
    .option(
      '--code <error_code>',
      'only messages with this error_code (e.g. redrive_policy, http_400)',
    )
    .addHelpText(
      'after',
      `
A command is only moved to a queue of its own lane (deletes: the standard deletions queue; everything else:
the FIFO changes queue); a message that would go to the other lane stays in the DLQ and is listed, and the
command exits 1.

Examples:
  $ npx persons-relay dlq redrive --queue-url <changes DLQ URL>
  $ npx persons-relay dlq redrive --queue-url <deletions DLQ URL> --to <changes queue URL> --code wrong_lane`,
    )
    .action(async (options: DlqOptions) => {
      const sqs = createCliSqsClient(clientOptions(options));
      try {
        const result = await reaching(sqsLabel(options), () =>
          redriveDeadLetters(sqs, {
            dlqUrl: options.queueUrl,
            ...(options.to === undefined ? {} : { sourceUrl: options.to }),
            max: options.max,
            ...(options.code ? { filter: (l) => l.errorCode === options.code } : {}),
          }),
        );
        process.stdout.write(
          `moved ${plural(result.moved, 'message')} to ${options.to ?? 'their source queues'}; ` +
            `${result.left} left in the DLQ` +
            `${result.skipped > 0 ? ` (${result.skipped} not matching --code)` : ''}` +
            `${result.refused.length > 0 ? `; ${result.refused.length} refused` : ''}\n`,
        );
        for (const r of result.refused)
          process.stdout.write(`  refused ${r.messageId}: ${r.reason}\n`);
        if (result.refused.length > 0) process.exitCode = 1;
      } finally {
        sqs.destroy();
      }
    });
}

function clientOptions(options: DlqOptions): { endpoint?: string; region?: string } {
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
  };
}

/** Names the SQS endpoint and where its setting came from, for a connection error. */
export function sqsLabel(options: { endpoint?: string }): string {
  if (options.endpoint) return `SQS at ${options.endpoint} (--endpoint)`;
  const env = process.env['AWS_ENDPOINT_URL_SQS'];
  if (env) return `SQS at ${env} (AWS_ENDPOINT_URL_SQS)`;
  return 'SQS (the AWS endpoint of --region / AWS_REGION)';
}
