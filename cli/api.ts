import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import {
  type BulkDeleteResult,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  type FunnelParams,
  type JsonValue,
  PostHogClient,
  type PostHogLogger,
  redactSecrets,
  splitPersonUuid,
} from '#lib/posthog/index.ts';
import { objectTable, plural } from '../local/runner/table.ts';
import { debugRequested, describeError, readTextFile, UsageError } from './errors.ts';
import { nonNegativeInt, positiveInt } from './parsers.ts';

/**
 * `persons-relay api <command>`: one command per PostHog Persons API endpoint, through the same
 * typed client the Lambdas use (retries, rate governance, typed errors).
 *
 * Configuration: flags, else `POSTHOG_HOST`, `POSTHOG_PROJECT_ID`, `POSTHOG_PERSONAL_API_KEY`,
 * `POSTHOG_PROJECT_TOKEN`. Output: JSON on stdout, or `--format csv`. Progress and summaries go to
 * stderr. A failure prints one line (never the key) and exits 1.
 */

/** Global options of `persons-relay api`. */
interface ApiGlobalOptions {
  host?: string;
  projectId?: string;
  personalApiKey?: string;
  projectToken?: string;
  format?: OutputFormat;
  output?: OutputFormat;
  timeout?: number;
  maxRetries?: number;
  verbose?: boolean;
}

type OutputFormat = 'json' | 'csv' | 'table';

/** A repeatable flag: each occurrence is one value, taken as given (a distinct id may hold a comma). */
const repeat = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A repeatable flag of person uuids: a uuid never holds a comma, so `a,b` is two uuids. */
const repeatUuids = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/**
 * Registers `persons-relay api …`.
 *
 * @example
 * POSTHOG_HOST=https://us.posthog.com POSTHOG_PROJECT_ID=123 POSTHOG_PERSONAL_API_KEY=phx_… \
 *   npx persons-relay api bulk-delete --distinct-ids-file ids.txt --delete-events
 */
