/**
 * Planner alone: PostHog calls per batch, planned versus one call-set per message (`naiveCallCount`), and the
 * plan's lower bound (computed independently of the plan, from the batch alone).
 */
import { performance } from 'node:perf_hooks';
import { type Command, CommandSchema } from '#lib/messages/index.ts';
import { type InboundCommand, type PropertyWrites, planBatch } from '#lib/planner/index.ts';
import { prng } from './workloads.ts';

const T0 = Date.UTC(2026, 10, 28, 21, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const uuid = (i: number) => `0190a3c2-5b7e-7cde-8f01-${i.toString(16).padStart(12, '0')}`;

const inbound = (raws: Record<string, unknown>[]): InboundCommand[] =>
  raws.map((raw, i) => ({
    messageId: `m${i}`,
    command: CommandSchema.parse({ ...raw, id: `c${i}` }) as Command,
  }));

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
      return { type: 'person.properties.update', time: at(Math.floor(random() * n)), data };
    }),
  );
}

/** One row of the planner table. */
export interface PlannerCallsRow {
  readonly batch: string;
  readonly messages: number;
  /** `null` for delete batches, where property writes do not apply. */
  readonly propertyWrites: PropertyWrites | null;
  readonly naive: number;
  readonly planned: number;
  readonly lowerBound: number;
  readonly planMs: number;
}

function row(
  batch: string,
  messages: InboundCommand[],
  mode: PropertyWrites,
  deletes: boolean,
): PlannerCallsRow {
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
    propertyWrites: deletes ? null : mode,
    naive: plan.naiveCallCount,
    planned: plan.callCount,
    lowerBound: plan.lowerBound,
    planMs: times[2] ?? 0,
  };
}

/** The planner table; `scale` < 1 shrinks the batches (quick mode). */
export function plannerCalls(scale = 1): PlannerCallsRow[] {
  const n = (count: number) => Math.max(10, Math.round(count * scale));
  return [
    row(
      `${n(10_000)} single-id deletes, same flags`,
      singleDeletes(n(10_000)),
      'update_property',
      true,
    ),
    row(
      `${n(10_000)} deletes, 1-3 ids, mixed flags`,
      mixedDeletes(n(10_000)),
      'update_property',
      true,
    ),
    row('FIFO batch: 10 CRM changes', crmChanges(10, 4), 'update_property', false),
    row('FIFO batch: 10 CRM changes', crmChanges(10, 4), 'capture', false),
    row(`backfill: ${n(5000)} CRM changes`, crmChanges(n(5000), n(500)), 'update_property', false),
    row(`backfill: ${n(5000)} CRM changes`, crmChanges(n(5000), n(500)), 'capture', false),
  ];
}
