/**
 * `npm run bench`: what the planner saves, measured in one run against its baseline (one message at a time).
 *
 * (a) Planner: calls for realistic batches, planned versus naive (`naiveCallCount`), the lower bound, and planning time.
 * (b) Executor: a deletions workload run through the real PostHog client against the emulator with time-scaled
 *     rate limits: wall time, HTTP calls and 429s, planned versus naive (each message planned and executed alone).
 *
 * Numbers depend on the machine; the comparison within one run is what matters. Takes well under a minute.
 */
import { performance } from 'node:perf_hooks';
import { executePlan, type Outcome } from '../lib/executor/index.ts';
import { type Command, CommandSchema } from '../lib/messages/index.ts';
import { type InboundCommand, type PropertyWrites, planBatch } from '../lib/planner/index.ts';
import { PostHogClient } from '../lib/posthog/index.ts';
import { startPostHogEmulator } from '../local/posthog-emulator/index.ts';

const T0 = Date.UTC(2026, 10, 28, 21, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const uuid = (i: number) => `0190a3c2-5b7e-7cde-8f01-${i.toString(16).padStart(12, '0')}`;

/** A deterministic PRNG (mulberry32), so every run benches the same batches. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const inbound = (raws: Record<string, unknown>[]): InboundCommand[] =>
  raws.map((raw, i) => ({
    messageId: `m${i}`,
    command: CommandSchema.parse({ ...raw, id: `c${i}` }) as Command,
  }));

// ---------------------------------------------------------------- workloads
function singleDeletes(n: number): InboundCommand[] {
  return inbound(
    Array.from({ length: n }, (_, i) => ({
      type: 'persons.delete',
      time: at(0),
      data: { distinctIds: [`user-${i}`], deleteEvents: true, reason: 'gdpr_erasure' },
    })),
  );
}

function mixedDeletes(n: number): InboundCommand[] {
  const random = prng(7);
  return inbound(
    Array.from({ length: n }, (_, i) => {
      const ids = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        Math.floor(random() * n),
      );
      const byUuid = random() < 0.3;
      return {
        type: 'persons.delete',
        time: at(i),
        data: {
          ...(byUuid
            ? { personUuids: ids.map(uuid) }
            : { distinctIds: ids.map((id) => `user-${id}`) }),
          deleteEvents: random() < 0.5,
          deleteRecordings: random() < 0.2,
        },
      };
    }),
  );
}

function crmChanges(n: number, persons: number): InboundCommand[] {
  const random = prng(11);
  const keys = ['plan', 'seats', 'lifecycle_stage', 'owner', 'region', 'mrr'];
  return inbound(
    Array.from({ length: n }, (_, i) => {
      const person = `crm-${Math.floor(random() * persons)}`;
      const roll = random();
      if (roll < 0.03) {
        return {
          type: 'person.split',
          time: at(i),
          data: { distinctId: person, distinctIdsToSplit: [`${person}-device`] },
        };
      }
      if (roll < 0.08) {
        return {
          type: 'person.merge',
          time: at(i),
          data: {
            survivorDistinctId: person,
            mergedDistinctIds: [`lead-${Math.floor(random() * persons)}`],
          },
        };
      }
      const set: Record<string, unknown> = {};
      for (const key of keys) if (random() < 0.35) set[key] = Math.floor(random() * 100);
      const data =
        Object.keys(set).length > 0
          ? { distinctId: person, set }
          : { distinctId: person, set: { plan: 'pro' } };
      return {
        type: 'person.properties.update',
        time: at(Math.floor(random() * n)),
        data,
      };
    }),
  );
}

// ---------------------------------------------------------------- (a) planner
interface PlannerRow {
  batch: string;
  messages: number;
  mode: PropertyWrites;
  naive: number;
  planned: number;
  lowerBound: number;
  ms: number;
}

function benchPlanner(batch: string, messages: InboundCommand[], mode: PropertyWrites): PlannerRow {
  planBatch(messages, { propertyWrites: mode }); // warm-up
  const times: number[] = [];
  let plan = planBatch(messages, { propertyWrites: mode });
  for (let i = 0; i < 5; i += 1) {
    const start = performance.now();
    plan = planBatch(messages, { propertyWrites: mode });
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    batch,
    messages: messages.length,
    mode,
    naive: plan.naiveCallCount,
    planned: plan.callCount,
    lowerBound: plan.lowerBound,
    ms: times[2] ?? 0,
  };
}

// ---------------------------------------------------------------- (b) executor
interface ExecRow {
  strategy: string;
  messages: number;
  httpCalls: number;
  throttled: number;
  applied: number;
  wallMs: number;
}

const TIME_SCALE = 30; // a PostHog minute lasts 2 s
const RATE = { deletePerMinute: 480, deletePerHour: 4800, otherPerMinute: 240 };

async function benchExecutor(
  strategy: string,
  messages: InboundCommand[],
  options: { planned: boolean; clientLimiter: boolean },
): Promise<ExecRow> {
  const ph = await startPostHogEmulator({
    timeScale: TIME_SCALE,
    rateLimits: { ...RATE, enabled: true },
  });
  try {
    ph.seedPersons(messages.map((_, i) => ({ distinctIds: [`user-${i}`] })));
    const client = new PostHogClient({
      host: ph.url,
      projectId: ph.projectId,
      personalApiKey: ph.personalApiKey,
      maxRetries: 5,
      rateLimits: options.clientLimiter ? { ...RATE, timeScale: TIME_SCALE } : false,
    });
    const outcomes = new Map<string, Outcome>();
    const start = performance.now();
    if (options.planned) {
      for (const [id, outcome] of await executePlan(planBatch(messages), client))
        outcomes.set(id, outcome);
    } else {
      // The baseline: a relay that handles one message at a time, 4 in flight.
      const queue = [...messages];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
            for (const [id, outcome] of await executePlan(planBatch([m]), client))
              outcomes.set(id, outcome);
          }
        }),
      );
    }
    const wallMs = performance.now() - start;
    const log = ph.state.requestLog;
    return {
      strategy,
      messages: messages.length,
      httpCalls: log.length,
      throttled: log.filter((r) => r.status === 429).length,
      applied: [...outcomes.values()].filter((o) => o.status === 'applied').length,
      wallMs,
    };
  } finally {
    await ph.close();
  }
}

// ---------------------------------------------------------------- output
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padStart(widths[c] ?? 0)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fmt = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`persons-relay bench — node ${process.version}, ${new Date().toISOString()}\n`);

  console.log(
    '(a) Planner: PostHog calls per batch, planned vs one call-set per message (naive)\n',
  );
  const plannerRows = [
    benchPlanner('10k single-id deletes, same flags', singleDeletes(10_000), 'update_property'),
    benchPlanner('10k deletes, 1-3 ids, mixed flags', mixedDeletes(10_000), 'update_property'),
    benchPlanner('FIFO batch: 10 CRM changes', crmChanges(10, 4), 'update_property'),
    benchPlanner('FIFO batch: 10 CRM changes', crmChanges(10, 4), 'capture'),
    benchPlanner('backfill: 5k CRM changes, 500 persons', crmChanges(5000, 500), 'update_property'),
    benchPlanner('backfill: 5k CRM changes, 500 persons', crmChanges(5000, 500), 'capture'),
  ];
  console.log(
    table(
      [
        'batch',
        'messages',
        'property writes',
        'naive calls',
        'planned calls',
        'lower bound',
        'saved',
        'plan ms',
      ],
      plannerRows.map((r) => [
        r.batch,
        fmt(r.messages),
        // Property writes do not apply to a batch of deletes.
        r.batch.includes('deletes') ? '–' : r.mode,
        fmt(r.naive),
        fmt(r.planned),
        fmt(r.lowerBound),
        `${(100 * (1 - r.planned / r.naive)).toFixed(1)}%`,
        r.ms.toFixed(1),
      ]),
    ),
  );

  const n = 1200;
  const deletes = singleDeletes(n);
  console.log(
    `\n(b) Executor: ${fmt(n)} single-person delete messages through the real client against the emulator\n` +
      `    (rate limits 480/min + 4800/h on deletes, time-scaled x${TIME_SCALE}: a PostHog minute lasts ${60 / TIME_SCALE} s)\n`,
  );
  const execRows = [
    await benchExecutor('planned (client limiter on)', deletes, {
      planned: true,
      clientLimiter: true,
    }),
    await benchExecutor('naive (client limiter on)', deletes, {
      planned: false,
      clientLimiter: true,
    }),
    await benchExecutor('naive (no client limiter)', deletes, {
      planned: false,
      clientLimiter: false,
    }),
  ];
  console.log(
    table(
      ['strategy', 'messages', 'applied', 'HTTP calls', '429s', 'wall ms', 'PostHog minutes'],
      execRows.map((r) => [
        r.strategy,
        fmt(r.messages),
        fmt(r.applied),
        fmt(r.httpCalls),
        fmt(r.throttled),
        fmt(Math.round(r.wallMs)),
        ((r.wallMs * TIME_SCALE) / 60_000).toFixed(2),
      ]),
    ),
  );
  console.log(`\nTotal bench time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await main();