export function registerApiCommands(program: Command): void {
  const api = program
    .command('api')
    .description('Call the PostHog Persons API (one command per endpoint)')
    .option('--host <url>', 'PostHog host, e.g. https://us.posthog.com (env POSTHOG_HOST)')
    .option('--project-id <id>', 'project (environment) id (env POSTHOG_PROJECT_ID)')
    .option(
      '--personal-api-key <key>',
      'personal API key; prefer the env POSTHOG_PERSONAL_API_KEY (flags show up in ps)',
    )
    .option(
      '--project-token <token>',
      'project token for capture/merge (env POSTHOG_PROJECT_TOKEN)',
    )
    .addOption(
      new Option('--output <format>', 'json, csv, or table (for reading)').choices([
        'json',
        'csv',
        'table',
      ]),
    )
    .addOption(new Option('--format <format>').choices(['json', 'csv', 'table']).hideHelp())
    .option(
      '--timeout <ms>',
      `per-attempt timeout in ms (default: ${DEFAULT_TIMEOUT_MS})`,
      positiveInt('--timeout'),
    )
    .option(
      '--max-retries <n>',
      `retries after the first attempt (default: ${DEFAULT_MAX_RETRIES})`,
      nonNegativeInt('--max-retries'),
    )
    .option('--verbose', 'log retries to stderr', false)
    .addHelpText(
      'after',
      `
Environment: POSTHOG_HOST, POSTHOG_PROJECT_ID, POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_TOKEN (flags win).
Output: JSON on stdout (default), --output csv or --output table; progress and summaries on stderr.

Examples:
  $ npx persons-relay api persons --distinct-id user-1 --output table
  $ npx persons-relay api bulk-delete --distinct-ids-file ids.txt --delete-events
  $ npx persons-relay api split <person uuid> --distinct-id crm-42`,
    );

  api
    .command('split')
    .description(
      'Split a person (queued by PostHog; moved ids resolve to the old person until it runs)',
    )
    .argument('<person>', "person's numeric id or uuid")
    .option('--main-distinct-id <id>', 'the distinct id that stays (all others move)')
    .option('--distinct-id <id>', 'move this distinct id off (repeat the flag for more)', repeat)
    .option('--all', 'split off every distinct id (each becomes its own person)', false)
    .action(
      run(
        async (
          client,
          g,
          person: string,
          o: { mainDistinctId?: string; distinctId?: string[]; all: boolean },
        ) => {
          const chosen = [o.mainDistinctId, o.distinctId, o.all || undefined].filter(
            (x) => x !== undefined,
          ).length;
          if (chosen !== 1) {
            throw new UsageError(
              chosen === 0
                ? 'split needs what to split off: --distinct-id <id> (repeatable), --main-distinct-id <id> (it stays, all others move), or --all to split off every distinct id'
                : 'split takes one of --distinct-id, --main-distinct-id or --all',
            );
          }
          const result = await client.split(person, {
            ...(o.mainDistinctId === undefined ? {} : { mainDistinctId: o.mainDistinctId }),
            ...(o.distinctId === undefined ? {} : { distinctIdsToSplit: o.distinctId }),
          });
          const predicted =
            o.distinctId !== undefined &&
            /^[0-9a-f-]{36}$/i.test(person) &&
            g.projectId !== '@current'
              ? Object.fromEntries(
                  o.distinctId.map((d) => [d, splitPersonUuid(client.projectId, d, person)]),
                )
              : undefined;
          return predicted === undefined ? result : { ...result, newPersonUuids: predicted };
        },
      ),
    );

  api
    .command('update-property')
    .description('Set one person property (JSON body; applied asynchronously by ingestion)')
    .argument('<person>', "person's numeric id or uuid")
    .argument('<key>', 'property key')
    .argument('<value>', 'value (a string unless --json)')
    .option('--json', 'parse <value> as JSON (numbers, booleans, null, objects)', false)
    .action(
      run(async (client, _g, person: string, key: string, value: string, o: { json: boolean }) =>
        client.updateProperty(person, key, o.json ? parseJsonArg(value, '<value>') : value),
      ),
    );

  api
    .command('update-properties')
    .description(
      'Set several person properties in one call (PATCH persons/:id/: one $set, applied by ingestion)',
    )
    .argument('<person>', "person's numeric id or uuid")
    .argument('<properties>', 'a JSON object of key → value, e.g. \'{"plan":"pro","seats":12}\'')
    .action(
      run(async (client, _g, person: string, properties: string) => {
        const parsed = parseJsonArg(properties, '<properties>');
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new UsageError('<properties> must be a JSON object of key → value');
        }
        return client.updateProperties(person, parsed as Record<string, JsonValue>);
      }),
    );

  api
    .command('delete-property')
    .description('Unset one person property')
    .argument('<person>', "person's numeric id or uuid")
    .argument('<key>', 'property key')
    .action(
      run(async (client, _g, person: string, key: string) => client.deleteProperty(person, key)),
    );

  api
    .command('activity')
    .description('Activity log of every person (deleted ones included) or of one person')
    .option('--person <person>', "one person's numeric id or uuid")
    .option('--limit <n>', 'page size', positiveInt('--limit'))
    .option('--max <n>', 'stop after this many entries', positiveInt('--max'))
    .action(
      run(async (client, _g, o: { person?: string; limit?: number; max?: number }) =>
        take(
          client.activity({
            ...(o.person === undefined ? {} : { person: o.person }),
            ...(o.limit === undefined ? {} : { limit: o.limit }),
          }),
          o.max,
        ),
      ),
    );

  api
    .command('batch-by-distinct-ids')
    .description('Look up persons by distinct id (chunked at 200; unknown ids are absent)')
    .argument('[distinctIds...]', 'distinct ids')
    .option('--file <path>', 'read distinct ids from a file, one per line')
    .action(
      run(async (client, _g, distinctIds: string[], o: { file?: string }) => {
        const all = [
          ...distinctIds,
          ...(o.file === undefined ? [] : await readIds(o.file, '--file')),
        ];
        if (all.length === 0) throw new UsageError('give distinct ids as arguments or --file');
        return client.batchByDistinctIds(all);
      }),
    );

  api
    .command('bulk-delete')
    .description('Delete persons by uuid or distinct id, any number (chunked at 1000 per call)')
    .option('--ids <uuids>', 'person uuids (repeatable or comma-separated)', repeatUuids)
    .option(
      '--distinct-ids <id>',
      'a distinct id, taken whole (repeat the flag for more; commas are part of the id)',
      repeat,
    )
    .option('--ids-file <path>', 'person uuids, one per line')
    .option('--distinct-ids-file <path>', 'distinct ids, one per line')
    .option('--delete-events', "also queue the persons' events for deletion", false)
    .option('--delete-recordings', "also delete the persons' recordings", false)
    .option('--keep-person', 'keep the person rows (only with --delete-events/recordings)', false)
    .action(
      run(
        async (
          client,
          _g,
          o: {
            ids?: string[];
            distinctIds?: string[];
            idsFile?: string;
            distinctIdsFile?: string;
            deleteEvents: boolean;
            deleteRecordings: boolean;
            keepPerson: boolean;
          },
        ) => {
          if (o.keepPerson && !o.deleteEvents && !o.deleteRecordings) {
            throw new UsageError(
              '--keep-person only makes sense with --delete-events or --delete-recordings (it keeps the person rows and deletes their data)',
            );
          }
          const ids = [
            ...(o.ids ?? []),
            ...(o.idsFile ? await readIds(o.idsFile, '--ids-file') : []),
          ];
          const distinctIds = [
            ...(o.distinctIds ?? []),
            ...(o.distinctIdsFile ? await readIds(o.distinctIdsFile, '--distinct-ids-file') : []),
          ];
          if (ids.length === 0 && distinctIds.length === 0) {
            throw new UsageError(
              'give --distinct-ids or --ids (or --distinct-ids-file / --ids-file) with at least one id',
            );
          }
          if (ids.length > 0 && distinctIds.length > 0) {
            throw new UsageError(
              'give person uuids (--ids/--ids-file) or distinct ids (--distinct-ids/--distinct-ids-file), not both',
            );
          }
          const target = ids.length > 0 ? { ids } : { distinctIds };
          const total = new Set(ids.length > 0 ? ids : distinctIds).size;
          const bar = process.stderr.isTTY
            ? new SingleBar({
                stream: process.stderr,
                format: 'bulk-delete [{bar}] {value}/{total} ids | {found} found | {calls} calls',
                hideCursor: true,
              })
            : undefined;
          bar?.start(total, 0, { found: 0, calls: 0 });
          let result: BulkDeleteResult | undefined;
          try {
            result = await client.bulkDelete(target, {
              deleteEvents: o.deleteEvents,
              deleteRecordings: o.deleteRecordings,
              keepPerson: o.keepPerson,
              onChunk: (p) => {
                result = p.result;
                bar?.update(p.idsDone, { found: p.result.personsFound, calls: p.result.calls });
              },
            });
          } finally {
            bar?.stop();
            if (result !== undefined) process.stderr.write(`${bulkDeleteSummary(result, total)}\n`);
          }
          return result;
        },
      ),
    );

  api
    .command('cohorts')
    .description('Cohorts a person belongs to')
    .argument('<person>', "person's numeric id or uuid")
    .action(run(async (client, _g, person: string) => client.cohorts(person)));

  for (const [name, description, method] of [
    [
      'funnel',
      'Persons of a funnel step (legacy route: removed from PostHog in mid-2026)',
      'funnel',
    ],
    [
      'funnel-correlation',
      'Persons behind a funnel correlation (legacy route: removed from PostHog in mid-2026)',
      'funnelCorrelation',
    ],
  ] as const) {
    api
      .command(name)
      .description(description)
      .option('--params <json>', 'filter params as a JSON object (events, funnel_step, …)')
      .option('--params-file <path>', 'filter params from a JSON file')
      .addOption(
        new Option('--method <method>', 'send params as query (GET) or body (POST)')
          .choices(['GET', 'POST'])
          .default('GET'),
      )
      .option('--max <n>', 'stop after this many persons', positiveInt('--max'))
      .action(
        run(
          async (
            client,
            _g,
            o: { params?: string; paramsFile?: string; method: 'GET' | 'POST'; max?: number },
          ) => {
            const text =
              o.paramsFile === undefined
                ? o.params
                : await readTextFile(o.paramsFile, '--params-file');
            if (text === undefined) throw new UsageError('give --params or --params-file');
            const params = parseJsonArg(text, '--params');
            if (params === null || typeof params !== 'object' || Array.isArray(params)) {
              throw new UsageError('--params must be a JSON object');
            }
            return take(client[method](params as FunnelParams, { method: o.method }), o.max);
          },
        ),
      );
  }

  api
    .command('persons')
    .description('List persons (all pages), or filter by distinct id, email or search')
    .option('--distinct-id <id>', 'the person holding this distinct id')
    .option('--email <email>', 'exact match on properties.email')
    .option('--search <text>', 'email/name/distinct id/uuid substring')
    .option('--limit <n>', 'page size', positiveInt('--limit'))
    .option('--max <n>', 'stop after this many persons', positiveInt('--max'))
    .action(
      run(
        async (
          client,
          g,
          o: { distinctId?: string; email?: string; search?: string; limit?: number; max?: number },
        ) => {
          const query = {
            ...(o.distinctId === undefined ? {} : { distinctId: o.distinctId }),
            ...(o.email === undefined ? {} : { email: o.email }),
            ...(o.search === undefined ? {} : { search: o.search }),
            ...(o.limit === undefined ? {} : { limit: o.limit }),
          };
          // PostHog renders CSV for the list itself; use it rather than flattening ourselves.
          if (formatOf(g) === 'csv' && o.max === undefined)
            return new RawCsv(await client.listCsv(query));
          return take(client.list(query), o.max);
        },
      ),
    );

  api
    .command('deletion-status')
    .description('Queued event deletions and whether they ran')
    .addOption(new Option('--status <status>', 'filter').choices(['pending', 'completed', 'all']))
    .option('--person-uuid <uuid>', 'one person')
    .option('--max <n>', 'stop after this many rows', positiveInt('--max'))
    .action(
      run(
        async (
          client,
          _g,
          o: { status?: 'pending' | 'completed' | 'all'; personUuid?: string; max?: number },
        ) =>
          take(
            client.deletionStatus({
              ...(o.status === undefined ? {} : { status: o.status }),
              ...(o.personUuid === undefined ? {} : { personUuid: o.personUuid }),
            }),
            o.max,
          ),
      ),
    );

  api
    .command('merge')
    .description('Merge two persons via capture $merge_dangerously (the survivor wins conflicts)')
    .argument('<survivorDistinctId>', 'distinct id that survives')
    .argument('<mergedDistinctId>', 'distinct id merged away')
    .option('--uuid <uuid>', 'event uuid, so a repeated command is the same event')
    .action(
      run(async (client, g, survivor: string, merged: string, o: { uuid?: string }) => {
        if (!(g.projectToken ?? process.env['POSTHOG_PROJECT_TOKEN'])) {
          throw new UsageError(
            "merge needs --project-token or POSTHOG_PROJECT_TOKEN (the project's phc_… token; merges go through capture)",
          );
        }
        await client.mergeDangerously({
          survivorDistinctId: survivor,
          mergedDistinctId: merged,
          ...(o.uuid === undefined ? {} : { uuid: o.uuid }),
        });
        return { accepted: true, survivorDistinctId: survivor, mergedDistinctId: merged };
      }),
    );
}

