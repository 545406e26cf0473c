/**
 * The fleet-wide rate budget (lib/budget) against the per-instance share it replaces, at PostHog's real limits.
 *
 * Several Lambda instances of both lanes are simulated in this process, each with what a real instance has: its own
 * PostHog client (same retries), its own limiter and, for the shared budget, its own DynamoDB client on dynalite.
 * They drain one backlog per lane through the relay's planner and executor (the batch loop without SQS, like
 * one-batch.ts) against the PostHog emulator with its real throttles (480/min + 4800/h delete, 240/min other),
 * time-scaled so that a PostHog minute lasts `60 / timeScale` real seconds; the limiters' windows are scaled the same
 * way (`POSTHOG_RATE_TIME_SCALE`).
 *
 * - Deletions lane: batches of four `persons.delete` of 1,000 distinct ids each (four full bulk_delete calls, run
 *   concurrently by the executor as in a real deletions batch; the ids are not seeded, so PostHog finds nothing to
 *   delete: the calls count in the delete throttle all the same).
 * - Changes lane: FIFO-sized batches of 10 one-key property updates of seeded persons by uuid (one update_property
 *   each, the `other` throttle).
 * - Baseline: the same instances, each holding `budget / instances` in memory with `instances` = the deployed
 *   maxConcurrency (3 deletions, 8 changes, infra/rate-budget.ts), as before the shared budget.
 */
import { performance } from 'node:perf_hooks';
import { SharedRateLimiter } from '#lib/budget/index.ts';
import { executePlan } from '#lib/executor/index.ts';
import { type InboundCommand, planBatch } from '#lib/planner/index.ts';
import {
  POSTHOG_RATE_LIMITS,
  PostHogClient,
  PostHogRateLimiter,
  type RateGovernor,
} from '#lib/posthog/index.ts';
import { DynamoBudgetStore, keyHash } from '#lib/store/index.ts';
import { startPostHogEmulator } from '../local/posthog-emulator/index.ts';
import { startLocalDynamo } from '../local/store/index.ts';
import { maxInWindow } from './limits.ts';

/** The scenario's shape. */
export interface SharedBudgetOptions {
  readonly timeScale: number;
  /** Instances running per lane (fewer than the deployed maximum, as most of the time). */
  readonly instances: { readonly deletions: number; readonly changes: number };
  /** The deployed maxConcurrency per lane: the baseline's divisor (`POSTHOG_RATE_INSTANCES`). */
  readonly deployedConcurrency: { readonly deletions: number; readonly changes: number };
  /** bulk_delete calls in the deletions backlog (1,000 distinct ids each, 4 per batch). */
  readonly deleteCalls: number;
  /** update_property calls in the changes backlog (batches of 10). */
  readonly updateCalls: number;
}

/** One lane's figures on one side. */
export interface LaneFigures {
  readonly calls: number;
  readonly throttled: number;
  /** PostHog minutes from the first call to the lane's last answer. */
  readonly drainMinutes: number;
  /** calls / drainMinutes. */
  readonly callsPerMinute: number;
  /** The most calls PostHog counted in any sliding PostHog minute. */
  readonly maxInAnyMinute: number;
  /** The limit of the lane's bucket per minute. */
  readonly limitPerMinute: number;
  /** The most it may sustain per minute over an hour (deletes: 4800/h = 80/min). */
  readonly sustainedLimitPerMinute: number;
}

/** One side of the scenario. */
export interface SharedBudgetSide {
  readonly side: 'shared budget' | 'per-instance share';
  readonly deletions: LaneFigures;
  readonly changes: LaneFigures;
  /** Acquisitions served by the per-instance fallback (shared side only). */
  readonly fallbacks: number;
  readonly storeCalls: number;
  readonly wallSeconds: number;
}

/** The default scenario: 2 of 3 deletions instances and 3 of 8 changes instances, a PostHog minute lasting 6 s. */
export const SHARED_BUDGET_SCENARIO: SharedBudgetOptions = {
  timeScale: 10,
  instances: { deletions: 2, changes: 3 },
  deployedConcurrency: { deletions: 3, changes: 8 },
  deleteCalls: 800,
  updateCalls: 500,
};

const PERSONS = 100;
/** A deletions batch: 4 messages of 1,000 distinct ids each, i.e. 4 bulk_delete calls the executor runs at once. */
const DELETE_CALLS_PER_BATCH = 4;
const uuidOf = (i: number): string => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;
const time = '2026-11-28T10:00:00Z';

/** Runs both sides, one after the other, each on a fresh emulator (and dynalite for the shared side). */
export async function runSharedBudget(
  options: SharedBudgetOptions = SHARED_BUDGET_SCENARIO,
): Promise<SharedBudgetSide[]> {
  return [await runSide('shared budget', options), await runSide('per-instance share', options)];
}

