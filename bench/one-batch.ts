/**
 * A workload applied as ONE batch: the relay's parser, planner and executor through the real client (same retries,
 * same limiter) against the time-scaled emulator, with no SQS in between. This is what the planner achieves when a
 * batch holds the whole workload (a backfill, or AWS FIFO batches holding a person's consecutive messages); the
 * pipeline run shows what the local FIFO lane, whose batches hold one message per person, achieves.
 */
import { performance } from 'node:perf_hooks';
import { executePlan } from '#lib/executor/index.ts';
import { parseMessage } from '#lib/messages/index.ts';
import { type InboundCommand, planBatch } from '#lib/planner/index.ts';
import { PostHogClient } from '#lib/posthog/index.ts';
import { startPostHogEmulator } from '../local/posthog-emulator/index.ts';
import { type BucketCalls, bucketOf, minDrainMinutes } from './limits.ts';
import type { StateCheck, Workload } from './workloads.ts';

/** The figures of a one-batch run. */
export interface OneBatchRun extends StateCheck {
  readonly workload: Workload['id'];
  readonly messages: number;
  readonly timeScale: number;
  readonly calls: number;
  readonly callsByBucket: BucketCalls;
  readonly lowerBound: number;
  /** `batch_by_distinct_ids` calls: update_property needs the person's id, which these look up (200 per call). */
  readonly lookups: number;
  readonly throttled: number;
  readonly applied: number;
  readonly drainMinutes: number;
  readonly minDrainMinutes: number;
}

export async function runOneBatch(workload: Workload, timeScale: number): Promise<OneBatchRun> {
  const emulator = await startPostHogEmulator({
    timeScale,
    rateLimits: { enabled: true },
    seed: { persons: [...workload.persons] },
  });
  try {
    const client = new PostHogClient({
      host: emulator.url,
      projectId: emulator.projectId,
      personalApiKey: emulator.personalApiKey,
      projectToken: emulator.projectToken,
      maxRetries: 2,
      rateLimits: { timeScale },
    });
    const inbound: InboundCommand[] = [];
    workload.lines.forEach((body, i) => {
      const parsed = parseMessage(body);
      if (parsed.ok) inbound.push({ messageId: `m${i}`, command: parsed.command });
    });
    const plan = planBatch(inbound);
    const started = performance.now();
    const outcomes = await executePlan(plan, client);
    const wallSeconds = (performance.now() - started) / 1000;
    await emulator.flush();
    const log = emulator.state.requestLog.filter((r) => r.endpoint !== 'emulator');
    const callsByBucket = { delete: 0, other: 0, capture: 0 };
    for (const r of log) callsByBucket[bucketOf(r.endpoint, r.method)] += 1;
    return {
      workload: workload.id,
      messages: workload.lines.length,
      timeScale,
      calls: log.length,
      callsByBucket,
      lowerBound: plan.lowerBound,
      lookups: log.filter((r) => r.endpoint === 'persons/batch_by_distinct_ids').length,
      throttled: log.filter((r) => r.status === 429).length,
      applied: [...outcomes.values()].filter((o) => o.status === 'applied').length,
      drainMinutes: (wallSeconds * timeScale) / 60,
      minDrainMinutes: minDrainMinutes(callsByBucket),
      ...workload.check(emulator, new Set()),
    };
  } finally {
    await emulator.close();
  }
}