// ---------------------------------------------------------------------------------------------

/** CSV text PostHog already rendered. */
class RawCsv {
  constructor(readonly text: string) {}
}

type Handler<A extends unknown[]> = (
  client: PostHogClient,
  globals: ApiGlobalOptions,
  ...args: A
) => Promise<unknown>;

/**
 * Wraps an action: builds the client from flags/env, runs, prints, and turns any failure into one
 * redacted line on stderr with exit code 1 (2 for usage errors), naming CLI flags and environment
 * variables rather than the client's option names.
 */
function run<A extends unknown[]>(handler: Handler<A>) {
  return async (...raw: unknown[]): Promise<void> => {
    const command = raw[raw.length - 1] as Command;
    const globals = command.optsWithGlobals<ApiGlobalOptions>();
    const args = raw.slice(0, -1) as A;
    try {
      const client = clientFrom(globals);
      const result = await handler(client, globals, ...args);
      process.stdout.write(render(result, formatOf(globals)));
    } catch (error) {
      // The client throws TypeError for a bad argument: a usage error, named in the CLI's terms.
      const usage = error instanceof UsageError || error instanceof TypeError;
      process.stderr.write(`error: ${inCliTerms(oneLine(error))}\n`);
      if (debugRequested() && error instanceof Error) {
        process.stderr.write(`${redactSecrets(error.stack ?? '')}\n`);
      }
      process.exitCode = usage ? 2 : 1;
    }
  };
}

