/**
 * Planner CPU: parse (envelope detection + zod validation) and plan a 10,000-message batch, against plain
 * `JSON.parse` of the same bodies as the reference. Median and p95 of `runs` runs after a warm-up.
 */
import { performance } from 'node:perf_hooks';
import { parseMessage } from '#lib/messages/index.ts';
import { type InboundCommand, planBatch } from '#lib/planner/index.ts';
import { quantiles } from './format.ts';

/** Timings in ms. */
export interface PlannerCpu {
  readonly messages: number;
  readonly runs: number;
  readonly parseAndPlan: { median: number; p95: number };
  readonly jsonParse: { median: number; p95: number };
  /** Where the time goes: parseMessage alone (envelope detection + zod). */
  readonly parseOnly: { median: number; p95: number };
  /** median(parse + plan) / median(JSON.parse). */
  readonly ratio: number;
}

export function plannerCpu(bodies: readonly string[], runs: number): PlannerCpu {
  const parseAndPlan = () => {
    const inbound: InboundCommand[] = [];
    bodies.forEach((body, i) => {
      const parsed = parseMessage(body);
      if (parsed.ok) inbound.push({ messageId: `m${i}`, command: parsed.command });
    });
    return planBatch(inbound).callCount;
  };
  const parseOnly = () => bodies.reduce((n, body) => n + (parseMessage(body).ok ? 1 : 0), 0);
  const jsonParse = () => bodies.reduce((n, body) => n + (JSON.parse(body) ? 1 : 0), 0);
  const time = (work: () => number, n = runs) => {
    for (let i = 0; i < 3; i += 1) work(); // warm-up (JIT)
    return Array.from({ length: n }, () => {
      const start = performance.now();
      work();
      return performance.now() - start;
    });
  };
  const ours = quantiles(time(parseAndPlan));
  const reference = quantiles(time(jsonParse));
  return {
    messages: bodies.length,
    runs,
    parseAndPlan: ours,
    jsonParse: reference,
    // Only to show where the time goes: fewer runs.
    parseOnly: quantiles(time(parseOnly, Math.min(runs, 10))),
    ratio: ours.median / Math.max(1e-9, reference.median),
  };
}
