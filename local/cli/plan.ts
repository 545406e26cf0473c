import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { type MessageRejection, parseMessage } from '../../lib/messages/index.ts';
import {
  type InboundCommand,
  type Plan,
  type PlannedCall,
  type PropertyWrites,
  planBatch,
} from '../../lib/planner/index.ts';

/** A dry run of one file: what was refused and the plan for the rest. */
export interface DryRun {
  messages: number;
  rejected: { messageId: string; rejection: MessageRejection }[];
  plan: Plan;
  propertyWrites: PropertyWrites;
}

/**
 * Plans an NDJSON file of SQS message bodies (one body per non-empty line, any supported envelope) as one batch,
 * without calling anything. Message ids are `line-<n>` (1-based line numbers).
 */
export function dryRun(ndjson: string, propertyWrites: PropertyWrites = 'update_property'): DryRun {
  const inbound: InboundCommand[] = [];
  const rejected: DryRun['rejected'] = [];
  let messages = 0;
  ndjson.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    messages += 1;
    const messageId = `line-${index + 1}`;
    const result = parseMessage(line);
    if (result.ok) inbound.push({ messageId, command: result.command });
    else rejected.push({ messageId, rejection: result.rejection });
  });
  return { messages, rejected, plan: planBatch(inbound, { propertyWrites }), propertyWrites };
}

const MAX_LISTED = 6;

const list = (items: readonly string[], max = MAX_LISTED): string =>
  items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} (+${items.length - max} more)`;

const describePerson = (person: { uuid: string } | { distinctId: string }) =>
  'uuid' in person ? `uuid ${person.uuid}` : `distinct id ${JSON.stringify(person.distinctId)}`;

/** One line saying what a planned call does. */
export function describeCall(call: PlannedCall): string {
  switch (call.endpoint) {
    case 'bulk_delete': {
      const ids = 'ids' in call.target ? call.target.ids : call.target.distinctIds;
      const kind = 'ids' in call.target ? 'person uuids' : 'distinct ids';
      const flags = Object.entries(call.flags)
        .filter(([, on]) => on)
        .map(([flag]) => flag);
      return `${ids.length} ${kind}${flags.length > 0 ? ` [${flags.join(', ')}]` : ''}: ${list(ids, 3)}`;
    }
    case 'batch_by_distinct_ids':
      return `look up ${call.distinctIds.length} distinct ids: ${list(call.distinctIds, 3)}`;
    case 'split':
      return `${describePerson(call.person)} ${
        'mainDistinctId' in call.body
          ? `keeps ${JSON.stringify(call.body.mainDistinctId)}`
          : `moves off ${list(call.body.distinctIdsToSplit, 3)}`
      }`;
    case 'update_property':
      return `${describePerson(call.person)} ${call.key} = ${JSON.stringify(call.value)}`;
    case 'delete_property':
      return `${describePerson(call.person)} unset ${call.key}`;
    case 'capture_batch': {
      const sets = call.events.filter((e) => e.event === '$set').length;
      const merges = call.events.length - sets;
      return [
        sets > 0 ? `${sets} $set/$unset events` : '',
        merges > 0 ? `${merges} $merge_dangerously` : '',
      ]
        .filter(Boolean)
        .join(' + ');
    }
  }
}

/** The human-readable report `persons-relay plan` prints. */
export function renderDryRun(run: DryRun): string {
  const { plan } = run;
  const saved = plan.naiveCallCount - plan.callCount;
  const lines = [
    `${run.messages} messages: ${run.messages - run.rejected.length} valid, ${run.rejected.length} rejected; property writes: ${run.propertyWrites}`,
    `${plan.callCount} calls (lower bound ${plan.lowerBound}, naive one-message-at-a-time ${plan.naiveCallCount}${
      plan.naiveCallCount > 0 ? `, ${Math.round((100 * saved) / plan.naiveCallCount)}% fewer` : ''
    })`,
    '',
  ];
  if (plan.calls.length > 0) {
    const rows = plan.calls.map((call, i) => [
      String(i + 1),
      String(call.stage),
      call.endpoint,
      describeCall(call),
      list(call.serves),
    ]);
    const header = ['#', 'stage', 'endpoint', 'what', 'serves'];
    const widths = header.map((h, c) =>
      Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)),
    );
    // The last two columns are free text: only the first three are padded.
    const format = (row: string[]) =>
      row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c] ?? 0) : cell)).join('  ');
    lines.push(format(header), ...rows.map(format), '');
  }
  if (plan.skipped.length > 0) {
    lines.push('Skipped (no call of their own):');
    for (const skip of plan.skipped) lines.push(`  ${skip.messageId}  ${skip.reason}`);
    lines.push('');
  }
  if (run.rejected.length > 0) {
    lines.push('Rejected:');
    for (const { messageId, rejection } of run.rejected) {
      lines.push(`  ${messageId}  ${rejection.code}  ${rejection.reason}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Registers `persons-relay plan --file events.ndjson`: print the plan for a batch without calling PostHog. */
export function registerPlanCommands(program: Command): void {
  program
    .command('plan')
    .description(
      'Dry run: plan an NDJSON file of SQS message bodies as one batch and print the PostHog calls (nothing is called)',
    )
    .requiredOption('-f, --file <path>', 'NDJSON file, one message body per line')
    .addOption(
      new Option('--property-writes <mode>', 'how property writes reach PostHog')
        .choices(['update_property', 'capture'])
        .default('update_property'),
    )
    .option('--json', 'print the plan and rejections as JSON')
    .action(async (options: { file: string; propertyWrites: PropertyWrites; json?: boolean }) => {
      const text = await readFile(options.file, 'utf8');
      const run = dryRun(text, options.propertyWrites);
      process.stdout.write(
        options.json === true ? `${JSON.stringify(run, null, 2)}\n` : renderDryRun(run),
      );
    });
}