const formatOf = (g: ApiGlobalOptions): OutputFormat => g.output ?? g.format ?? 'json';

/** The client's option names → the flags and variables a CLI user sets. */
const CLI_TERMS: readonly [RegExp, string][] = [
  [/\bprojectToken\b/g, '--project-token / POSTHOG_PROJECT_TOKEN'],
  [/\bpersonalApiKey\b/g, '--personal-api-key / POSTHOG_PERSONAL_API_KEY'],
  [/\bprojectId\b/g, '--project-id / POSTHOG_PROJECT_ID'],
  [/^host\b/, '--host / POSTHOG_HOST'],
  [/\btimeoutMs\b/g, '--timeout'],
  [/\bmaxRetries\b/g, '--max-retries'],
  [/\bbulkDelete\.ids\b/g, '--ids'],
  [/\bbulkDelete\.distinctIds\b/g, '--distinct-ids'],
  [/\bmainDistinctId\b/g, '--main-distinct-id'],
  [/\bdistinctIdsToSplit\b/g, '--distinct-id'],
];

function inCliTerms(text: string): string {
  return CLI_TERMS.reduce((t, [pattern, flag]) => t.replace(pattern, flag), text);
}

function clientFrom(g: ApiGlobalOptions): PostHogClient {
  // The CLI is an entry point, so it may read the environment; lib/posthog never does.
  const { POSTHOG_HOST, POSTHOG_PROJECT_ID, POSTHOG_PERSONAL_API_KEY, POSTHOG_PROJECT_TOKEN } =
    process.env;
  const host = g.host ?? POSTHOG_HOST;
  const projectId = g.projectId ?? POSTHOG_PROJECT_ID;
  const personalApiKey = g.personalApiKey ?? POSTHOG_PERSONAL_API_KEY;
  const projectToken = g.projectToken ?? POSTHOG_PROJECT_TOKEN;
  const missing = [
    host ? undefined : '--host or POSTHOG_HOST',
    projectId ? undefined : '--project-id or POSTHOG_PROJECT_ID',
    personalApiKey ? undefined : '--personal-api-key or POSTHOG_PERSONAL_API_KEY',
  ].filter(Boolean);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}`);
  const logger: PostHogLogger | undefined = g.verbose
    ? {
        debug: (msg, extra) => process.stderr.write(`${msg} ${JSON.stringify(extra ?? {})}\n`),
        warn: (msg, extra) => process.stderr.write(`${msg} ${JSON.stringify(extra ?? {})}\n`),
      }
    : undefined;
  return new PostHogClient({
    host: host as string,
    projectId: projectId as string,
    personalApiKey: personalApiKey as string,
    ...(projectToken ? { projectToken } : {}),
    ...(g.timeout === undefined ? {} : { timeoutMs: g.timeout }),
    ...(g.maxRetries === undefined ? {} : { maxRetries: g.maxRetries }),
    ...(logger === undefined ? {} : { logger }),
  });
}

function oneLine(error: unknown): string {
  const text = describeError(error);
  const hint =
    error instanceof Error && 'requestId' in error && typeof error.requestId === 'string'
      ? ` (request id ${error.requestId})`
      : '';
  return redactSecrets(`${text}${hint}`).replace(/\s+/g, ' ').trim();
}

async function take<T>(items: AsyncIterable<T>, max: number | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
    if (max !== undefined && out.length >= max) break;
  }
  return out;
}

/**
 * Ids from a file: one per line, taken whole (a comma is part of the id). Blank lines are skipped; lines that start
 * with `#` are comments and skipped too, and stderr says which, so an id that starts with `#` is never dropped
 * unnoticed.
 */
