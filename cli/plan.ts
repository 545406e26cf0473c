import { type Command, Option } from 'commander';
import { type MessageRejection, parseMessage } from '#lib/messages/index.ts';
import {
  type InboundCommand,
  type Plan,
  type PlannedCall,
  type PropertyWrites,
  planBatch,
} from '#lib/planner/index.ts';
import { formatCallFigures } from '../local/runner/report.ts';
import { plural, textTable } from '../local/runner/table.ts';
import { CliError, readTextFile } from './errors.ts';

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
      const kind = 'ids' in call.target ? 'person uuid' : 'distinct id';
      const flags = Object.entries(call.flags)
        .filter(([, on]) => on)
        .map(([flag]) => flag);
      return `${plural(ids.length, kind)}${flags.length > 0 ? ` [${flags.join(', ')}]` : ''}: ${list(ids, 3)}`;
    }
    case 'batch_by_distinct_ids':
      return `look up ${plural(call.distinctIds.length, 'distinct id')}: ${list(call.distinctIds, 3)}`;
    case 'split':
      return `${describePerson(call.person)} ${
        'mainDistinctId' in call.body
          ? `keeps ${JSON.stringify(call.body.mainDistinctId)}`
          : `moves off ${list(call.body.distinctIdsToSplit, 3)}`
      }`;
    case 'update_property':
      return `${describePerson(call.person)} ${call.key} = ${JSON.stringify(call.value)}`;
    case 'update_properties':
      return `${describePerson(call.person)} ${list(
        Object.entries(call.properties).map(([key, value]) => `${key} = ${JSON.stringify(value)}`),
        3,
      )}`;
    case 'retrieve':
      return `find a distinct id of uuid ${call.uuid}`;
    case 'delete_property':
      return `${describePerson(call.person)} unset ${call.key}`;
    case 'capture_batch': {
      const sets = call.events.filter((e) => e.event === '$set').length;
      const merges = call.events.length - sets;
      return [
        sets > 0 ? `${plural(sets, '$set/$unset event')}` : '',
        merges > 0 ? `${plural(merges, '$merge_dangerously event')}` : '',
      ]
        .filter(Boolean)
        .join(' + ');
    }
  }
}

/** The human-readable report `persons-relay plan` prints. */
export function renderDryRun(run: DryRun): string {
  const { plan } = run;
  const valid = run.messages - run.rejected.length;
  const lines = [
    `${plural(run.messages, 'message')}: ${valid} valid, ${run.rejected.length} rejected; property writes: ${run.propertyWrites}`,
    // The same names as the `npm start` report.
    formatCallFigures({
      planned: plan.callCount,
      lowerBound: plan.lowerBound,
      oneMessageAtATime: plan.naiveCallCount,
    }),
    '',
  ];
  if (plan.calls.length > 0) {
    const rows = plan.calls.map((call, i) => [
      i + 1,
      call.stage,
      call.endpoint,
      describeCall(call),
      list(call.serves),
    ]);
    lines.push(...textTable(['#', 'stage', 'endpoint', 'what', 'serves'], rows), '');
  }
  if (plan.skipped.length > 0) {
    lines.push(`Skipped (no call of their own): ${plan.skipped.length}`);
    lines.push(
      ...textTable(
        ['line', 'reason'],
        plan.skipped.map((skip) => [skip.messageId, skip.reason]),
        '  ',
      ),
      '',
    );
  }
  if (run.rejected.length > 0) {
    lines.push(`Rejected: ${run.rejected.length}`);
    lines.push(
      ...textTable(
        ['line', 'code', 'reason'],
        run.rejected.map(({ messageId, rejection }) => [
          messageId,
          rejection.code,
          rejection.reason,
        ]),
        '  ',
      ),
      '',
    );
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
    .addHelpText(
      'after',
      `
Exits 1 when a line is rejected (as send does) or the file holds no messages.

Examples:
  $ npx persons-relay plan --file examples/events.ndjson
  $ npx persons-relay plan --file examples/events.ndjson --property-writes capture --json`,
    )
    .action(async (options: { file: string; propertyWrites: PropertyWrites; json?: boolean }) => {
      const text = await readTextFile(options.file, '--file');
      const run = dryRun(text, options.propertyWrites);
      if (run.messages === 0) {
        throw new CliError(
          `--file ${options.file}: no messages (the file is empty or only blank lines)`,
        );
      }
      process.stdout.write(
        options.json === true ? `${JSON.stringify(run, null, 2)}\n` : renderDryRun(run),
      );
      if (run.rejected.length > 0) process.exitCode = 1;
    });
}
