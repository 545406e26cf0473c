import { type Command, InvalidArgumentError } from 'commander';
import { listDeadLetters, redriveDeadLetters } from '../sqs/dlq.ts';
import { createCliSqsClient } from '../sqs/index.ts';

interface DlqOptions {
  queueUrl: string;
  endpoint?: string;
  region?: string;
  max: number;
  json?: boolean;
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
      .option('--max <n>', 'at most this many messages', wholeNumber, 1000);

  common(dlq.command('list').description('List dead letters and why they are there'))
    .option('--json', 'one JSON object per line')
    .action(async (options: DlqOptions) => {
      const sqs = createCliSqsClient(clientOptions(options));
      try {
        const letters = await listDeadLetters(sqs, options.queueUrl, { max: options.max });
        if (options.json) {
          for (const l of letters) {
            const { attributes: _attributes, ...rest } = l;
            process.stdout.write(`${JSON.stringify(rest)}\n`);
          }
          return;
        }
        process.stdout.write(`${letters.length} message(s) in ${options.queueUrl}\n`);
        for (const l of letters) {
          process.stdout.write(
            `- ${l.errorCode}: ${l.errorReason}\n` +
              `  original ${l.originalMessageId ?? '?'} from ${l.sourceQueue ?? '?'}, first received ${l.firstReceivedAt ?? '?'}\n` +
              `  body ${l.body.length > 200 ? `${l.body.slice(0, 199)}…` : l.body}\n`,
          );
        }
      } finally {
        sqs.destroy();
      }
    });

  common(dlq.command('redrive').description('Move dead letters back to their source queue'))
    .requiredOption('--to <url>', 'the source queue URL to move them to')
    .option(
      '--code <error_code>',
      'only messages with this error_code (e.g. redrive_policy, http_400)',
    )
    .action(async (options: DlqOptions) => {
      const sqs = createCliSqsClient(clientOptions(options));
      try {
        const { moved, kept } = await redriveDeadLetters(sqs, {
          dlqUrl: options.queueUrl,
          sourceUrl: options.to ?? '',
          max: options.max,
          ...(options.code ? { filter: (l) => l.errorCode === options.code } : {}),
        });
        process.stdout.write(
          `moved ${moved} message(s) to ${options.to}; ${kept} left in the DLQ\n`,
        );
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

/** `--max`: a whole number above 0, refused with a usage error otherwise (not silently read as NaN). */
function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number above 0.');
  return n;
}