async function readIds(file: string, flag: string): Promise<string[]> {
  const text = await readTextFile(file, flag);
  const ids: string[] = [];
  const comments: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) comments.push(index + 1);
    else ids.push(line);
  });
  if (comments.length > 0) {
    const shown = comments.slice(0, 10).join(', ');
    process.stderr.write(
      `${flag} ${file}: skipped ${plural(comments.length, 'comment line')} starting with # ` +
        `(line${comments.length === 1 ? '' : 's'} ${shown}${comments.length > 10 ? ', …' : ''})\n`,
    );
  }
  return ids;
}

function parseJsonArg(text: string, name: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new UsageError(`${name} is not valid JSON`);
  }
}

function bulkDeleteSummary(r: BulkDeleteResult, total: number): string {
  return [
    `bulk-delete: ${total} unique ids in ${r.calls} calls`,
    `${r.personsFound} persons found`,
    `${r.personsDeleted} deleted`,
    `${r.personsQueuedForDeletion} queued`,
    `${r.deletionErrors.length} not deleted (retry them)`,
    `events queued: ${r.eventsQueuedForDeletion}`,
    `recordings queued: ${r.recordingsQueuedForDeletion}`,
  ].join(', ');
}

/** JSON (pretty), CSV (one row per item, nested values JSON-encoded) or an aligned table. */
function render(result: unknown, format: OutputFormat): string {
  if (result instanceof RawCsv)
    return result.text.endsWith('\n') ? result.text : `${result.text}\n`;
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (format === 'table') return objectTable(rowsOf(result));
  return toCsv(rowsOf(result));
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result.map((r) => (isRecord(r) ? r : { value: r }));
  if (isRecord(result)) {
    const values = Object.values(result);
    // A map of records (batch-by-distinct-ids): one row per key.
    if (values.length > 0 && values.every(isRecord)) {
      return Object.entries(result).map(([key, value]) => ({ key, ...(value as object) }));
    }
    return [result];
  }
  return [{ value: result }];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function toCsv(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown): string => {
    const text =
      v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [
    columns.map(cell).join(','),
    ...rows.map((r) => columns.map((c) => cell(r[c])).join(',')),
  ];
  return `${lines.join('\n')}\n`;
}
