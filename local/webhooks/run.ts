import type { PostHogEmulator } from '../posthog-emulator/index.ts';
import type { LocalStack } from '../runner/stack.ts';
import { startBundledIngress } from './bundled.ts';
import {
  postSampleWebhooks,
  sendSalesforceSamples,
  WEBHOOK_SAMPLE_PERSONS,
  type WebhookRow,
} from './samples.ts';
import { startLocalIngress } from './server.ts';

/** One provider's line in the `npm start` report. */
export interface WebhookReportRow extends WebhookRow {
  /** Final outcomes of the commands from this delivery, from the functions' audit log. */
  readonly applied: number;
  readonly rejected: number;
  readonly pending: number;
}

/**
 * The webhook part of `npm start`: seeds the persons the samples name, serves the built ingress bundle on loopback
 * in front of the stack's fauxqs queues (its secrets in the stack's Secrets Manager stub), posts every signed sample, delivers the Salesforce CDC samples as the EventBridge rules would, waits until the
 * lanes have drained, and returns one row per delivery with its commands' outcomes.
 */
export async function runSampleWebhooks(
  stack: LocalStack,
  emulator: PostHogEmulator,
  ingressModule: string,
): Promise<WebhookReportRow[]> {
  emulator.seedPersons([...WEBHOOK_SAMPLE_PERSONS]);
  const queues = {
    deletionsQueueUrl: stack.sqs.queues.deletions.url,
    changesQueueUrl: stack.sqs.queues.changes.url,
  };
  const bundled = startBundledIngress(stack, ingressModule);
  const ingress = await startLocalIngress(bundled.handler);
  const before = new Set(stack.observer.outcomes.keys());
  let rows: WebhookRow[];
  try {
    rows = [
      ...(await postSampleWebhooks(ingress.url)),
      ...(await sendSalesforceSamples(stack.sqs.client, queues)),
    ];
  } finally {
    await ingress.close();
    await bundled.close();
  }
  stack.startPolling();
  await stack.waitUntilDrained({ timeoutMs: 50_000 });
  await emulator.flush();
  const outcomes = [...stack.observer.outcomes.entries()]
    .filter(([messageId]) => !before.has(messageId))
    .map(([, outcome]) => outcome);
  return rows.map((row) => {
    const mine = outcomes.filter((outcome) =>
      row.commandIds === undefined
        ? outcome.correlationId.startsWith(`${row.provider}-`)
        : row.commandIds.includes(outcome.correlationId),
    );
    const count = (status: string) => mine.filter((outcome) => outcome.outcome === status).length;
    return {
      ...row,
      applied: count('applied'),
      rejected: count('rejected'),
      pending: count('retry'),
    };
  });
}

/** The report section: one row per delivery (plain text, like the rest of the report). */
export function formatWebhookReport(
  rows: readonly WebhookReportRow[],
  personsLeft: number,
): string {
  const out = [
    '',
    'Webhooks (signed sample deliveries → local ingress → queues; Salesforce CDC as EventBridge delivers it)',
  ];
  out.push(
    `  ${'provider'.padEnd(12)}${'sample'.padEnd(34)}${'HTTP'.padStart(5)}${'commands'.padStart(10)}${'ignored'.padStart(9)}${'applied'.padStart(9)}${'rejected'.padStart(10)}`,
  );
  for (const row of rows) {
    out.push(
      `  ${row.provider.padEnd(12)}${row.file.padEnd(34)}${(row.status === 0 ? 'EB' : String(row.status)).padStart(5)}` +
        `${String(row.commands).padStart(10)}${String(row.ignored).padStart(9)}${String(row.applied).padStart(9)}` +
        `${String(row.rejected).padStart(10)}${row.error === undefined ? '' : `  ${row.error}`}`,
    );
  }
  out.push(`  ${personsLeft} persons remain in the emulator after the webhooks`, '');
  return out.join('\n');
}