async function runSide(
  side: SharedBudgetSide['side'],
  options: SharedBudgetOptions,
): Promise<SharedBudgetSide> {
  const { timeScale } = options;
  const emulator = await startPostHogEmulator({
    timeScale,
    rateLimits: { enabled: true },
    seed: {
      persons: Array.from({ length: PERSONS }, (_, i) => ({
        distinctIds: [`bench-person-${i}`],
        uuid: uuidOf(i),
      })),
    },
  });
  const dynamo = side === 'shared budget' ? await startLocalDynamo() : undefined;
  const limiters: SharedRateLimiter[] = [];
  const clients = new Set<{ destroy(): void }>();
  try {
    const clock = {
      now: Date.now,
      sleep: (ms: number, signal?: AbortSignal) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              reject(signal.reason);
            },
            { once: true },
          );
        }),
    };
    const limiterFor = (lane: 'deletions' | 'changes'): RateGovernor => {
      const rateLimits = { timeScale, instances: options.deployedConcurrency[lane] };
      if (dynamo === undefined) return new PostHogRateLimiter(rateLimits, clock);
      const ddb = dynamo.createClient({ maxAttempts: 2 });
      clients.add(ddb);
      const limiter = new SharedRateLimiter(
        {
          store: new DynamoBudgetStore(ddb, dynamo.tableName),
          keyHash: keyHash(emulator.personalApiKey),
          rateLimits,
          // The emulator, dynalite and every instance share one event loop here (on 2 shared cores), and the
          // emulator's handling of a 1,000-id bulk_delete holds it for a while: a longer store timeout than the
          // deployed 250 ms, so that a busy event loop does not count as a failing store.
          storeTimeoutMs: 5_000,
        },
        clock,
      );
      limiters.push(limiter);
      return limiter;
    };

    // The backlogs, as batches.
    const deletes: InboundCommand[][] = Array.from(
      { length: Math.ceil(options.deleteCalls / DELETE_CALLS_PER_BATCH) },
      (_, b) =>
        Array.from({ length: DELETE_CALLS_PER_BATCH }, (_, i) => ({
          messageId: `d${b}-${i}`,
          command: {
            type: 'persons.delete',
            id: `d${b}-${i}`,
            time,
            data: {
              distinctIds: Array.from({ length: 1000 }, (_, k) => `gone-${b}-${i}-${k}`),
            },
          } as unknown as InboundCommand['command'],
        })),
    );
    const updates: InboundCommand[][] = Array.from(
      { length: Math.ceil(options.updateCalls / 10) },
      (_, b) =>
        Array.from({ length: 10 }, (_, i) => ({
          messageId: `u${b}-${i}`,
          command: {
            type: 'person.properties.update',
            id: `u${b}-${i}`,
            time,
            data: { uuid: uuidOf((b * 10 + i) % PERSONS), set: { [`k${b % 7}`]: b } },
          } as unknown as InboundCommand['command'],
        })),
    );

    const started = performance.now();
    const lastAnswer = { deletions: started, changes: started };
    const instance = async (lane: 'deletions' | 'changes'): Promise<void> => {
      const client = new PostHogClient({
        host: emulator.url,
        projectId: emulator.projectId,
        personalApiKey: emulator.personalApiKey,
        projectToken: emulator.projectToken,
        maxRetries: 2,
        rateLimiter: limiterFor(lane),
        onResponse: () => {
          lastAnswer[lane] = performance.now();
        },
      });
      const backlog = lane === 'deletions' ? deletes : updates;
      for (let batch = backlog.shift(); batch !== undefined; batch = backlog.shift()) {
        await executePlan(planBatch(batch), client);
      }
    };
    await Promise.all([
      ...Array.from({ length: options.instances.deletions }, () => instance('deletions')),
      ...Array.from({ length: options.instances.changes }, () => instance('changes')),
    ]);
    const wallSeconds = (performance.now() - started) / 1000;

    const log = emulator.state.requestLog.filter((r) => r.endpoint !== 'emulator');
    const figures = (
      lane: 'deletions' | 'changes',
      endpoint: string,
      limitPerMinute: number,
      sustainedLimitPerMinute: number,
    ): LaneFigures => {
      const own = log.filter((r) => r.endpoint === endpoint);
      const drainMinutes = ((lastAnswer[lane] - started) / 1000) * (timeScale / 60);
      const calls = own.filter((r) => r.status !== 429).length;
      return {
        calls,
        throttled: own.filter((r) => r.status === 429).length,
        drainMinutes,
        callsPerMinute: drainMinutes > 0 ? calls / drainMinutes : 0,
        maxInAnyMinute: maxInWindow(
          own.filter((r) => r.status !== 429).map((r) => r.at),
          60_000 / timeScale,
        ),
        limitPerMinute,
        sustainedLimitPerMinute,
      };
    };
    const stats = limiters.map((l) => l.stats);
    return {
      side,
      deletions: figures(
        'deletions',
        'persons/bulk_delete',
        POSTHOG_RATE_LIMITS.deletePerMinute,
        POSTHOG_RATE_LIMITS.deletePerHour / 60,
      ),
      changes: figures(
        'changes',
        'persons/:id/update_property',
        POSTHOG_RATE_LIMITS.otherPerMinute,
        POSTHOG_RATE_LIMITS.otherPerMinute,
      ),
      fallbacks: stats.reduce((n, s) => n + s.fallbacks, 0),
      storeCalls: stats.reduce((n, s) => n + s.storeCalls, 0),
      wallSeconds,
    };
  } finally {
    for (const c of clients) c.destroy();
    await dynamo?.stop();
    await emulator.close();
  }
}
