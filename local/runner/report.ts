import type { DeadLetterEntry } from '../sqs/dlq.ts';
import type { SendSummary } from '../sqs/send-commands.ts';
import type { FunctionOutputObserver } from './observer.ts';

/** Everything the `npm start` report shows. */
export interface PipelineReport {
  readonly target: string;
  readonly file: string;
  readonly sent: SendSummary;
  readonly observer: FunctionOutputObserver;
  readonly deadLetters: {
    readonly deletions: DeadLetterEntry[];
    readonly changes: DeadLetterEntry[];
  };
  /** The emulator's request log, when the target is the emulator (a second, independent count). */
  readonly requestLog?: readonly { status: number; endpoint: string }[];
  readonly persons?: number;
  readonly buildMs: number;
  readonly processingMs: number;
  readonly elapsedMs: number;
}

const TYPES = ['persons.delete', 'person.split', 'person.properties.update', 'person.merge'];

/** Renders the report as plain text (no colours, so it pastes into docs and CI logs as is). */
export function formatReport(r: PipelineReport): string {
  const out: string[] = [];
  const o = r.observer;
  const valid = r.sent.sent.deletions + r.sent.sent.changes;
  const seen = o.outcomes.size;
  out.push('', `persons-relay: local pipeline against ${r.target}`);
  out.push(
    `  sent ${r.sent.sent.deletions + r.sent.sent.changes + r.sent.sent.invalid} messages from ${r.file}: ` +
      `${r.sent.sent.deletions} to the deletions queue, ${r.sent.sent.changes} to the changes FIFO queue, ` +
      `${r.sent.sent.invalid} invalid ones (sent anyway, to show the DLQ path)`,
  );
  const deduplicated = valid + r.sent.sent.invalid - seen;
  if (deduplicated > 0) {
    out.push(
      `  ${deduplicated} dropped by SQS FIFO deduplication (a producer retry with the same command id)`,
    );
  }

  out.push('', 'Outcomes per command type (final state of each SQS message)');
  out.push(
    `  ${'type'.padEnd(28)}${'applied'.padStart(8)}${'rejected'.padStart(10)}${'pending'.padStart(9)}${'retried once+'.padStart(15)}`,
  );
  const rows = [...TYPES, null];
  for (const type of rows) {
    const of = [...o.outcomes.values()].filter((x) => x.commandType === type);
    if (of.length === 0) continue;
    const count = (status: string) => of.filter((x) => x.outcome === status).length;
    const retried = of.filter((x) => o.everRetried.has(x.messageId)).length;
    out.push(
      `  ${(type ?? '(invalid message)').padEnd(28)}${String(count('applied')).padStart(8)}` +
        `${String(count('rejected')).padStart(10)}${String(count('retry')).padStart(9)}${String(retried).padStart(15)}`,
    );
  }

  const calls = [...o.metrics.calls.entries()].sort(([a], [b]) => a.localeCompare(b));
  const made = calls.reduce((n, [, v]) => n + v, 0);
  out.push('', "PostHog calls (from the functions' EMF metric PostHogCalls)");
  out.push(
    `  made ${made}  ·  planned ${o.plannedCalls}  ·  plans' lower bound ${o.lowerBound}  ·  ` +
      `one call per message ${valid}  ·  each message planned alone ${o.naiveCalls}`,
  );
  for (const [key, value] of calls) out.push(`    ${key.padEnd(40)}${String(value).padStart(5)}`);
  const throttled = o.metrics.totals.get('PostHogThrottled') ?? 0;
  const logged429 = r.requestLog?.filter((e) => e.status === 429).length;
  out.push(
    `  429s: ${throttled}${logged429 === undefined ? '' : ` (emulator request log: ${logged429})`}` +
      `  ·  persons deleted: ${o.metrics.totals.get('PersonsDeleted') ?? 0}` +
      `  ·  batches: ${o.batches}`,
  );
  if (r.requestLog)
    out.push(
      `  emulator saw ${r.requestLog.length} requests in all; ${r.persons ?? '?'} persons remain`,
    );

  const dead = [
    ...r.deadLetters.deletions.map((d) => ({ lane: 'deletions', ...d })),
    ...r.deadLetters.changes.map((d) => ({ lane: 'changes', ...d })),
  ];
  out.push('', `Dead-letter queues: ${dead.length} message(s)`);
  for (const d of dead) {
    out.push(`  [${d.lane}] ${d.errorCode.padEnd(22)} ${truncate(d.errorReason, 90)}`);
    out.push(`  ${''.padEnd(d.lane.length + 2)} ${''.padEnd(22)} body: ${truncate(d.body, 80)}`);
  }
  if (o.errors.length > 0)
    out.push('', `Error log lines: ${o.errors.length} (run with --verbose to see them)`);

  out.push(
    '',
    `Elapsed ${(r.elapsedMs / 1000).toFixed(1)} s (bundle build ${(r.buildMs / 1000).toFixed(1)} s, ` +
      `queues drained in ${(r.processingMs / 1000).toFixed(1)} s)`,
    '',
  );
  return out.join('\n');
}

function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
