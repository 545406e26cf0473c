import type { DeadLetterEntry } from '../sqs/dlq.ts';
import type { SendSummary } from '../sqs/send-commands.ts';
import type { FunctionOutputObserver } from './observer.ts';
import { type Cell, plural, textTable, truncate } from './table.ts';

/**
 * One source of messages in the run (a file today; any other source adds its own row): how many it put on each
 * queue. Invalid messages go to the deletions queue on purpose, to show the DLQ path.
 */
export interface SourceRow {
  readonly source: string;
  readonly deletions: number;
  readonly changes: number;
  readonly invalid: number;
}

/** The row of a file sent with `sendCommandLines`. */
export function fileSource(file: string, summary: SendSummary): SourceRow {
  return { source: file, ...summary.sent };
}

/** Everything the `npm start` report shows. */
export interface PipelineReport {
  readonly target: string;
  /** One row per source of messages, in the order they were sent. */
  readonly sources: readonly SourceRow[];
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

/** The three figures about calls, named the same in this report and in `persons-relay plan`. */
export interface CallFigures {
  /** Calls that reached PostHog (retries included); only known after a run. */
  readonly made?: number;
  /** Calls in the plans. */
  readonly planned: number;
  /** The plans' lower bound: no plan for these messages can use fewer calls. */
  readonly lowerBound: number;
  /** The baseline: each message planned alone, one message at a time. */
  readonly oneMessageAtATime: number;
}

/** `calls made 16 · calls planned 16 · lower bound 16 · one message at a time 32 (50% fewer calls)`. */
export function formatCallFigures(f: CallFigures): string {
  const parts = [
    ...(f.made === undefined ? [] : [`calls made ${f.made}`]),
    `calls planned ${f.planned}`,
    `lower bound ${f.lowerBound}`,
    `one message at a time ${f.oneMessageAtATime}`,
  ];
  const saved = f.oneMessageAtATime - f.planned;
  const fewer =
    f.oneMessageAtATime > 0
      ? ` (${Math.round((100 * saved) / f.oneMessageAtATime)}% fewer calls planned)`
      : '';
  return `${parts.join(' · ')}${fewer}`;
}

const TYPES = ['persons.delete', 'person.split', 'person.properties.update', 'person.merge'];

/** Renders the report as plain text (no colours, so it pastes into docs and CI logs as is). */
export function formatReport(r: PipelineReport): string {
  const out: string[] = [];
  const o = r.observer;
  out.push('', `persons-relay: local pipeline against ${r.target}`);

  // Sent: one row per source.
  const total = (pick: (s: SourceRow) => number) => r.sources.reduce((n, s) => n + pick(s), 0);
  const sent = total((s) => s.deletions + s.changes + s.invalid);
  out.push('', `Messages sent: ${sent}`);
  const sourceRows: Cell[][] = r.sources.map((s) => [
    s.source,
    s.deletions + s.changes + s.invalid,
    s.deletions,
    s.changes,
    s.invalid,
  ]);
  out.push(
    ...textTable(
      [
        'source',
        'messages',
        'to deletions',
        'to changes (FIFO)',
        'invalid (sent to show the DLQ path)',
      ],
      sourceRows,
      '  ',
    ),
  );
  const deduplicated = sent - o.outcomes.size;
  if (deduplicated > 0) {
    out.push(
      `  ${plural(deduplicated, 'message')} dropped by SQS FIFO deduplication (a producer retry with the same command id)`,
    );
  }

  // Outcomes: messages, not persons.
  out.push('', 'Outcomes per command type (the final state of each SQS message)');
  const outcomeRows: Cell[][] = [];
  for (const type of [...TYPES, null]) {
    const of = [...o.outcomes.values()].filter((x) => x.commandType === type);
    if (of.length === 0) continue;
    const count = (status: string) => of.filter((x) => x.outcome === status).length;
    outcomeRows.push([
      type ?? '(invalid message)',
      of.length,
      count('applied'),
      count('rejected'),
      count('retry'),
      of.filter((x) => o.everRetried.has(x.messageId)).length,
    ]);
  }
  out.push(
    ...textTable(
      [
        'command type',
        'messages',
        'applied',
        'rejected',
        'waiting for retry',
        'retried at least once',
      ],
      outcomeRows,
      '  ',
    ),
  );

  // Calls: the same three names as `persons-relay plan`, plus what was made.
  const calls = [...o.metrics.calls.entries()].sort(([a], [b]) => a.localeCompare(b));
  const made = calls.reduce((n, [, v]) => n + v, 0);
  out.push('', "PostHog calls (from the functions' EMF metric PostHogCalls)");
  out.push(
    `  ${formatCallFigures({ made, planned: o.plannedCalls, lowerBound: o.lowerBound, oneMessageAtATime: o.naiveCalls })}`,
  );
  out.push(
    ...textTable(
      ['endpoint', 'status', 'calls'],
      calls.map(([key, value]) => {
        const [endpoint = key, status = ''] = key.split(' ');
        // status 0: no response (a timeout or a connection error)
        return [endpoint, Number.isNaN(Number(status)) ? status : Number(status), value];
      }),
      '  ',
    ),
  );
  const throttled = o.metrics.totals.get('PostHogThrottled') ?? 0;
  const logged429 = r.requestLog?.filter((e) => e.status === 429).length;
  out.push(
    `  429 responses: ${throttled}${logged429 === undefined ? '' : ` (emulator request log: ${logged429})`}` +
      ` · batches: ${o.batches}` +
      (r.requestLog ? ` · requests the emulator saw: ${r.requestLog.length}` : ''),
  );

  // Persons: what PostHog did, which is not the count of messages applied.
  const deleted = o.metrics.totals.get('PersonsDeleted') ?? 0;
  out.push(
    '',
    `PostHog persons: ${deleted} deleted (metric PersonsDeleted)` +
      (r.persons === undefined ? '' : `, ${r.persons} remain in the emulator`),
    '  A delete message is applied also when its persons were already gone or never existed,',
    '  so persons deleted can be fewer than persons.delete messages applied.',
  );

  const dead = [
    ...r.deadLetters.deletions.map((d) => ({ lane: 'deletions', ...d })),
    ...r.deadLetters.changes.map((d) => ({ lane: 'changes', ...d })),
  ];
  out.push('', `Dead-letter queues: ${plural(dead.length, 'message')}`);
  if (dead.length > 0) {
    out.push(
      ...textTable(
        ['sent to', 'error_code', 'message', 'reason'],
        dead.map((d) => [d.lane, d.errorCode, messageLabel(d.body), truncate(d.errorReason, 90)]),
        '  ',
      ),
    );
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

/** A dead letter's command id when its body has one, else the start of the body. */
function messageLabel(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed !== null && typeof parsed === 'object' && 'id' in parsed) {
      const id = (parsed as { id: unknown }).id;
      if (typeof id === 'string') return `id ${truncate(id, 28)}`;
    }
  } catch {
    // not JSON: show the text itself
  }
  return truncate(body, 30);
}
